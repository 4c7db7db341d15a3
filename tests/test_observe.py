"""Logging, OpenTelemetry spans and ``on_generation`` hooks around every generation.

Generations go to the Groq stand-in (``tests/groq_peer.py``) and an embedded store; spans go
to an in-memory exporter installed once for the session.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from groqgen import AsyncClient, Client, GenerationError, RecordingFailed, StoreError
from groqgen.observe import GenerationEvent
from tests.groq_peer import DEFAULT_MODEL, GroqPeer, status, unavailable
from tests.helpers import swap_generation_store

SECRET_KEY = "gsk_SENTINEL_KEY_d41d8cd98f00b204"
TOPIC = "SENTINEL_TOPIC_release_notes_for_the_moon_base"
CONTEXT = "SENTINEL_CONTEXT_internal_codename_bluebird"
REPLY = "SENTINEL_REPLY_Write release notes in three bullet points."


@pytest.fixture(autouse=True)
def _content_not_captured(monkeypatch: pytest.MonkeyPatch) -> None:
    """Message content stays off spans unless a test opts in (whatever the shell exports)."""
    monkeypatch.delenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", raising=False)


@pytest.fixture(scope="session")
def exporter() -> Any:
    """Every span of the session, in memory (the global tracer provider is set once)."""
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    trace.set_tracer_provider(provider)
    return memory


@pytest.fixture
def spans(exporter: Any) -> Iterator[Any]:
    exporter.clear()
    yield exporter
    exporter.clear()


def settings(peer: GroqPeer, home: Path, **more: Any) -> dict[str, Any]:
    return {
        "home": home,
        "groq_api_key": SECRET_KEY,
        "groq_base_url": peer.base_url,
        "max_retries": 2,
        **more,
    }


@pytest.fixture
def client(groq_peer: GroqPeer, tmp_path: Path) -> Iterator[Client]:
    with Client(**settings(groq_peer, tmp_path)) as made:
        made.generate.policy.base, made.generate.policy.cap = 0.001, 0.002
        yield made


def generation_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "groqgen.generate" and r.levelno == logging.INFO]


# -- logging -------------------------------------------------------------------------------------


def test_the_library_installs_only_a_null_handler() -> None:
    import groqgen.observe  # noqa: F401

    handlers = logging.getLogger("groqgen").handlers
    assert [type(h) for h in handlers] == [logging.NullHandler]


def test_one_info_record_per_generation_with_its_fields(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="groqgen")
    row = client.generate.prompt("release notes")
    (record,) = generation_records(caplog)
    metadata = client.activity_logs.get(row.id).metadata
    assert (record.kind, record.table, record.model) == ("prompt", "prompts", DEFAULT_MODEL)
    assert record.prompt_tokens == metadata["prompt_tokens"]
    assert record.total_tokens == metadata["total_tokens"]
    assert record.latency_ms == metadata["latency_ms"]
    assert record.request_id == metadata["request_id"] and record.row_id == str(row.id)
    assert record.cost_usd and record.cost_usd > 0
    assert str(row.id) in record.getMessage()


def test_store_operations_are_logged_at_debug(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="groqgen")
    client.prompts.count()
    (record,) = [r for r in caplog.records if r.name == "groqgen.store"]
    assert record.levelno == logging.DEBUG
    assert record.getMessage().startswith("sqlite Count on prompts done in ")


def test_each_retry_is_a_warning_with_its_wait(
    client: Client, groq_peer: GroqPeer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="groqgen")
    groq_peer.script(unavailable(), unavailable())
    client.generate.prompt("release notes")
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [r.name for r in warnings] == ["groqgen.generate", "groqgen.generate"]
    assert [r.attempt for r in warnings] == [1, 2]
    assert all("InternalServerError (503)" in r.getMessage() for r in warnings)
    assert all("waiting" in r.getMessage() and r.wait_s >= 0 for r in warnings)


class RefusingStore:
    """A store that refuses every write to record a generation."""

    def __init__(self, store: Any) -> None:
        self.store = store

    def execute(self, op: Any) -> Any:
        from groqgen.stores import ops

        if isinstance(op, ops.Record):
            raise StoreError("the store is full", code="53100")
        return self.store.execute(op)

    def close(self) -> None:
        self.store.close()


def test_a_parked_generation_is_a_warning(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="groqgen")
    swap_generation_store(client, RefusingStore(client.generate._store))
    with pytest.raises(RecordingFailed) as caught:
        client.generate.prompt("release notes")
    (record,) = [r for r in caplog.records if r.name == "groqgen.outbox"]
    assert record.levelno == logging.WARNING
    assert "parked in the outbox" in record.getMessage()
    assert record.row_id == str(caught.value.result.id)
    assert generation_records(caplog) == []  # not recorded: not reported as recorded


def test_no_secret_or_content_in_any_record(
    groq_peer: GroqPeer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="groqgen")
    groq_peer.reply = REPLY
    with Client(**settings(groq_peer, tmp_path)) as client:
        client.generate.policy.base, client.generate.policy.cap = 0.001, 0.002
        groq_peer.script(unavailable())
        client.generate.prompt(TOPIC, additional_context=CONTEXT)
        with client.generate.stream.code(TOPIC, language="python") as stream:
            list(stream)
        client.usage(since="1d")
        swap_generation_store(client, RefusingStore(client.generate._store))
        with pytest.raises(RecordingFailed):
            client.generate.review(CONTEXT, language="python")
    records = [r for r in caplog.records if r.name.startswith("groqgen")]
    assert {r.name for r in records} >= {"groqgen.generate", "groqgen.store", "groqgen.outbox"}
    for record in records:
        seen = record.getMessage() + repr(vars(record))
        for sentinel in (SECRET_KEY, "SENTINEL"):
            assert sentinel not in seen, (record.name, record.getMessage())


# -- OpenTelemetry -----------------------------------------------------------------------------------


def by_name(exported: Any) -> dict[str, Any]:
    return {span.name: span for span in exported.get_finished_spans()}


def test_a_generation_is_one_genai_span_with_children(client: Client, spans: Any) -> None:
    row = client.generate.prompt("release notes")
    metadata = client.activity_logs.get(row.id).metadata
    found = by_name(spans)
    root = found[f"chat {DEFAULT_MODEL}"]
    attributes = dict(root.attributes)
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.system"] == "groq"
    assert attributes["gen_ai.request.model"] == DEFAULT_MODEL
    assert attributes["gen_ai.response.model"] == metadata["model"]
    assert attributes["gen_ai.usage.input_tokens"] == metadata["prompt_tokens"]
    assert attributes["gen_ai.usage.output_tokens"] == metadata["completion_tokens"]
    assert str(attributes["gen_ai.response.id"]).startswith("chatcmpl-")
    assert tuple(attributes["gen_ai.response.finish_reasons"]) == ("stop",)
    assert attributes["groqgen.request_id"] == metadata["request_id"]
    assert attributes["groqgen.record_id"] == str(row.id)
    assert root.parent is None and root.kind.name == "CLIENT"
    for child in ("groq.chat", "groqgen.record"):
        assert found[child].parent.span_id == root.context.span_id
    assert not any("messages" in key for key in attributes)  # content only on request


def test_retries_are_events_of_the_groq_call(
    client: Client, groq_peer: GroqPeer, spans: Any
) -> None:
    groq_peer.script(unavailable())
    client.generate.prompt("release notes")
    call = by_name(spans)["groq.chat"]
    (event,) = call.events
    assert event.name == "retry" and event.attributes["attempt"] == 1


def test_a_failed_generation_sets_the_error_status(
    client: Client, groq_peer: GroqPeer, spans: Any
) -> None:
    groq_peer.script(status(400))
    with pytest.raises(GenerationError):
        client.generate.prompt("release notes")
    root = by_name(spans)[f"chat {DEFAULT_MODEL}"]
    assert root.status.status_code.name == "ERROR"
    assert root.attributes["error.type"] == "GenerationError"


def test_message_content_is_recorded_only_when_opted_in(
    groq_peer: GroqPeer, tmp_path: Path, spans: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    groq_peer.reply = REPLY
    with Client(**settings(groq_peer, tmp_path)) as client:
        client.generate.prompt(TOPIC)
    attributes = by_name(spans)[f"chat {DEFAULT_MODEL}"].attributes
    assert TOPIC in attributes["gen_ai.input.messages"]
    assert REPLY in attributes["gen_ai.output.messages"]


# -- hooks -----------------------------------------------------------------------------------------


def test_a_hook_gets_a_typed_event(groq_peer: GroqPeer, tmp_path: Path) -> None:
    events: list[GenerationEvent] = []
    with Client(**settings(groq_peer, tmp_path, on_generation=events.append)) as client:
        row = client.generate.code("parse dates", language="python")
        metadata = client.activity_logs.get(row.id).metadata
    (event,) = events
    assert event.row == row and (event.kind, event.table) == ("code", "code_generations")
    assert event.usage["prompt_tokens"] == metadata["prompt_tokens"]
    assert event.latency_ms == metadata["latency_ms"]
    assert event.request_id == metadata["request_id"]
    assert event.cost_usd is not None and event.cost_usd > 0 and event.batch is False


def test_a_hook_that_raises_is_logged_and_loses_nothing(
    groq_peer: GroqPeer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(event: GenerationEvent) -> None:
        raise RuntimeError("the dashboard is down")

    seen: list[GenerationEvent] = []
    hooks = [broken, seen.append]
    with Client(**settings(groq_peer, tmp_path, on_generation=hooks)) as client:
        row = client.generate.prompt("release notes")
        assert client.prompts.count() == 1 and client.activity_logs.count() == 1
        assert client.outbox.pending() == []
    assert [e.row.id for e in seen] == [row.id]  # the next hook still ran
    (error,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "RuntimeError" in error.getMessage() and "recorded all the same" in error.getMessage()


def test_streams_are_traced_and_hooked(groq_peer: GroqPeer, tmp_path: Path, spans: Any) -> None:
    events: list[GenerationEvent] = []
    with (
        Client(**settings(groq_peer, tmp_path, on_generation=events.append)) as client,
        client.generate.stream.prompt("release notes") as stream,
    ):
        text = "".join(stream)
    assert text and [e.row for e in events] == [stream.result]
    root = by_name(spans)[f"chat {DEFAULT_MODEL}"]
    assert root.attributes["groqgen.stream"] is True
    assert root.attributes["gen_ai.usage.output_tokens"] > 0
    assert by_name(spans)["groqgen.record"].parent.span_id == root.context.span_id


def test_an_async_hook_is_awaited_for_each_of_many(groq_peer: GroqPeer, tmp_path: Path) -> None:
    events: list[GenerationEvent] = []

    async def hook(event: GenerationEvent) -> None:
        await asyncio.sleep(0)
        events.append(event)

    async def run() -> list[Any]:
        async with AsyncClient(**settings(groq_peer, tmp_path, on_generation=hook)) as client:
            items = await client.generate.many(
                [{"kind": "prompt", "topic": f"topic {i}"} for i in range(3)], progress=False
            )
            return [item.result for item in items]

    rows = asyncio.run(run())
    assert sorted(str(e.row.id) for e in events) == sorted(str(r.id) for r in rows)


def test_batch_api_results_are_hooked_and_traced(
    groq_peer: GroqPeer, tmp_path: Path, spans: Any
) -> None:
    events: list[GenerationEvent] = []
    with Client(**settings(groq_peer, tmp_path, on_generation=events.append)) as client:
        client.batches._sleep = lambda seconds: None
        job = client.batches.submit([{"kind": "prompt", "topic": f"t {i}"} for i in range(2)])
        client.batches.collect(job.id)
    assert len(events) == 2 and all(e.batch for e in events)
    synchronous = client.prices.price(DEFAULT_MODEL)
    assert synchronous is not None
    for event in events:
        full = synchronous.cost(
            event.usage["prompt_tokens"] or 0, event.usage["completion_tokens"] or 0, 0, batch=False
        )
        assert event.cost_usd == pytest.approx(float(full) / 2)
    traced = [s for s in spans.get_finished_spans() if s.name == f"chat {DEFAULT_MODEL}"]
    assert len(traced) == 2 and all(s.attributes["groqgen.batch"] is True for s in traced)


def test_supabase_sessions_are_logged_by_user_id_only(
    supabase_peer: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import uuid

    caplog.set_level(logging.DEBUG, logger="groqgen")
    email, password = f"{uuid.uuid4().hex[:12]}@example.com", "SENTINEL password 123"
    with Client(
        supabase_url=supabase_peer.url, supabase_key=supabase_peer.anon_key, home=tmp_path
    ) as client:
        client.auth.sign_up(email, password)
        user = client.auth.sign_in_with_password(email, password)
        client.prompts.count()
        client.auth.sign_out()
    auth = [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "groqgen.auth"]
    assert auth == [("INFO", f"signed in user {user.id}"), ("INFO", f"signed out user {user.id}")]
    for record in caplog.records:
        seen = record.getMessage() + repr(vars(record))
        assert email not in seen and "SENTINEL" not in seen


def test_a_hook_that_is_not_callable_is_refused(tmp_path: Path) -> None:
    from groqgen import ConfigurationError

    with pytest.raises(ConfigurationError) as caught:
        Client(home=tmp_path, on_generation="print")
    assert caught.value.setting == "on_generation"
