"""Recorded Groq answers replay through the real groq SDK with vcrpy, plain and streamed.

Each cassette in ``tests/cassettes/groq`` holds one ``POST
https://api.groq.com/openai/v1/chat/completions`` interaction in Groq's wire format. vcrpy
(9.x) patches httpx's transports and hands the recorded body back as one
``httpx.ByteStream``, so a streamed (SSE) answer replays as a single chunk of bytes: the SDK's
SSE decoder still yields every ``chat.completion.chunk``, but these cassettes cannot exercise
incremental delivery or a stream that breaks mid-way - ``tests/groq_peer.py`` does that.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import groq
import httpx
import pytest
import vcr
import vcr.errors
import yaml

CASSETTES = Path(__file__).parent / "cassettes" / "groq"
MATCH_ON = ["method", "scheme", "host", "port", "path"]
KINDS = ("prompt", "code", "review", "tests")

# What each kind's answer must contain for the project's parsers to have something to do.
MARKERS: dict[str, tuple[str, ...]] = {
    "prompt": ("**Role**", "**Task**", "**Output format**"),
    "code": ("```python\n", "def slugify(title: str) -> str:", "\n```\n"),
    "review": ("## Summary", "## Strengths", "## Issues", "## Suggested fixes", "- **high**"),
    "tests": ("```python\n", "import pytest", "def test_", "@pytest.mark.parametrize"),
}


def cassette_path(kind: str, stream: bool) -> Path:
    return CASSETTES / f"{kind}{'_stream' if stream else ''}.yaml"


def recorded(kind: str, stream: bool) -> dict[str, Any]:
    data = yaml.safe_load(cassette_path(kind, stream).read_text(encoding="utf-8"))
    (interaction,) = data["interactions"]
    return dict(interaction)


def recorded_request_json(kind: str, stream: bool) -> dict[str, Any]:
    body = recorded(kind, stream)["request"]["body"]
    return dict(json.loads(body))


@pytest.fixture
def client() -> Iterator[groq.Groq]:
    sdk = groq.Groq(api_key="gsk_test", max_retries=0)
    yield sdk
    sdk.close()


def replay(kind: str, stream: bool) -> Any:
    return vcr.use_cassette(str(cassette_path(kind, stream)), record_mode="none", match_on=MATCH_ON)


def call(client: groq.Groq, kind: str, stream: bool) -> Any:
    request = recorded_request_json(kind, stream)
    return client.chat.completions.create(
        model=request["model"],
        messages=request["messages"],
        temperature=request["temperature"],
        max_completion_tokens=request["max_completion_tokens"],
        stream=stream,
    )


def test_every_cassette_exists_in_vcrpy_format() -> None:
    for kind in KINDS:
        for stream in (False, True):
            data = yaml.safe_load(cassette_path(kind, stream).read_text(encoding="utf-8"))
            assert data["version"] == 1
            (interaction,) = data["interactions"]
            request, response = interaction["request"], interaction["response"]
            assert request["method"] == "POST"
            assert request["uri"] == "https://api.groq.com/openai/v1/chat/completions"
            assert "authorization" not in request["headers"]
            body = json.loads(request["body"])
            assert body["model"] == "llama-3.3-70b-versatile"
            assert [m["role"] for m in body["messages"]] == ["system", "user"]
            assert body.get("stream", False) is stream
            assert response["status"] == {"code": 200, "message": "OK"}
            headers = response["headers"]
            expected_type = "text/event-stream" if stream else "application/json"
            assert headers["content-type"] == [expected_type]
            assert headers["x-request-id"][0].startswith("req_")
            for name in (
                "x-ratelimit-limit-requests",
                "x-ratelimit-limit-tokens",
                "x-ratelimit-remaining-requests",
                "x-ratelimit-remaining-tokens",
                "x-ratelimit-reset-requests",
                "x-ratelimit-reset-tokens",
            ):
                assert headers[name]
            if not stream:
                raw = response["body"]["string"].encode()
                assert headers["content-length"] == [str(len(raw))]


@pytest.mark.parametrize("kind", KINDS)
def test_plain_cassette_replays_through_the_sdk(client: groq.Groq, kind: str) -> None:
    with replay(kind, stream=False) as cassette:
        raw = client.chat.completions.with_raw_response.create(
            **{k: v for k, v in recorded_request_json(kind, False).items() if k != "stream"}
        )
        completion = raw.parse()
    assert cassette.all_played

    content = completion.choices[0].message.content
    assert content
    for marker in MARKERS[kind]:
        assert marker in content
    assert completion.choices[0].finish_reason == "stop"
    assert completion.model == "llama-3.3-70b-versatile"
    usage = completion.usage
    assert usage is not None
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens > 0
    assert usage.queue_time is not None and usage.total_time is not None
    assert completion.x_groq is not None
    assert raw.headers["x-request-id"] == completion.x_groq.id
    assert int(raw.headers["x-ratelimit-remaining-tokens"]) > 0


@pytest.mark.parametrize("kind", KINDS)
def test_streamed_cassette_replays_through_the_sdk(client: groq.Groq, kind: str) -> None:
    with replay(kind, stream=True) as cassette:
        chunks = list(call(client, kind, stream=True))
    assert cassette.all_played

    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    for marker in MARKERS[kind]:
        assert marker in text
    assert len(chunks) > 10  # replayed as many SSE events, not one blob
    assert chunks[0].choices[0].delta.role == "assistant"
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    assert last.x_groq is not None and last.x_groq.usage is not None
    assert chunks[0].x_groq is not None and last.x_groq.id == chunks[0].x_groq.id
    usage = last.x_groq.usage
    assert usage.completion_tokens == len(chunks) - 2
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


@pytest.mark.parametrize("kind", KINDS)
def test_plain_and_streamed_cassettes_agree(client: groq.Groq, kind: str) -> None:
    with replay(kind, stream=False):
        plain = call(client, kind, stream=False).choices[0].message.content
    with replay(kind, stream=True):
        streamed = "".join(c.choices[0].delta.content or "" for c in call(client, kind, True))
    assert plain == streamed


async def test_async_client_replays_a_streamed_cassette() -> None:
    request = recorded_request_json("code", True)
    async with groq.AsyncGroq(api_key="gsk_test", max_retries=0) as sdk:
        with replay("code", stream=True):
            stream = await sdk.chat.completions.create(
                model=request["model"], messages=request["messages"], stream=True
            )
            text = "".join([c.choices[0].delta.content or "" async for c in stream])
    assert "def slugify" in text


def test_raw_httpx_streaming_replays_sse_lines() -> None:
    request = recorded_request_json("review", True)
    with (
        replay("review", stream=True),
        httpx.Client() as http,
        http.stream(
            "POST", "https://api.groq.com/openai/v1/chat/completions", json=request
        ) as response,
    ):
        assert response.headers["content-type"] == "text/event-stream"
        lines = [line for line in response.iter_lines() if line]
    assert lines[-1] == "data: [DONE]"
    assert all(line.startswith("data: ") for line in lines)


def test_unrecorded_requests_are_refused(client: groq.Groq) -> None:
    with (
        replay("code", stream=False),
        pytest.raises(groq.APIConnectionError) as caught,
    ):
        client.models.list()
    assert isinstance(caught.value.__cause__, vcr.errors.CannotOverwriteExistingCassetteException)
