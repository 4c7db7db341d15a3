"""The Groq peer's files and batches endpoints speak Groq's Batch API to the real groq SDK.

Wire format per GROQ-TODAY.md ("Batch API", checked 2026-11-30); each line is answered as the
synchronous chat endpoint answers the same request.
"""

from __future__ import annotations

import json
from typing import Any

import groq
import httpx
import pytest

from tests import test_groq_peer
from tests.groq_peer import (
    BATCHES_PATH,
    DEFAULT_MODEL,
    EXPIRED_MESSAGE,
    FILES_PATH,
    GroqPeer,
    breaks_download,
    chat_completion,
    completes,
    dropped,
    expires_half_done,
    fails_lines,
    runs_until_cancelled,
    status,
)

peer, client = test_groq_peer.peer, test_groq_peer.client  # a running peer, the SDK on it

MESSAGES = [{"role": "user", "content": "Write a function that adds two numbers."}]


def jsonl(*bodies: dict[str, Any]) -> bytes:
    lines = [
        {"custom_id": f"r{i}", "method": "POST", "url": "/v1/chat/completions", "body": body}
        for i, body in enumerate(bodies)
    ]
    return b"".join(json.dumps(line).encode() + b"\n" for line in lines)


def body(**extra: Any) -> dict[str, Any]:
    return {"model": DEFAULT_MODEL, "messages": MESSAGES, **extra}


def start(client: groq.Groq, data: bytes, window: str = "24h") -> Any:
    uploaded = client.files.create(file=("in.jsonl", data, "application/jsonl"), purpose="batch")
    return client.batches.create(
        input_file_id=str(uploaded.id), endpoint="/v1/chat/completions", completion_window=window
    )


def lines_of(client: groq.Groq, file_id: str | None) -> list[dict[str, Any]]:
    assert file_id is not None
    with client.files.with_streaming_response.content(file_id) as response:
        return [json.loads(line) for line in response.iter_lines() if line]


def test_an_upload_is_a_file_object(client: groq.Groq) -> None:
    data = jsonl(body())
    uploaded = client.files.create(file=("in.jsonl", data, "application/jsonl"), purpose="batch")
    assert str(uploaded.id).startswith("file_")
    assert (uploaded.bytes, uploaded.filename, uploaded.purpose) == (len(data), "in.jsonl", "batch")
    assert client.files.info(str(uploaded.id)).filename == "in.jsonl"
    assert [f.id for f in client.files.list().data] == [uploaded.id]
    assert client.files.content(str(uploaded.id)).read() == data


def test_a_batch_validates_then_completes_and_each_line_is_the_synchronous_answer(
    client: groq.Groq, peer: GroqPeer
) -> None:
    peer.script_batches(completes(polls=1))
    batch = start(client, jsonl(body(), body(max_completion_tokens=50)))
    assert batch.status == "validating" and str(batch.id).startswith("batch_")
    assert client.batches.retrieve(batch.id).status == "in_progress"
    done = client.batches.retrieve(batch.id)
    assert done.status == "completed"
    assert done.request_counts is not None
    assert (done.request_counts.total, done.request_counts.completed) == (2, 2)
    results = {line["custom_id"]: line for line in lines_of(client, done.output_file_id)}
    assert set(results) == {"r0", "r1"} and done.error_file_id is None
    for custom_id, request in (("r0", body()), ("r1", body(max_completion_tokens=50))):
        response = results[custom_id]["response"]
        assert response["status_code"] == 200 and results[custom_id]["error"] is None
        synchronous = chat_completion(request, peer.reply)
        assert response["body"]["choices"] == synchronous["choices"]
        assert response["body"]["usage"] == synchronous["usage"]
        assert response["body"]["x_groq"]["id"] == response["request_id"]


def test_results_come_in_another_order_than_the_requests(client: groq.Groq) -> None:
    batch = client.batches.retrieve(start(client, jsonl(body(), body(), body())).id)
    assert [line["custom_id"] for line in lines_of(client, batch.output_file_id)] != [
        "r0",
        "r1",
        "r2",
    ]


def test_a_download_says_the_same_each_time(client: groq.Groq) -> None:
    batch = client.batches.retrieve(start(client, jsonl(body(), body())).id)
    assert lines_of(client, batch.output_file_id) == lines_of(client, batch.output_file_id)


def test_a_request_the_synchronous_endpoint_refuses_goes_to_the_error_file(
    client: groq.Groq,
) -> None:
    batch = client.batches.retrieve(
        start(client, jsonl(body(), body(model="llama-3.3-70b-versatile"))).id
    )
    assert batch.request_counts is not None and batch.request_counts.failed == 1
    (failed,) = lines_of(client, batch.error_file_id)
    assert failed["custom_id"] == "r1"
    assert failed["response"]["status_code"] == 404
    assert failed["response"]["body"]["error"]["code"] == "model_not_found"


def test_scripted_failing_lines_are_500s_in_the_error_file(
    client: groq.Groq, peer: GroqPeer
) -> None:
    peer.script_batches(fails_lines(0))
    batch = client.batches.retrieve(start(client, jsonl(body(), body())).id)
    (failed,) = lines_of(client, batch.error_file_id)
    assert (failed["custom_id"], failed["response"]["status_code"]) == ("r0", 500)
    assert [line["custom_id"] for line in lines_of(client, batch.output_file_id)] == ["r1"]


def test_an_expired_batch_answered_half_and_reports_the_rest_expired(
    client: groq.Groq, peer: GroqPeer
) -> None:
    peer.script_batches(expires_half_done())
    batch = client.batches.retrieve(start(client, jsonl(*[body()] * 4)).id)
    assert batch.status == "expired" and batch.expired_at is not None
    assert {line["custom_id"] for line in lines_of(client, batch.output_file_id)} == {"r0", "r1"}
    expired = lines_of(client, batch.error_file_id)
    assert {line["custom_id"] for line in expired} == {"r2", "r3"}
    assert expired[0]["response"] is None
    assert expired[0]["error"] == {"code": "batch_expired", "message": EXPIRED_MESSAGE}


def test_a_cancelled_batch_keeps_what_ran(client: groq.Groq, peer: GroqPeer) -> None:
    peer.script_batches(runs_until_cancelled(done=0.5))
    batch = start(client, jsonl(*[body()] * 4))
    assert client.batches.retrieve(batch.id).status == "in_progress"
    assert client.batches.retrieve(batch.id).status == "in_progress"
    assert client.batches.cancel(batch.id).status == "cancelling"
    cancelled = client.batches.retrieve(batch.id)
    assert cancelled.status == "cancelled" and cancelled.error_file_id is None
    assert len(lines_of(client, cancelled.output_file_id)) == 2


def test_a_download_breaks_off_half_way_when_scripted(client: groq.Groq, peer: GroqPeer) -> None:
    peer.script_batches(breaks_download())
    batch = client.batches.retrieve(start(client, jsonl(*[body()] * 200)).id)
    with pytest.raises(httpx.RemoteProtocolError):
        lines_of(client, batch.output_file_id)
    assert len(lines_of(client, batch.output_file_id)) == 200


def test_invalid_input_fails_the_batch_with_groqs_errors(client: groq.Groq) -> None:
    data = (
        jsonl(body())
        + b'{"custom_id": "r0", "method": "POST", "url": "/v1/chat/completions", "body": {}}\n'
    )
    failed = client.batches.retrieve(start(client, data).id)
    assert failed.status == "failed" and failed.errors is not None
    (problem,) = failed.errors.data or []
    assert problem.line == 2 and "twice" in (problem.message or "")


def test_limits_are_groqs_and_can_be_lowered(client: groq.Groq, peer: GroqPeer) -> None:
    peer.batch_max_lines = 2
    assert client.batches.retrieve(start(client, jsonl(*[body()] * 3)).id).status == "failed"
    peer.batch_max_bytes = 10
    with pytest.raises(groq.BadRequestError):
        start(client, jsonl(body()))


def test_a_window_outside_24h_to_7d_is_refused(client: groq.Groq) -> None:
    with pytest.raises(groq.BadRequestError):
        start(client, jsonl(body()), window="12h")
    assert start(client, jsonl(body()), window="7d").completion_window == "7d"


def test_batches_are_listed_newest_first_with_their_metadata(client: groq.Groq) -> None:
    uploaded = client.files.create(
        file=("in.jsonl", jsonl(body()), "application/jsonl"), purpose="batch"
    )
    made = [
        client.batches.create(
            input_file_id=str(uploaded.id),
            endpoint="/v1/chat/completions",
            completion_window="24h",
            metadata={"n": str(n)},
        )
        for n in range(2)
    ]
    listed = client.batches.list().data
    assert [b.id for b in listed] == [made[1].id, made[0].id]
    assert listed[0].metadata == {"n": "1"}


def test_api_faults_are_scripted_per_endpoint(client: groq.Groq, peer: GroqPeer) -> None:
    peer.script_api("POST", FILES_PATH, status(503))
    with pytest.raises(groq.InternalServerError):
        client.files.create(file=("in.jsonl", jsonl(body()), "application/jsonl"), purpose="batch")
    assert peer.files == {}
    peer.script_api("POST", FILES_PATH, dropped())
    with pytest.raises(groq.APIConnectionError):
        client.files.create(file=("in.jsonl", jsonl(body()), "application/jsonl"), purpose="batch")
    assert len(peer.files) == 1  # accepted, though the client never heard
    peer.script_api("POST", BATCHES_PATH, dropped())
    with pytest.raises(groq.APIConnectionError):
        client.batches.create(
            input_file_id=next(iter(peer.files)),
            endpoint="/v1/chat/completions",
            completion_window="24h",
        )
    assert len(peer.batches) == 1
