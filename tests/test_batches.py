"""``client.batches`` against the Groq stand-in: submit, collect, get, list, cancel, retry.

Each behaviour runs on the sync and the async client (SQLite); the 1,000-request journey runs
on every store. Polling never waits: the clients' ``_sleep`` is replaced by one that notes
the pause asked for (see ``Batching.slept``).
"""

from __future__ import annotations

import asyncio
import os
import stat
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from groqgen import (
    Client,
    GenerationError,
    NotFound,
    PermissionDenied,
    TruncatedGeneration,
    ValidationError,
)
from groqgen.batches import BatchJob, BatchLimits
from tests.conftest import Blocking, StoreCase, _store_case
from tests.groq_peer import (
    BATCHES_PATH,
    FILES_PATH,
    GroqPeer,
    breaks_download,
    completes,
    dropped,
    expires_half_done,
    fails_lines,
    runs_until_cancelled,
    status,
    unavailable,
)

CODE = "def add(a, b):\n    return a + b\n"
TABLE_OF = {
    "prompt": "prompts",
    "code": "code_generations",
    "review": "code_reviews",
    "tests": "tests",
}
USAGE = {
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "reasoning_tokens",
    "cached_tokens",
    "queue_time",
    "prompt_time",
    "completion_time",
    "total_time",
    "latency_ms",
    "request_id",
    "record_id",
}
BATCH_KEYS = {"batch", "batch_id", "batch_job_id"}


@dataclass
class Batching:
    """A client under test, its ``batches`` driven synchronously whatever the flavour."""

    case: StoreCase
    batches: Any  # the verbs (an async client's run to completion)
    raw: Any  # client.batches itself: Batches or AsyncBatches
    slept: list[float] = field(default_factory=list)

    @property
    def client(self) -> Any:
        return self.case.client


def batching(case: StoreCase) -> Batching:
    client = case.client
    if isinstance(client, Blocking):
        raw = client._target.batches
        found = Batching(case, Blocking(raw, client._loop), raw)

        async def sleep(seconds: float) -> None:
            found.slept.append(seconds)

        raw._sleep = sleep
        return found
    found = Batching(case, client.batches, client.batches)
    client.batches._sleep = found.slept.append
    return found


def _clients(request: Any, tmp_path: Any, peer: GroqPeer, **options: Any) -> Iterator[Batching]:
    settings = {
        "groq_api_key": "gsk_test_key",
        "groq_base_url": peer.base_url,
        "max_retries": 2,
        "timeout": 5,
    }
    for case in _store_case(request, tmp_path, **{**settings, **options}):
        yield batching(case)


@pytest.fixture(params=["sqlite-sync", "sqlite-async"])
def b(request: Any, tmp_path: Any, groq_peer: GroqPeer) -> Iterator[Batching]:
    """A sync or an async client on SQLite, Groq played by the peer."""
    yield from _clients(request, tmp_path, groq_peer)


def mixed(count: int, project_id: uuid.UUID | None = None) -> list[dict[str, Any]]:
    """``count`` requests of all four kinds, their fields varied; every 10th in the project."""
    tones = ("professional", "casual", "academic", "enthusiastic", "technical")
    types = ("writing", "coding", "brainstorming", "analysis", "creative")
    made: list[dict[str, Any]] = []
    for i in range(count):
        request: dict[str, Any]
        match i % 4:
            case 0:
                request = {
                    "kind": "prompt",
                    "topic": f"release notes {i}",
                    "tone": tones[i % 5],
                    "prompt_type": types[i % 5],
                    "length": 10 + i % 91,
                }
            case 1:
                request = {
                    "kind": "code",
                    "description": f"add {i} numbers",
                    "language": ("python", "go", "rust")[i % 3],
                }
            case 2:
                request = {
                    "kind": "review",
                    "code": CODE + f"# {i}\n",
                    "language": "python",
                    "review_type": ("general", "bugs", "security")[i % 3],
                }
            case _:
                request = {
                    "kind": "tests",
                    "code": CODE,
                    "language": "python",
                    "framework": "pytest",
                    "test_types": ["unit", "edge"][: 1 + i % 2],
                    "coverage": ("basic", "moderate", "comprehensive")[i % 3],
                }
        if project_id is not None and i % 10 == 0:
            request["project_id"] = str(project_id)
        made.append(request)
    return made


def row_of(client: Any, job: BatchJob, index: int, kind: str) -> Any:
    return getattr(client, TABLE_OF[kind]).get(job.row_id(index))


def generate(client: Any, request: dict[str, Any], **extra: Any) -> Any:
    inputs = {k: v for k, v in request.items() if k != "kind"}
    return getattr(client.generate, request["kind"])(**inputs, **extra)


def uploaded_bodies(peer: GroqPeer) -> dict[str, Any]:
    import json

    bodies = {}
    for file in peer.files.values():
        if file.purpose == "batch":
            for line in file.data.splitlines():
                parsed = json.loads(line)
                bodies[parsed["custom_id"]] = parsed
    return bodies


def assert_same_generation(client: Any, batched: Any, synchronous: Any) -> None:
    """Rows and activity entries equal, but for ids, timestamps, usage and the batch marks."""
    skip = {"id", "created_at", "updated_at"}
    assert batched.model_dump(exclude=skip) == synchronous.model_dump(exclude=skip)
    ours, theirs = client.activity_logs.get(batched.id), client.activity_logs.get(synchronous.id)
    for name in ("activity_type", "description", "project_id", "user_id"):
        assert getattr(ours, name) == getattr(theirs, name), name
    assert {k: v for k, v in ours.metadata.items() if k not in USAGE | BATCH_KEYS} == {
        k: v for k, v in theirs.metadata.items() if k not in USAGE
    }


# -- the journey: 1,000 requests, every store -------------------------------------------------------


def test_a_thousand_requests_of_mixed_kinds_are_recorded_once_each(
    generator_case: StoreCase, groq_peer: GroqPeer
) -> None:
    b = batching(generator_case)
    client = b.client
    project = client.projects.create("Batch launch")
    requests = mixed(1000, project.id)
    job = b.batches.submit(requests, metadata={"purpose": "nightly"})
    assert job.total == 1000 and job.status == "validating" and len(job.batches) == 1

    done = b.batches.collect(job.id)

    assert (done.newly_recorded, done.recorded, done.errors, done.finished) == (
        1000,
        1000,
        (),
        True,
    )
    counts = {kind: getattr(client, table).count() for kind, table in TABLE_OF.items()}
    assert counts == {"prompt": 250, "code": 250, "review": 250, "tests": 250}
    batched = [e for e in client.activity_logs.iter() if e.metadata.get("batch") is True]
    assert len(batched) == 1000
    assert {e.metadata["batch_id"] for e in batched} == {job.batches[0].id}
    assert {e.metadata["batch_job_id"] for e in batched} == {str(job.id)}
    filed = client.projects.resource_counts(project.id)  # every 10th: prompts and reviews
    assert (filed.prompt_count, filed.code_review_count) == (50, 50)
    again = b.batches.collect(job.id)
    assert (again.newly_recorded, again.recorded) == (0, 1000)
    assert sum(getattr(client, table).count() for table in TABLE_OF.values()) == 1000

    # Each is what a synchronous generation of the same request records.
    for index in (0, 1, 2, 3, 10, 20, 30, 997):
        request = requests[index]
        batched_row = row_of(client, job, index, request["kind"])
        assert_same_generation(client, batched_row, generate(client, request))


def test_each_line_is_the_chat_request_a_synchronous_generation_sends(
    b: Batching, groq_peer: GroqPeer
) -> None:
    requests = [
        *mixed(40),
        {"kind": "prompt", "topic": "t", "model": "openai/gpt-oss-20b", "reasoning_effort": "low"},
        {"kind": "code", "description": "d", "language": "go", "max_completion_tokens": 900},
    ]
    job = b.batches.submit(requests)
    sent = uploaded_bodies(groq_peer)
    assert len(sent) == len(requests)
    for index, request in enumerate(requests):
        line = sent[f"request-{index}"]
        assert (line["method"], line["url"]) == ("POST", "/v1/chat/completions")
        assert line["body"] == generate(b.client, request, dry_run=True).parameters
    assert groq_peer.chat_requests == []  # a batch pays no synchronous call
    assert job.row_id(0) == job.row_id(0) != job.row_id(1)


# -- submit -------------------------------------------------------------------------------------------


def test_a_bad_request_among_500_refuses_the_submission_naming_its_index(
    b: Batching, groq_peer: GroqPeer
) -> None:
    requests = mixed(500)
    requests[317] = {"kind": "prompt", "topic": "x", "length": 5}
    with pytest.raises(ValidationError) as refused:
        b.batches.submit(requests)
    assert refused.value.field == "requests[317].length"
    assert "request 317" in str(refused.value)
    assert groq_peer.count(FILES_PATH) == 0 and groq_peer.count(BATCHES_PATH) == 0
    assert b.batches.list() == []


def test_a_request_of_an_unknown_kind_is_refused_naming_its_index(
    b: Batching, groq_peer: GroqPeer
) -> None:
    with pytest.raises(ValidationError, match="request 1"):
        b.batches.submit([{"kind": "prompt", "topic": "x"}, {"kind": "poem", "topic": "y"}])
    assert groq_peer.requests == []


def test_a_project_that_is_not_yours_is_refused_before_anything_is_sent(
    b: Batching, groq_peer: GroqPeer
) -> None:
    with pytest.raises(PermissionDenied):
        b.batches.submit([{"kind": "prompt", "topic": "x", "project_id": str(uuid.uuid4())}])
    assert groq_peer.requests == []


@pytest.mark.parametrize(
    ("options", "field_name"),
    [
        ({"completion_window": "12h"}, "completion_window"),
        ({"completion_window": "8d"}, "completion_window"),
        ({"metadata": {"groqgen_job": "x"}}, "metadata"),
        ({"metadata": {"n": 1}}, "metadata"),
    ],
)
def test_a_bad_window_or_metadata_is_refused(
    b: Batching, groq_peer: GroqPeer, options: dict[str, Any], field_name: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        b.batches.submit(mixed(2), **options)
    assert refused.value.field == field_name
    assert groq_peer.requests == []


def test_an_empty_submission_is_refused(b: Batching) -> None:
    with pytest.raises(ValidationError, match="empty"):
        b.batches.submit([])


def test_a_job_over_the_line_limit_becomes_several_groq_batches_and_collects_as_one(
    b: Batching, groq_peer: GroqPeer
) -> None:
    groq_peer.batch_max_lines = 10
    b.raw.limits = BatchLimits(lines=10)
    job = b.batches.submit(mixed(25))
    assert [(g.first, g.count) for g in job.batches] == [(0, 10), (10, 10), (20, 5)]
    assert len({g.id for g in job.batches}) == 3
    done = b.batches.collect(job.id)
    assert (done.recorded, done.errors) == (25, ())
    assert b.client.activity_logs.count() == 25


def test_a_job_over_the_size_limit_is_split_too(b: Batching, groq_peer: GroqPeer) -> None:
    requests = mixed(8)
    size = max(len(x) for x in _lines(b, requests))
    b.raw.limits = BatchLimits(bytes=size * 3)
    groq_peer.batch_max_bytes = size * 3
    job = b.batches.submit(requests)
    assert len(job.batches) >= 3 and sum(g.count for g in job.batches) == 8
    assert all(f.info()["bytes"] <= size * 3 for f in groq_peer.files.values() if f.data)
    assert b.batches.collect(job.id).recorded == 8


def _lines(b: Batching, requests: list[dict[str, Any]]) -> list[bytes]:
    from groqgen.batches._wire import input_line

    return [
        input_line(f"request-{i}", generate(b.client, r, dry_run=True).parameters)
        for i, r in enumerate(requests)
    ]


def test_a_request_too_large_for_any_batch_is_refused(b: Batching, groq_peer: GroqPeer) -> None:
    b.raw.limits = BatchLimits(bytes=100)
    with pytest.raises(ValidationError) as refused:
        b.batches.submit(mixed(2))
    assert refused.value.field == "requests[0]"
    assert groq_peer.requests == []


def test_the_job_is_journaled_privately_before_submit_returns(b: Batching) -> None:
    job = b.batches.submit(mixed(3))
    folder = b.raw.journal.root / str(job.id)
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    for name in ("job.json", "requests.jsonl"):
        assert stat.S_IMODE(os.stat(folder / name).st_mode) == 0o600
    entries = (folder / "requests.jsonl").read_text().splitlines()
    assert len(entries) == 3 and '"custom_id":"request-0"' in entries[0]
    assert job.batches[0].id in (folder / "job.json").read_text()


# -- the transport: uploads and creations retried only when nothing was accepted --------------------


def test_an_upload_refused_with_a_503_is_sent_again(b: Batching, groq_peer: GroqPeer) -> None:
    groq_peer.script_api("POST", FILES_PATH, unavailable())
    job = b.batches.submit(mixed(2))
    assert groq_peer.count(FILES_PATH) >= 2 and len(groq_peer.files) == 1
    assert job.batches[0].input_file_id in groq_peer.files


def test_an_upload_accepted_without_an_answer_is_not_sent_again(
    b: Batching, groq_peer: GroqPeer
) -> None:
    groq_peer.script_api("POST", FILES_PATH, dropped())
    job = b.batches.submit(mixed(2))
    uploads = [r for r in groq_peer.requests if (r.method, r.path) == ("POST", FILES_PATH)]
    assert len(uploads) == 1 and len(groq_peer.files) == 1
    assert b.batches.collect(job.id).recorded == 2


def test_a_batch_created_without_an_answer_is_not_created_again(
    b: Batching, groq_peer: GroqPeer
) -> None:
    groq_peer.script_api("POST", BATCHES_PATH, dropped())
    job = b.batches.submit(mixed(2))
    assert len(groq_peer.batches) == 1 and job.batches[0].id in groq_peer.batches
    assert b.batches.collect(job.id).recorded == 2


def test_a_batch_groq_may_have_made_is_found_when_the_job_is_next_used(
    b: Batching, groq_peer: GroqPeer
) -> None:
    groq_peer.script_api("POST", BATCHES_PATH, dropped())
    groq_peer.script_api("GET", BATCHES_PATH, unavailable(), unavailable())
    with pytest.raises(GenerationError, match="may have made it") as unsure:
        b.batches.submit(mixed(3))
    (job,) = b.batches.list()
    assert str(job.id) in str(unsure.value)
    assert job.batches[0].id in groq_peer.batches  # found by the job named in its metadata
    assert b.batches.collect(job.id).recorded == 3
    assert len(groq_peer.batches) == 1


def test_a_submission_refused_at_its_first_batch_leaves_no_job(
    b: Batching, groq_peer: GroqPeer
) -> None:
    groq_peer.script_api("POST", BATCHES_PATH, status(400))
    with pytest.raises(GenerationError, match="400"):
        b.batches.submit(mixed(2))
    assert b.batches.list() == [] and groq_peer.batches == {}


def test_a_submission_broken_off_half_way_keeps_what_groq_runs_and_retries_the_rest(
    b: Batching, groq_peer: GroqPeer
) -> None:
    b.raw.limits = BatchLimits(lines=5)
    groq_peer.script_api("POST", BATCHES_PATH, None, status(400))
    with pytest.raises(GenerationError, match="only in part"):
        b.batches.submit(mixed(10))
    (job,) = b.batches.list()
    assert [g.status for g in job.batches] == ["completed", "failed"]
    assert job.batches[1].id is None and "never submitted" in (job.batches[1].problem or "")
    done = b.batches.collect(job.id)
    assert done.recorded == 5
    assert [(e.index, e.reason) for e in done.errors] == [(i, "not_run") for i in range(5, 10)]
    retried = b.batches.retry_failed(job.id)
    assert (retried.total, retried.retry_of) == (5, job.id)
    assert b.batches.collect(retried.id).recorded == 5
    assert b.client.activity_logs.count() == 10


# -- collect -------------------------------------------------------------------------------------------


def test_an_expired_half_done_batch_records_the_completed_half_and_reports_the_rest(
    b: Batching, groq_peer: GroqPeer
) -> None:
    groq_peer.script_batches(expires_half_done())
    job = b.batches.submit(mixed(8))
    done = b.batches.collect(job.id)
    assert done.job.status == "expired" and done.finished
    assert done.recorded == 4
    assert [(e.index, e.reason, e.code) for e in done.errors] == [
        (i, "expired", "batch_expired") for i in range(4, 8)
    ]
    assert all(e.retryable for e in done.errors)
    for i in range(4):
        assert row_of(b.client, job, i, mixed(8)[i]["kind"]) is not None


def test_retry_failed_submits_only_the_failed_and_expired_requests(
    b: Batching, groq_peer: GroqPeer
) -> None:
    requests = mixed(8)
    groq_peer.script_batches(expires_half_done())
    job = b.batches.submit(requests)
    b.batches.collect(job.id)
    before = len(uploaded_bodies(groq_peer))

    retried = b.batches.retry_failed(job.id)

    assert (retried.total, retried.retry_of) == (4, job.id)
    assert b.batches.get(job.id).retried_by == retried.id
    sent_again = [
        f
        for f in groq_peer.files.values()
        if f.purpose == "batch" and f.id == retried.batches[0].input_file_id
    ]
    topics = [line for line in sent_again[0].data.splitlines()]
    assert len(topics) == 4 and before == 8
    for again, original in zip(topics, range(4, 8), strict=True):
        assert _body(again) == generate(b.client, requests[original], dry_run=True).parameters
    done = b.batches.collect(retried.id)
    assert (done.recorded, done.errors) == (4, ())
    assert b.client.activity_logs.count() == 8
    with pytest.raises(ValidationError, match="retried already"):
        b.batches.retry_failed(job.id)
    with pytest.raises(ValidationError, match="no failed"):
        b.batches.retry_failed(retried.id)


def _body(line: bytes) -> Any:
    import json

    return json.loads(line)["body"]


def test_failed_lines_are_typed_per_item_errors(b: Batching, groq_peer: GroqPeer) -> None:
    groq_peer.script_batches(fails_lines(1))
    requests = mixed(4)
    requests[2]["model"] = "llama-3.3-70b-versatile"  # retired: the synchronous endpoint's 404
    job = b.batches.submit(requests)
    done = b.batches.collect(job.id)
    assert done.recorded == 2
    failed, retired = done.errors
    assert (failed.index, failed.reason, failed.status_code, failed.kind) == (
        1,
        "failed",
        500,
        "code",
    )
    assert (retired.index, retired.code, retired.status_code) == (2, "model_not_found", 404)
    assert retired.request_id is not None and retired.request_id.startswith("req_")
    assert "does not exist" in retired.message
    assert isinstance(retired.error, GenerationError)
    assert (retired.error.code, retired.error.status_code) == ("model_not_found", 404)
    assert done.job.failed == 2 and done.job.errors == 2


def test_a_cancelled_job_records_what_completed(b: Batching, groq_peer: GroqPeer) -> None:
    groq_peer.script_batches(runs_until_cancelled(done=0.5))
    job = b.batches.submit(mixed(6))
    assert b.batches.get(job.id).status == "in_progress"
    assert b.batches.cancel(str(job.id)).status == "cancelling"
    done = b.batches.collect(job.id)
    assert done.job.status == "cancelled" and done.recorded == 3
    assert [(e.index, e.reason) for e in done.errors] == [(i, "not_run") for i in range(3, 6)]


def test_a_download_that_breaks_mid_file_is_read_again_without_duplicates(
    b: Batching, groq_peer: GroqPeer
) -> None:
    groq_peer.script_batches(breaks_download(times=2))
    job = b.batches.submit(mixed(600))
    done = b.batches.collect(job.id)
    assert (done.recorded, done.errors) == (600, ())
    assert b.client.activity_logs.count() == 600
    downloads = [r for r in groq_peer.requests if r.path.endswith("/content")]
    assert len(downloads) == 3 and len(b.slept) == 2  # paused before each new attempt


def test_a_download_that_keeps_breaking_is_a_typed_error_and_collects_again(
    b: Batching, groq_peer: GroqPeer
) -> None:
    groq_peer.script_batches(breaks_download(times=3))  # max_retries=2: three tries in all
    job = b.batches.submit(mixed(600))
    with pytest.raises(GenerationError, match=r"connection|broke"):
        b.batches.collect(job.id)
    partly = b.batches.get(job.id)
    assert 0 < partly.recorded < 600 and not partly.collected
    assert b.batches.collect(job.id).recorded == 600
    assert b.client.activity_logs.count() == 600


def test_an_empty_answer_follows_the_synchronous_rules(b: Batching, groq_peer: GroqPeer) -> None:
    requests = [
        {"kind": "prompt", "topic": "a", "max_completion_tokens": 100},  # reasoning eats it all
        {"kind": "prompt", "topic": "b"},
    ]
    done = b.batches.collect(b.batches.submit(requests).id)
    assert done.recorded == 1
    (empty,) = done.errors
    assert (empty.index, empty.reason, empty.code, empty.retryable) == (
        0,
        "truncated",
        "length",
        False,
    )
    assert isinstance(empty.error, TruncatedGeneration)
    with pytest.raises(TruncatedGeneration):
        generate(b.client, requests[0])


def test_a_cut_off_answer_is_recorded_when_the_request_allows_it(
    b: Batching, groq_peer: GroqPeer
) -> None:
    groq_peer.reply = "word " * 400
    requests = [
        {"kind": "review", "code": CODE, "language": "python", "max_completion_tokens": 1600},
        {
            "kind": "review",
            "code": CODE,
            "language": "python",
            "max_completion_tokens": 1600,
            "allow_truncated": True,
        },
    ]
    job = b.batches.submit(requests)
    done = b.batches.collect(job.id)
    assert [e.index for e in done.errors] == [0] and done.errors[0].reason == "truncated"
    row = b.client.code_reviews.get(job.row_id(1))
    assert b.client.activity_logs.get(row.id).metadata["truncated"] is True


def test_a_store_that_is_down_sends_results_to_the_outbox(b: Batching, groq_peer: GroqPeer) -> None:
    from groqgen import StoreError
    from groqgen.stores import ops

    job = b.batches.submit(mixed(3))
    recorder = b.raw._generate._recorder
    store = recorder.store

    class Down:
        def execute(self, op: Any) -> Any:
            if isinstance(op, ops.Record):
                raise StoreError("the store is down", transient=True)
            return store.execute(op)

    down: Any = Down()
    if isinstance(b.client, Blocking):

        class AsyncDown:
            async def execute(self, op: Any) -> Any:
                if isinstance(op, ops.Record):
                    raise StoreError("the store is down", transient=True)
                return await store.execute(op)

        down = AsyncDown()
    recorder.store = down
    done = b.batches.collect(job.id)
    recorder.store = store
    assert done.recorded == 0
    assert {e.reason for e in done.errors} == {"unrecorded"} and len(done.errors) == 3
    assert len(b.client.outbox.pending()) == 3
    assert b.client.outbox.flush().recorded == 3
    assert b.client.activity_logs.count() == 3


def test_collect_records_nothing_while_groq_runs_and_says_so(
    b: Batching, groq_peer: GroqPeer
) -> None:
    groq_peer.script_batches(completes(polls=2))
    job = b.batches.submit(mixed(4))
    early = b.batches.collect(job.id)
    assert (early.finished, early.recorded, early.job.status) == (False, 0, "in_progress")
    assert b.slept == []


def test_wait_polls_with_backoff_until_the_job_ends(b: Batching, groq_peer: GroqPeer) -> None:
    groq_peer.script_batches(completes(polls=3))
    job = b.batches.submit(mixed(4))
    done = b.batches.collect(job.id, wait=True, poll_interval=2.0)
    assert done.finished and done.recorded == 4
    assert b.slept == [2.0, 3.0, 4.5]


def test_wait_gives_up_after_its_timeout(b: Batching, groq_peer: GroqPeer) -> None:
    groq_peer.script_batches(runs_until_cancelled())
    job = b.batches.submit(mixed(2))
    done = b.batches.collect(job.id, wait=True, poll_interval=4.0, timeout=10.0)
    assert not done.finished and sum(b.slept) == 10.0
    assert b.slept == [4.0, 6.0]


def test_waiting_shows_groqs_counts_when_asked_and_is_silent_otherwise(
    b: Batching, groq_peer: GroqPeer, capsys: pytest.CaptureFixture[str]
) -> None:
    groq_peer.script_batches(completes(polls=1), completes(polls=1))
    first = b.batches.submit(mixed(4))
    capsys.readouterr()
    b.batches.collect(first.id, wait=True, poll_interval=1.0, progress=True)
    assert "Groq batch" in capsys.readouterr().err
    second = b.batches.submit(mixed(4))
    b.batches.collect(second.id, wait=True, poll_interval=1.0)
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("bad", [0, -1.0, float("nan"), "1", True])
def test_a_bad_poll_interval_is_refused(b: Batching, bad: Any) -> None:
    job = b.batches.submit(mixed(1))
    with pytest.raises(ValidationError) as refused:
        b.batches.collect(job.id, wait=True, poll_interval=bad)
    assert refused.value.field == "poll_interval"


# -- get, list, cancel ------------------------------------------------------------------------------


def test_get_shows_groqs_status_counts_and_what_is_recorded(
    b: Batching, groq_peer: GroqPeer
) -> None:
    groq_peer.script_batches(completes(polls=1))
    job = b.batches.submit(mixed(4), completion_window="48h", metadata={"team": "docs"})
    running = b.batches.get(job.id)
    assert (running.status, running.recorded, running.finished) == ("in_progress", 0, False)
    assert (running.completion_window, dict(running.metadata)) == ("48h", {"team": "docs"})
    assert groq_peer.batches[job.batches[0].id or ""].metadata == {
        "team": "docs",
        "groqgen_job": str(job.id),
        "groqgen_part": "0",
    }
    ended = b.batches.get(job.id)
    assert (ended.status, ended.completed, ended.failed, ended.recorded) == ("completed", 4, 0, 0)
    b.batches.collect(job.id)
    collected = b.batches.get(job.id)
    assert (collected.recorded, collected.errors, collected.collected) == (4, 0, True)


def test_a_job_is_found_by_the_start_of_its_id(b: Batching) -> None:
    job = b.batches.submit(mixed(1))
    assert b.batches.get(str(job.id)[:8]).id == job.id
    with pytest.raises(NotFound):
        b.batches.get(str(uuid.uuid4()))
    with pytest.raises(NotFound):
        b.batches.collect("nope")


def test_list_shows_every_job_newest_first(b: Batching) -> None:
    first = b.batches.submit(mixed(1))
    second = b.batches.submit(mixed(2))
    assert [j.id for j in b.batches.list()] == [second.id, first.id]


def test_cancelling_an_ended_job_changes_nothing(b: Batching, groq_peer: GroqPeer) -> None:
    job = b.batches.submit(mixed(2))
    b.batches.collect(job.id)
    assert b.batches.cancel(job.id).status == "completed"
    assert not [r for r in groq_peer.requests if r.path.endswith("/cancel")]


def test_a_job_of_another_store_or_user_is_not_found(
    b: Batching, tmp_path: Any, migrated_url: str, groq_peer: GroqPeer
) -> None:
    import psycopg

    from tests.helpers import new_user

    job = b.batches.submit(mixed(1))
    with psycopg.connect(migrated_url, autocommit=True) as conn:
        user = new_user(conn)
    with Client(home=tmp_path, database_url=migrated_url, user_id=user, groq_api_key="k") as other:
        assert other.batches.list() == []
        with pytest.raises(NotFound):
            other.batches.get(job.id)
        with pytest.raises(NotFound):
            other.batches.collect(job.id)


def test_the_sync_client_drives_a_whole_job_where_an_event_loop_runs(
    tmp_path: Any, groq_peer: GroqPeer, capsys: pytest.CaptureFixture[str]
) -> None:
    """As in a notebook: submit and wait for a job from inside a running event loop."""
    groq_peer.script_batches(completes(polls=1))

    async def notebook_cell() -> Any:
        with Client(home=tmp_path, groq_api_key="k", groq_base_url=groq_peer.base_url) as client:
            client.batches._sleep = lambda seconds: None
            job = client.batches.submit(mixed(4))
            return client.batches.collect(job.id, wait=True, poll_interval=0.5, progress=True)

    done = asyncio.run(notebook_cell())
    assert done.finished and done.recorded == 4
    assert "Groq batch" in capsys.readouterr().err


def test_nobody_signed_in_to_supabase_cannot_submit(
    tmp_path: Any, supabase_peer: Any, groq_peer: GroqPeer
) -> None:
    from groqgen import AuthenticationError

    with (
        Client(
            supabase_url=supabase_peer.url,
            supabase_key=supabase_peer.anon_key,
            home=tmp_path,
            groq_api_key="k",
            groq_base_url=groq_peer.base_url,
        ) as client,
        pytest.raises(AuthenticationError, match="sign in"),
    ):
        client.batches.submit(mixed(1))
    assert groq_peer.requests == []
