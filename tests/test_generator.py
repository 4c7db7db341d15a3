"""The generator over every store and flavour, against a local Groq stand-in.

Each test drives ``client.generate`` the same way on {SQLite, PostgreSQL} x {sync, async};
the peer (tests/groq_peer.py) answers in Groq's wire format and injects the failures.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from groqgen import (
    ConfigurationError,
    GenerationError,
    RecordingFailed,
    StoreError,
    ValidationError,
)
from groqgen.generation import DryRun
from groqgen.stores import ops
from tests.conftest import StoreCase
from tests.groq_peer import (
    decommissioned,
    malformed,
    rate_limited,
    reset,
    slow,
    unavailable,
)
from tests.helpers import swap_generation_store

CODE = "def add(a, b):\n    return a + b\n"
CALLS: dict[str, tuple[str, dict[str, Any]]] = {
    "prompt": ("prompt", {"topic": "release notes", "tone": "casual", "length": 40}),
    "code": ("code", {"description": "add two numbers", "language": "python", "framework": "none"}),
    "review": ("review", {"code": CODE, "language": "python", "review_type": "bugs"}),
    "tests": (
        "tests",
        {"code": CODE, "language": "python", "framework": "pytest", "test_types": ["unit", "edge"]},
    ),
}
TABLE_OF = {
    "prompt": "prompts",
    "code": "code_generations",
    "review": "code_reviews",
    "tests": "tests",
}


def _call(case: StoreCase, kind: str, **extra: Any) -> Any:
    name, inputs = CALLS[kind]
    first, *_ = inputs.values()
    rest = {k: v for k, v in list(inputs.items())[1:]}
    return getattr(case.client.generate, name)(first, **rest, **extra)


def _repo(case: StoreCase, kind: str) -> Any:
    return getattr(case.client, TABLE_OF[kind])


@pytest.fixture
def case(generator_case: StoreCase) -> StoreCase:
    return generator_case


@pytest.fixture
def async_case(async_generator_case: StoreCase) -> StoreCase:
    return async_generator_case


# -- one call, one generation, one atomic record ----------------------------------------------------


@pytest.mark.parametrize("kind", list(CALLS))
def test_generate_records_the_row_and_its_activity_entry(
    case: StoreCase, groq_peer: Any, kind: str
) -> None:
    row = _call(case, kind)
    assert _repo(case, kind).get(row.id) == row
    assert row.user_id == case.user_id
    (entry,) = case.client.activity_logs.recent()
    assert entry.id == row.id
    assert (
        entry.activity_type
        == {
            "prompt": "prompt_generation",
            "code": "code_generation",
            "review": "code_review",
            "tests": "test_generation",
        }[kind]
    )
    meta = entry.metadata
    assert meta["table"] == TABLE_OF[kind]
    assert meta["record_id"] == str(row.id)
    assert meta["model"] == "openai/gpt-oss-120b"
    assert meta["total_tokens"] == meta["prompt_tokens"] + meta["completion_tokens"] > 0
    assert meta["request_id"].startswith("req_")
    assert meta["latency_ms"] >= 0
    assert meta["template_version"].startswith(kind)
    assert "queue_time" in meta and "total_time" in meta
    assert len(groq_peer.chat_requests) == 1


@pytest.mark.parametrize("kind", ["code", "tests"])
def test_code_and_tests_are_stored_without_the_prose(case: StoreCase, kind: str) -> None:
    row = _call(case, kind)
    stored = row.generated_code if kind == "code" else row.generated_tests
    assert stored == "def add(a, b):\n    return a + b\n"


def test_a_review_stays_markdown(case: StoreCase, groq_peer: Any) -> None:
    groq_peer.reply = "## Summary\nFine.\n\n## Issues\n1. **Severity**: low — naming."
    assert _call(case, "review").review_result == groq_peer.reply


def test_the_prompt_is_stored_alone(case: StoreCase, groq_peer: Any) -> None:
    groq_peer.reply = 'Here is your prompt:\n\n"Write release notes for version 2 of our app."'
    assert _call(case, "prompt").generated_prompt == "Write release notes for version 2 of our app."


def test_the_request_carries_the_built_messages(case: StoreCase, groq_peer: Any) -> None:
    preview = _call(case, "review", dry_run=True)
    _call(case, "review")
    (sent,) = groq_peer.chat_requests
    assert sent.json["messages"] == preview.messages
    assert sent.json["model"] == preview.model
    assert sent.json["temperature"] == preview.parameters["temperature"]


def test_a_project_generation_is_filed_in_the_project(case: StoreCase) -> None:
    project = case.client.projects.create("Launch")
    row = _call(case, "prompt", project_id=project.id)
    assert row.project_id == project.id
    assert case.client.projects.resource_counts(project.id).prompt_count == 1
    assert case.client.activity_logs.get(row.id).project_id == project.id


# -- no network, nothing stored -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(CALLS))
def test_dry_run_shows_the_exact_request_and_sends_nothing(
    case: StoreCase, groq_peer: Any, kind: str
) -> None:
    preview = _call(case, kind, dry_run=True)
    assert isinstance(preview, DryRun)
    assert preview.parameters["messages"] == preview.messages
    assert [m["role"] for m in preview.messages] == ["system", "user"]
    assert preview.model == "openai/gpt-oss-120b"
    assert groq_peer.requests == []
    assert _repo(case, kind).count() == 0
    assert case.client.activity_logs.count() == 0


@pytest.mark.parametrize(
    ("kind", "bad", "field"),
    [
        ("prompt", {"length": 101}, "length"),
        ("prompt", {"tone": "sarcastic"}, "tone"),
        ("prompt", {"topic": ""}, "topic"),
        ("tests", {"test_types": ["unit", "smoke"]}, "test_types.1"),
        ("review", {"review_type": "style"}, "review_type"),
        ("code", {"language": ""}, "language"),
        ("prompt", {"project_id": "nope"}, "project_id"),
    ],
)
def test_bad_input_is_refused_before_any_request(
    case: StoreCase, groq_peer: Any, kind: str, bad: dict[str, Any], field: str
) -> None:
    name, inputs = CALLS[kind]
    merged = {**inputs, **bad}
    first_key = next(iter(inputs))
    with pytest.raises(ValidationError) as info:
        getattr(case.client.generate, name)(merged.pop(first_key), **merged)
    assert info.value.field == field
    assert groq_peer.requests == []


def test_without_an_api_key_nothing_is_sent(
    tmp_path: Any, groq_peer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from groqgen import Client

    monkeypatch.delenv("GROQ_API_KEY", raising=False)
    with Client(home=tmp_path, groq_base_url=groq_peer.base_url) as client:
        with pytest.raises(ConfigurationError, match="GROQ_API_KEY") as info:
            client.generate.prompt("x")
        assert info.value.setting == "GROQ_API_KEY"
    assert groq_peer.requests == []


# -- retries and failures ------------------------------------------------------------------------------


def test_a_429_is_retried_after_the_wait_groq_asks_for(case: StoreCase, groq_peer: Any) -> None:
    groq_peer.script(rate_limited(retry_after=0.3))  # Groq sends whole seconds; short here
    started = time.monotonic()
    row = _call(case, "prompt")
    assert time.monotonic() - started >= 0.3
    assert len(groq_peer.chat_requests) == 2
    assert _repo(case, "prompt").count() == 1
    assert case.client.activity_logs.get(row.id)


def test_a_503_until_retries_run_out_is_a_typed_error_and_stores_nothing(
    case: StoreCase, groq_peer: Any
) -> None:
    groq_peer.script(unavailable(), unavailable(), unavailable())
    with pytest.raises(GenerationError) as info:
        _call(case, "code")
    assert info.value.status_code == 503
    assert info.value.request_id and info.value.request_id.startswith("req_")
    assert len(groq_peer.chat_requests) == 3  # max_retries=2
    assert _repo(case, "code").count() == 0
    assert case.client.activity_logs.count() == 0


def test_a_reset_connection_is_retried(case: StoreCase, groq_peer: Any) -> None:
    groq_peer.script(reset())
    _call(case, "prompt")
    assert len(groq_peer.chat_requests) == 2
    assert _repo(case, "prompt").count() == 1


def test_a_response_slower_than_the_timeout_is_a_typed_error(tmp_path: Any, groq_peer: Any) -> None:
    from groqgen import Client

    groq_peer.script(slow(3), slow(3))
    with Client(
        home=tmp_path,
        groq_api_key="k",
        groq_base_url=groq_peer.base_url,
        timeout=0.5,
        max_retries=1,
    ) as client:
        with pytest.raises(GenerationError, match=r"timeout|in time"):
            client.generate.prompt("x")
        assert client.prompts.count() == 0


def test_malformed_json_is_a_typed_error_and_is_not_paid_for_twice(
    case: StoreCase, groq_peer: Any
) -> None:
    groq_peer.script(malformed())
    with pytest.raises(GenerationError, match="malformed"):
        _call(case, "prompt")
    assert len(groq_peer.chat_requests) == 1
    assert _repo(case, "prompt").count() == 0


def test_a_decommissioned_model_names_the_available_ones(case: StoreCase, groq_peer: Any) -> None:
    groq_peer.script(decommissioned("llama3-70b-8192"), decommissioned("llama3-70b-8192"))
    for _ in range(2):
        with pytest.raises(GenerationError) as info:
            _call(case, "prompt", model="llama3-70b-8192")
        assert info.value.code == "model_decommissioned"
        assert info.value.status_code == 400
        assert "openai/gpt-oss-120b" in str(info.value)
        assert "llama3-70b-8192 is no longer served" in str(info.value)
    assert groq_peer.count("/models") == 1  # listed once per client
    assert len(groq_peer.chat_requests) == 2  # a 400 is not retried


# -- recording: retried, idempotent, never lost -------------------------------------------------------


class FlakyStore:
    """Wraps a store: the first ``failures`` Record operations fail (optionally after the
    database committed them, like a timeout on the way back)."""

    def __init__(self, inner: Any, failures: int, *, commit_first: bool = False) -> None:
        self.inner, self.failures, self.commit_first = inner, failures, commit_first
        self.records = 0

    def _fail(self, op: Any) -> bool:
        if isinstance(op, ops.Record) and self.failures > 0:
            self.failures -= 1
            return True
        return False

    def execute(self, op: Any) -> Any:
        if isinstance(op, ops.Record):
            self.records += 1
        if self._fail(op):
            if self.commit_first:
                self.inner.execute(op)
            raise StoreError("connection lost", transient=True)
        return self.inner.execute(op)


class AsyncFlakyStore(FlakyStore):
    async def execute(self, op: Any) -> Any:  # type: ignore[override]
        if isinstance(op, ops.Record):
            self.records += 1
        if self._fail(op):
            if self.commit_first:
                await self.inner.execute(op)
            raise StoreError("connection lost", transient=True)
        return await self.inner.execute(op)


def _swap_store(case: StoreCase, **options: Any) -> FlakyStore:
    client = getattr(case.client, "_target", case.client)
    generator = client.generate
    flaky = (AsyncFlakyStore if "async" in case.kind else FlakyStore)(generator._store, **options)
    swap_generation_store(client, flaky)
    return flaky


def test_a_write_that_timed_out_after_committing_is_retried_into_one_row(
    case: StoreCase, groq_peer: Any
) -> None:
    flaky = _swap_store(case, failures=1, commit_first=True)
    row = _call(case, "tests")
    assert flaky.records == 2
    assert _repo(case, "tests").count() == 1
    assert case.client.activity_logs.count() == 1
    assert _repo(case, "tests").get(row.id) == row
    assert len(groq_peer.chat_requests) == 1


def test_a_store_that_stays_down_sends_the_result_to_the_outbox(
    case: StoreCase, groq_peer: Any
) -> None:
    groq_peer.reply = "Write release notes, grouped by feature."
    flaky = _swap_store(case, failures=10)
    with pytest.raises(RecordingFailed) as info:
        _call(case, "prompt")
    assert flaky.records == 3  # the write was retried (max_retries=2)...
    assert len(groq_peer.chat_requests) == 1  # ...the generation was not
    pending = info.value.result
    assert pending.values["generated_prompt"] == "Write release notes, grouped by feature."
    assert [p.id for p in case.client.outbox.pending()] == [pending.id]
    assert _repo(case, "prompt").count() == 0

    flaky.failures = 0
    first = case.client.outbox.flush()
    assert (first.recorded, first.failed) == (1, [])
    assert (
        _repo(case, "prompt").get(pending.id).generated_prompt == pending.values["generated_prompt"]
    )
    assert case.client.activity_logs.get(pending.id).activity_type == "prompt_generation"
    assert case.client.outbox.pending() == []
    again = case.client.outbox.flush()
    assert again.recorded == 0
    assert _repo(case, "prompt").count() == 1
    assert case.client.activity_logs.count() == 1


def test_a_crash_between_storing_and_marking_neither_loses_nor_duplicates(
    case: StoreCase, monkeypatch: pytest.MonkeyPatch
) -> None:
    flaky = _swap_store(case, failures=10)
    with pytest.raises(RecordingFailed):
        _call(case, "code")
    flaky.failures = 0
    from groqgen.outbox import Outbox

    def crash(self: Any, entry: Any) -> None:
        raise KeyboardInterrupt("power cut")

    monkeypatch.setattr(Outbox, "mark_recorded", crash)
    with pytest.raises(KeyboardInterrupt):
        case.client.outbox.flush()
    assert _repo(case, "code").count() == 1  # stored, but not marked
    assert len(case.client.outbox.pending()) == 1
    monkeypatch.undo()
    assert case.client.outbox.flush().recorded == 1
    assert _repo(case, "code").count() == 1
    assert case.client.activity_logs.count() == 1
    assert case.client.outbox.pending() == []


# -- streaming ------------------------------------------------------------------------------------


def _stream(case: StoreCase, kind: str, *, stop_after: int | None = None) -> tuple[list[str], Any]:
    """Read a streamed generation to its end (or leave after ``stop_after`` deltas)."""
    name, inputs = CALLS[kind]
    first_key = next(iter(inputs))
    rest = {k: v for k, v in inputs.items() if k != first_key}
    client = getattr(case.client, "_target", case.client)
    factory = getattr(client.generate.stream, name)
    deltas: list[str] = []
    if "async" not in case.kind:
        with factory(inputs[first_key], **rest) as stream:
            for delta in stream:
                deltas.append(delta)
                if stop_after is not None and len(deltas) >= stop_after:
                    break
        return deltas, stream

    async def consume() -> Any:
        async with factory(inputs[first_key], **rest) as stream:
            async for delta in stream:
                deltas.append(delta)
                if stop_after is not None and len(deltas) >= stop_after:
                    break
        return stream

    return deltas, case.client._loop.run_until_complete(consume())


@pytest.mark.parametrize("kind", list(CALLS))
def test_a_stream_yields_deltas_then_records_once_with_the_final_usage(
    case: StoreCase, groq_peer: Any, kind: str
) -> None:
    deltas, stream = _stream(case, kind)
    assert len(deltas) > 1
    row = stream.result
    assert _repo(case, kind).get(row.id) == row
    assert "".join(deltas) == stream.text
    entry = case.client.activity_logs.get(row.id)
    assert entry.metadata["total_tokens"] > 0  # from the final chunk's x_groq.usage
    assert entry.metadata["request_id"].startswith("req_")
    assert _repo(case, kind).count() == 1
    (sent,) = groq_peer.chat_requests
    assert sent.json["stream"] is True


def test_a_stream_that_breaks_off_records_nothing_and_raises(
    case: StoreCase, groq_peer: Any
) -> None:
    from tests.groq_peer import broken_stream

    groq_peer.script(broken_stream(after_chunks=2))
    with pytest.raises(GenerationError):
        _stream(case, "code")
    assert _repo(case, "code").count() == 0
    assert case.client.activity_logs.count() == 0


def test_leaving_a_stream_early_records_nothing(case: StoreCase) -> None:
    _, stream = _stream(case, "prompt", stop_after=1)
    with pytest.raises(GenerationError, match="not been read to its end"):
        stream.result  # noqa: B018
    assert _repo(case, "prompt").count() == 0


def test_a_stream_is_retried_while_it_has_not_started(case: StoreCase, groq_peer: Any) -> None:
    groq_peer.script(rate_limited(retry_after=0.2))
    _, stream = _stream(case, "review")
    assert stream.result.review_result
    assert len(groq_peer.chat_requests) == 2


# -- batches ----------------------------------------------------------------------------------------


def _many(case: StoreCase, requests: list[Any], **options: Any) -> list[Any]:
    return case.client.generate.many(requests, **options)  # type: ignore[no-any-return]


def test_a_batch_returns_results_in_input_order(async_case: StoreCase) -> None:
    from groqgen.generation import CodeRequest, PromptRequest

    requests = [PromptRequest(topic=f"topic {i}") for i in range(6)]
    requests.insert(3, CodeRequest(description="fizzbuzz", language="python", framework="none"))
    items = _many(async_case, requests, concurrency=3, progress=False)
    assert [item.ok for item in items] == [True] * 7
    assert [item.result.topic for i, item in enumerate(items) if i != 3] == [
        f"topic {i}" for i in range(6)
    ]
    assert items[3].result.generated_code
    assert async_case.client.prompts.count() == 6
    assert async_case.client.activity_logs.count() == 7


def test_one_failure_does_not_stop_the_batch(async_case: StoreCase, groq_peer: Any) -> None:
    groq_peer.script(decommissioned("old-model"))
    items = _many(
        async_case,
        [{"kind": "prompt", "topic": "a", "model": "old-model"}, {"kind": "prompt", "topic": "b"}],
        concurrency=1,
        progress=False,
    )
    assert isinstance(items[0].error, GenerationError)
    assert items[1].ok
    assert async_case.client.prompts.count() == 1


def test_a_bad_request_in_a_batch_is_refused_before_anything_is_sent(
    async_case: StoreCase, groq_peer: Any
) -> None:
    with pytest.raises(ValidationError):
        _many(
            async_case,
            [{"kind": "prompt", "topic": "ok"}, {"kind": "prompt", "topic": "x", "length": 5}],
        )
    assert groq_peer.requests == []


def test_a_rate_limit_slows_the_whole_batch(async_case: StoreCase, groq_peer: Any) -> None:
    arrivals: list[float] = []

    def reply(request: Any) -> str:
        arrivals.append(time.monotonic())
        return "Write about it."

    groq_peer.reply, groq_peer.latency = reply, 0.05
    groq_peer.script(rate_limited(retry_after=1))
    started = time.monotonic()
    items = _many(
        async_case,
        [{"kind": "prompt", "topic": f"t{i}"} for i in range(8)],
        concurrency=2,
        progress=False,
    )
    assert all(item.ok for item in items)
    assert async_case.client.prompts.count() == 8
    # After the 429, the other worker holds back too: nothing new starts until the wait is
    # over (without the shared gate it would send a request every ~50 ms meanwhile).
    during_wait = [t - started for t in arrivals if 0.15 < t - started < 0.9]
    assert during_wait == []
    assert len(groq_peer.chat_requests) == 9


def test_200_concurrent_generations_make_200_rows_and_200_entries(async_case: StoreCase) -> None:
    import asyncio

    client = async_case.client._target

    async def main() -> None:
        kinds = ["prompt", "code", "review", "tests"]
        calls = []
        for i in range(200):
            name, inputs = CALLS[kinds[i % 4]]
            first_key = next(iter(inputs))
            rest = {k: v for k, v in inputs.items() if k != first_key}
            value = f"{inputs[first_key]} #{i}"
            calls.append(getattr(client.generate, name)(value, **rest))
        await asyncio.gather(*calls)

    async_case.client._loop.run_until_complete(main())
    counts = [
        async_case.client.prompts.count(),
        async_case.client.code_generations.count(),
        async_case.client.code_reviews.count(),
        async_case.client.tests.count(),
    ]
    assert counts == [50, 50, 50, 50]
    assert async_case.client.activity_logs.count() == 200
    ids = {e.id for e in async_case.client.activity_logs.iter()}
    assert len(ids) == 200


def test_batch_progress_is_shown_when_asked_and_silent_otherwise(
    async_case: StoreCase, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import builtins

    real_import = builtins.__import__

    def without_tqdm(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("tqdm"):
            raise ImportError("no tqdm")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", without_tqdm)
    requests = [{"kind": "prompt", "topic": f"t{i}"} for i in range(3)]
    _many(async_case, requests)  # stderr is not a terminal here, and no notebook: silent
    assert capsys.readouterr().err == ""
    _many(async_case, requests, progress=True)
    assert "generating 3/3  failed 0" in capsys.readouterr().err


def test_a_generation_for_a_project_that_is_not_yours_is_refused_before_groq(
    case: StoreCase, groq_peer: Any
) -> None:
    import uuid

    from groqgen import PermissionDenied

    with pytest.raises(PermissionDenied, match="nothing was sent"):
        _call(case, "prompt", project_id=uuid.uuid4())
    assert groq_peer.requests == []
    assert case.client.outbox.pending() == []
