"""Recorded Groq answers replay through the real groq SDK with vcrpy, plain and streamed.

Each cassette in ``tests/cassettes/groq`` holds one ``POST
https://api.groq.com/openai/v1/chat/completions`` interaction in Groq's wire format. vcrpy
(9.x) patches httpx's transports and hands the recorded body back as one
``httpx.ByteStream``, so a streamed (SSE) answer replays as a single chunk of bytes: the SDK's
SSE decoder still yields every ``chat.completion.chunk``, but these cassettes cannot exercise
incremental delivery or a stream that breaks mid-way - ``tests/groq_peer.py`` does that.

The cassettes were recorded on 2026-11-30 from ``tests/groq_peer.py`` through groqgen, as
``openai/gpt-oss-120b`` answers (per GROQ-TODAY.md, 2026-11-30): the request asks for medium
reasoning effort without the reasoning text (``include_reasoning: false``) and a budget of the
wanted output plus groqgen's reasoning allowance; the answer carries no reasoning, but its usage
counts the reasoning tokens spent (``completion_tokens_details.reasoning_tokens``).
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
MODEL = "openai/gpt-oss-120b"
# max_completion_tokens groqgen sends: wanted output + 4096 for medium effort (prompt: 256 +
# 12 * length 50 wanted; the other kinds 4096).
BUDGET = {"prompt": 856 + 4096, "code": 8192, "review": 8192, "tests": 8192}

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
    """The recorded request, sent again through the SDK (``stream`` as asked)."""
    return client.chat.completions.create(
        **{**recorded_request_json(kind, stream), "stream": stream}
    )


def reasoning_tokens(usage: Any) -> int:
    assert usage is not None and usage.completion_tokens_details is not None
    return int(usage.completion_tokens_details.reasoning_tokens)


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
            assert body["model"] == MODEL
            assert [m["role"] for m in body["messages"]] == ["system", "user"]
            assert body.get("stream", False) is stream
            assert body["max_completion_tokens"] == BUDGET[kind]
            assert body["reasoning_effort"] == "medium"
            assert body["include_reasoning"] is False
            assert "reasoning_format" not in body and "max_tokens" not in body
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
                message = json.loads(raw)["choices"][0]["message"]
                assert set(message) == {"role", "content"}  # no "reasoning"
            else:
                assert '"reasoning"' not in response["body"]["string"]


@pytest.mark.parametrize("kind", KINDS)
def test_plain_cassette_replays_through_the_sdk(client: groq.Groq, kind: str) -> None:
    with replay(kind, stream=False) as cassette:
        raw = client.chat.completions.with_raw_response.create(**recorded_request_json(kind, False))
        completion = raw.parse()
    assert cassette.all_played

    message = completion.choices[0].message
    content = message.content
    assert content
    for marker in MARKERS[kind]:
        assert marker in content
    assert message.reasoning is None and "<think>" not in content
    assert completion.choices[0].finish_reason == "stop"
    assert completion.model == MODEL
    usage = completion.usage
    assert usage is not None
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens > 0
    assert 0 < reasoning_tokens(usage) < usage.completion_tokens <= BUDGET[kind]
    assert usage.prompt_tokens_details is not None
    assert usage.prompt_tokens_details.cached_tokens == 0
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
    assert "<think>" not in text
    assert all(c.choices[0].delta.reasoning is None for c in chunks)
    assert len(chunks) > 10  # replayed as many SSE events, not one blob
    assert chunks[0].choices[0].delta.role == "assistant"
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    assert last.x_groq is not None and last.x_groq.usage is not None
    assert chunks[0].x_groq is not None and last.x_groq.id == chunks[0].x_groq.id
    usage = last.x_groq.usage
    assert reasoning_tokens(usage) > 0  # spent, though not shown
    assert usage.completion_tokens == reasoning_tokens(usage) + len(chunks) - 2
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
            stream = await sdk.chat.completions.create(**request)
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
