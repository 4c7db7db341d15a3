"""The local Groq peer speaks Groq's wire format well enough for the real groq SDK.

Each fault test pins the exception the groq SDK (not groqgen) raises for that failure, so the
project knows what its generator has to translate. Notably:

* a 200 with a malformed JSON body raises a bare ``json.JSONDecodeError`` - not a
  ``groq.APIError``;
* a stream that breaks mid-body raises raw ``httpx`` transport errors while iterating
  (``httpx.RemoteProtocolError`` on a FIN, ``httpx.ReadError`` on a RST) - the SDK does not
  wrap errors raised during iteration into ``groq.APIConnectionError``.

The models, the reasoning and the refusals are Groq's as of GROQ-TODAY.md (2026-11-30).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import groq
import httpx
import pytest

from tests.groq_peer import (
    CHAT_PATH,
    DECOMMISSIONED_MODELS,
    DEFAULT_MODEL,
    DEFAULT_REPLY,
    MODELS_PATH,
    REASONING_TEXT,
    REASONING_TOKENS,
    RETIRED_MODELS,
    GroqPeer,
    broken_stream,
    decommissioned,
    malformed,
    model_not_found,
    rate_limited,
    reset,
    slow,
    status,
    unavailable,
)

MESSAGES: list[Any] = [
    {"role": "system", "content": "You are a senior Python engineer."},
    {"role": "user", "content": "Write a function that adds two numbers."},
]

RATE_LIMIT_HEADERS = (
    "x-ratelimit-limit-requests",
    "x-ratelimit-limit-tokens",
    "x-ratelimit-remaining-requests",
    "x-ratelimit-remaining-tokens",
    "x-ratelimit-reset-requests",
    "x-ratelimit-reset-tokens",
)


@pytest.fixture
def peer() -> Iterator[GroqPeer]:
    with GroqPeer() as running:
        yield running


@pytest.fixture
def client(peer: GroqPeer) -> Iterator[groq.Groq]:
    sdk = groq.Groq(base_url=peer.base_url, api_key="gsk_test", max_retries=0)
    yield sdk
    sdk.close()


def create(client: groq.Groq, **kwargs: Any) -> Any:
    return client.chat.completions.create(model=DEFAULT_MODEL, messages=MESSAGES, **kwargs)


def drain(client: groq.Groq, received: list[Any], **kwargs: Any) -> None:
    for chunk in create(client, stream=True, **kwargs):
        received.append(chunk)


# ------------------------------------------------------------------------ success paths


def test_plain_completion_parses_with_the_sdk(peer: GroqPeer, client: groq.Groq) -> None:
    raw = client.chat.completions.with_raw_response.create(model=DEFAULT_MODEL, messages=MESSAGES)
    completion = raw.parse()

    assert completion.object == "chat.completion"
    assert completion.id.startswith("chatcmpl-")
    assert completion.model == DEFAULT_MODEL
    assert completion.choices[0].message.role == "assistant"
    assert completion.choices[0].message.content == DEFAULT_REPLY
    assert completion.choices[0].message.reasoning == REASONING_TEXT  # gpt-oss shows it
    assert completion.choices[0].finish_reason == "stop"
    assert completion.system_fingerprint and completion.system_fingerprint.startswith("fp_")
    usage = completion.usage
    assert usage is not None
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens > 0
    assert usage.completion_tokens_details is not None and usage.prompt_tokens_details is not None
    assert usage.completion_tokens_details.reasoning_tokens == REASONING_TOKENS["medium"]
    assert usage.completion_tokens > REASONING_TOKENS["medium"]  # the answer on top
    assert usage.prompt_tokens_details.cached_tokens == 0
    for timing in (usage.queue_time, usage.prompt_time, usage.completion_time, usage.total_time):
        assert timing is not None and timing > 0
    assert completion.x_groq is not None and completion.x_groq.id.startswith("req_")

    assert raw.headers["content-type"] == "application/json"
    assert raw.headers["x-request-id"] == completion.x_groq.id
    for name in RATE_LIMIT_HEADERS:
        assert raw.headers[name]
    assert "retry-after" not in raw.headers


def test_model_is_echoed(client: groq.Groq) -> None:
    completion = client.chat.completions.create(model="openai/gpt-oss-20b", messages=MESSAGES)
    assert completion.model == "openai/gpt-oss-20b"


def test_stream_parses_with_the_sdk(peer: GroqPeer, client: groq.Groq) -> None:
    chunks = list(create(client, stream=True))

    first, last = chunks[0], chunks[-1]
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert len({c.id for c in chunks}) == 1
    assert first.choices[0].delta.role == "assistant"
    assert first.choices[0].delta.content == ""
    assert first.x_groq is not None and first.x_groq.id and first.x_groq.usage is None
    assert all(c.choices[0].finish_reason is None for c in chunks[:-1])
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == DEFAULT_REPLY
    assert "".join(c.choices[0].delta.reasoning or "" for c in chunks) == REASONING_TEXT
    kinds = ["r" if c.choices[0].delta.reasoning else "c" for c in chunks[1:-1]]
    assert kinds == sorted(kinds, reverse=True)  # all the reasoning before any content
    content_chunks = kinds.count("c")

    assert last.choices[0].finish_reason == "stop"
    assert last.choices[0].delta.content is None
    assert last.x_groq is not None and last.x_groq.id == first.x_groq.id
    usage = last.x_groq.usage
    assert usage is not None
    assert usage.completion_tokens == REASONING_TOKENS["medium"] + content_chunks
    assert usage.completion_tokens_details is not None
    assert usage.completion_tokens_details.reasoning_tokens == REASONING_TOKENS["medium"]
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert peer.chat_requests[-1].stream


def test_stream_wire_format(peer: GroqPeer) -> None:
    body = {"model": DEFAULT_MODEL, "messages": MESSAGES, "stream": True}
    with (
        httpx.Client(base_url=peer.openai_base_url) as http,
        http.stream("POST", "/chat/completions", json=body) as response,
    ):
        assert response.headers["content-type"] == "text/event-stream"
        assert response.headers["transfer-encoding"] == "chunked"
        assert response.headers["x-request-id"].startswith("req_")
        text = response.read().decode()

    events = text.split("\n\n")
    assert events[-1] == ""
    assert events[-2] == "data: [DONE]"
    payloads = [json.loads(e.removeprefix("data: ")) for e in events[:-2]]
    assert all(e.startswith("data: {") for e in events[:-2])
    assert payloads[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert payloads[-1]["choices"][0]["delta"] == {}
    assert payloads[-1]["x_groq"]["id"] == response.headers["x-request-id"]
    assert set(payloads[-1]["x_groq"]["usage"]) == {
        "queue_time",
        "prompt_tokens",
        "prompt_time",
        "completion_tokens",
        "completion_time",
        "total_tokens",
        "total_time",
        "prompt_tokens_details",
        "completion_tokens_details",
    }
    assert payloads[-1]["choices"][0]["finish_reason"] == "stop"


def test_reply_is_configurable(peer: GroqPeer, client: groq.Groq) -> None:
    peer.reply = "plain text"
    assert create(client).choices[0].message.content == "plain text"

    seen: list[Any] = []

    def echo(request: Any) -> str:
        seen.append(request)
        return "echo: " + str(request["messages"][-1]["content"])

    peer.reply = echo
    assert create(client).choices[0].message.content == "echo: " + MESSAGES[-1]["content"]
    streamed = "".join(c.choices[0].delta.content or "" for c in create(client, stream=True))
    assert streamed == "echo: " + MESSAGES[-1]["content"]
    assert seen[0]["model"] == DEFAULT_MODEL


def test_requests_are_recorded(peer: GroqPeer, client: groq.Groq) -> None:
    create(client, temperature=0.2)
    client.models.list()

    assert peer.count(CHAT_PATH) == 1
    assert peer.count("/models") == 1
    assert peer.count("") == len(peer.requests) == 2
    chat, models = peer.requests
    assert (chat.method, chat.path) == ("POST", CHAT_PATH)
    assert chat.headers["authorization"] == "Bearer gsk_test"
    assert chat.headers["content-type"] == "application/json"
    assert chat.json["messages"] == MESSAGES
    assert chat.json["temperature"] == 0.2
    assert json.loads(chat.body) == chat.json  # the raw body too
    assert chat.model == DEFAULT_MODEL and not chat.stream
    assert (models.method, models.path, models.json) == ("GET", MODELS_PATH, None)


def test_models_list_and_retrieve(client: groq.Groq) -> None:
    listed = client.models.list()
    assert listed.object == "list"
    assert [m.id for m in listed.data] == [
        "openai/gpt-oss-120b",
        "openai/gpt-oss-20b",
        "qwen/qwen3.8-27b",
        "openai/gpt-oss-safeguard-20b",
    ]
    first = listed.data[0]
    assert first.id == DEFAULT_MODEL
    assert first.object == "model" and first.owned_by == "OpenAI" and first.created > 0
    extra = first.model_dump()
    assert extra["active"] is True and extra["context_window"] == 131072
    assert extra["max_completion_tokens"] == 65536

    qwen = client.models.retrieve("qwen/qwen3.8-27b")
    assert qwen.owned_by == "Alibaba Cloud"
    assert qwen.model_dump()["max_completion_tokens"] == 16384
    for gone in ("no-such-model", *RETIRED_MODELS):
        with pytest.raises(groq.NotFoundError) as caught:
            client.models.retrieve(gone)
        assert caught.value.body["error"]["code"] == "model_not_found"  # type: ignore[index]


def test_unknown_url_is_a_groq_shaped_404(peer: GroqPeer) -> None:
    response = httpx.get(peer.openai_base_url + "/nope")
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "invalid_request_error"


# ------------------------------------------------- models and reasoning (GROQ-TODAY.md, 2026-11-30)

QWEN = "qwen/qwen3.8-27b"


def bad_request(client: groq.Groq, **kwargs: Any) -> dict[str, Any]:
    """The error object of the 400 the peer answers ``create(**kwargs)`` with."""
    with pytest.raises(groq.BadRequestError) as caught:
        client.chat.completions.create(messages=MESSAGES, **{"model": DEFAULT_MODEL, **kwargs})
    body: Any = caught.value.body
    assert body["error"]["type"] == "invalid_request_error"
    return dict(body["error"])


@pytest.mark.parametrize("model", RETIRED_MODELS)
def test_a_retired_llama_is_not_found_without_scripting(client: groq.Groq, model: str) -> None:
    with pytest.raises(groq.NotFoundError) as caught:
        client.chat.completions.create(model=model, messages=MESSAGES)
    body: Any = caught.value.body
    assert body["error"] == {
        "message": f"The model `{model}` does not exist or you do not have access to it.",
        "type": "invalid_request_error",
        "code": "model_not_found",
    }


@pytest.mark.parametrize("model", DECOMMISSIONED_MODELS)
def test_a_2026_shutdown_is_decommissioned_without_scripting(client: groq.Groq, model: str) -> None:
    error = bad_request(client, model=model)
    assert error["code"] == "model_decommissioned"
    assert error["message"].startswith(f"The model `{model}` has been decommissioned")


def test_an_unknown_model_is_not_found(client: groq.Groq) -> None:
    with pytest.raises(groq.NotFoundError):
        client.chat.completions.create(model="meta-llama/llama-9-1t", messages=MESSAGES)


@pytest.mark.parametrize(
    ("effort", "spent"),
    [("low", 300), ("medium", 1500), ("high", 6000), (None, 1500)],
)
def test_reasoning_is_charged_by_effort(client: groq.Groq, effort: str | None, spent: int) -> None:
    extra = {} if effort is None else {"reasoning_effort": effort}
    completion = create(client, max_completion_tokens=8192, **extra)
    usage = completion.usage
    assert (
        usage.completion_tokens_details.reasoning_tokens
        == spent
        == REASONING_TOKENS[effort or "medium"]
    )
    assert usage.completion_tokens == spent + len(DEFAULT_REPLY.split())
    assert completion.choices[0].finish_reason == "stop"


@pytest.mark.parametrize("budget", [1, 1000, 1500])
def test_a_budget_the_reasoning_uses_up_leaves_an_empty_answer(
    client: groq.Groq, budget: int
) -> None:
    completion = create(client, max_completion_tokens=budget, include_reasoning=False)
    choice, usage = completion.choices[0], completion.usage
    assert (choice.message.content, choice.finish_reason) == ("", "length")
    assert usage.completion_tokens == usage.completion_tokens_details.reasoning_tokens == budget


def test_an_answer_longer_than_what_is_left_is_cut(peer: GroqPeer, client: groq.Groq) -> None:
    peer.reply = "one two three four five six"
    completion = create(client, reasoning_effort="low", max_completion_tokens=304)
    choice, usage = completion.choices[0], completion.usage
    assert (choice.message.content, choice.finish_reason) == ("one two three four", "length")
    assert usage.completion_tokens == 304
    assert usage.completion_tokens_details.reasoning_tokens == 300

    chunks = list(create(client, stream=True, reasoning_effort="low", max_tokens=304))
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "one two three four"
    assert chunks[-1].choices[0].finish_reason == "length"
    assert chunks[-1].x_groq.usage.completion_tokens == 304


def test_the_default_budget_is_the_models_maximum(peer: GroqPeer, client: groq.Groq) -> None:
    peer.reply = "word " * 20_000  # > 16384 - 1500 for qwen, < 65536 - 1500 for gpt-oss
    assert create(client).choices[0].finish_reason == "stop"
    qwen = client.chat.completions.create(model=QWEN, messages=MESSAGES, reasoning_format="hidden")
    assert qwen.choices[0].finish_reason == "length"
    assert qwen.usage is not None and qwen.usage.completion_tokens == 16384


def test_gpt_oss_with_include_reasoning_true_carries_message_reasoning(
    peer: GroqPeer, client: groq.Groq
) -> None:
    completion = create(client, include_reasoning=True)
    assert completion.choices[0].message.reasoning == REASONING_TEXT
    assert completion.choices[0].message.content == DEFAULT_REPLY


def test_gpt_oss_with_include_reasoning_false_leaves_it_out(peer: GroqPeer) -> None:
    body = {"model": DEFAULT_MODEL, "messages": MESSAGES, "include_reasoning": False}
    with httpx.Client(base_url=peer.openai_base_url) as http:
        message = http.post("/chat/completions", json=body).json()["choices"][0]["message"]
        assert message == {"role": "assistant", "content": DEFAULT_REPLY}
        text = http.post("/chat/completions", json={**body, "stream": True}).text
    assert '"reasoning"' not in text
    usage = json.loads(text.split("\n\n")[-3].removeprefix("data: "))["x_groq"]["usage"]
    assert usage["completion_tokens_details"] == {"reasoning_tokens": REASONING_TOKENS["medium"]}


def test_qwen_sends_raw_think_tags_in_the_content_by_default(client: groq.Groq) -> None:
    completion = client.chat.completions.create(model=QWEN, messages=MESSAGES)
    message = completion.choices[0].message
    assert message.content == f"<think>\n{REASONING_TEXT}\n</think>\n{DEFAULT_REPLY}"
    assert message.reasoning is None
    usage = completion.usage
    assert usage is not None and usage.completion_tokens_details is not None
    assert usage.completion_tokens_details.reasoning_tokens == 1500  # "default" is medium

    chunks = list(client.chat.completions.create(model=QWEN, messages=MESSAGES, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == message.content
    assert all(c.choices[0].delta.reasoning is None for c in chunks)


@pytest.mark.parametrize(
    ("options", "reasoning"),
    [
        ({"reasoning_format": "raw"}, None),
        ({"reasoning_format": "parsed"}, REASONING_TEXT),
        ({"include_reasoning": True}, REASONING_TEXT),
        ({"reasoning_format": "hidden"}, None),
        ({"include_reasoning": False}, None),
        ({"reasoning_effort": "none"}, None),
    ],
)
def test_qwen_reasoning_format(
    client: groq.Groq, options: dict[str, Any], reasoning: str | None
) -> None:
    completion = client.chat.completions.create(model=QWEN, messages=MESSAGES, **options)
    message = completion.choices[0].message
    assert message.reasoning == reasoning
    raw = options == {"reasoning_format": "raw"}
    assert message.content.startswith("<think>\n") is raw
    assert message.content.endswith(DEFAULT_REPLY)
    spent = 0 if options == {"reasoning_effort": "none"} else 1500
    assert completion.usage.completion_tokens_details.reasoning_tokens == spent


@pytest.mark.parametrize(
    ("request_", "param", "message"),
    [
        (
            {"reasoning_effort": "none"},
            "reasoning_effort",
            "`reasoning_effort` must be one of `low`, `medium` or `high`",
        ),
        (
            {"model": QWEN, "reasoning_effort": "max"},
            "reasoning_effort",
            "`reasoning_effort` must be one of `none`, `default`, `low`, `medium` or `high`",
        ),
        (
            {"reasoning_format": "hidden"},
            "reasoning_format",
            "`reasoning_format` is not supported with this model",
        ),
        (
            {"model": QWEN, "reasoning_format": "parsed", "include_reasoning": True},
            "include_reasoning",
            "`include_reasoning` and `reasoning_format` cannot be used together",
        ),
        (
            {"max_completion_tokens": 65537},
            "max_completion_tokens",
            "max_completion_tokens must be less than or equal to 65536, the maximum value for "
            "max_completion_tokens is less than the context_window for this model",
        ),
        (
            {"model": QWEN, "max_tokens": 16385},
            "max_tokens",
            "max_tokens must be less than or equal to 16384, the maximum value for max_tokens "
            "is less than the context_window for this model",
        ),
    ],
)
def test_what_groq_refuses(
    peer: GroqPeer, client: groq.Groq, request_: dict[str, Any], param: str, message: str
) -> None:
    error = bad_request(client, **request_)
    assert (error["param"], error["message"]) == (param, message)
    assert peer.chat_requests[-1].json == {"model": DEFAULT_MODEL, "messages": MESSAGES, **request_}


def test_cached_tokens_can_be_scripted(peer: GroqPeer, client: groq.Groq) -> None:
    peer.cached_tokens = 12
    assert create(client).usage.prompt_tokens_details.cached_tokens == 12
    peer.cached_tokens = 10_000
    usage = create(client).usage
    assert usage.prompt_tokens_details.cached_tokens == usage.prompt_tokens


# ------------------------------------------------------------------------------- faults


def test_429_raises_rate_limit_error_with_retry_after(peer: GroqPeer, client: groq.Groq) -> None:
    peer.script(status(429))
    with pytest.raises(groq.RateLimitError) as caught:
        create(client)
    error = caught.value
    assert error.status_code == 429
    assert error.response.headers["retry-after"] == "1"
    assert error.response.headers["x-ratelimit-remaining-tokens"] == "0"
    body: Any = error.body
    assert body["error"]["code"] == "rate_limit_exceeded"
    assert body["error"]["type"] == "tokens"
    assert body["error"]["message"].startswith(f"Rate limit reached for model `{DEFAULT_MODEL}`")

    # The fault is consumed: the next request gets the default success.
    assert create(client).choices[0].message.content == DEFAULT_REPLY


def test_rate_limited_retry_after_is_configurable(peer: GroqPeer, client: groq.Groq) -> None:
    peer.script(rate_limited(retry_after=7))
    with pytest.raises(groq.RateLimitError) as caught:
        create(client)
    assert caught.value.response.headers["retry-after"] == "7"


def test_503_raises_internal_server_error(peer: GroqPeer, client: groq.Groq) -> None:
    peer.script(unavailable())
    with pytest.raises(groq.InternalServerError) as caught:
        create(client)
    assert caught.value.status_code == 503
    assert caught.value.body == {
        "error": {"message": "Service Unavailable", "type": "internal_server_error"}
    }


def test_status_with_custom_body_and_headers(peer: GroqPeer, client: groq.Groq) -> None:
    peer.script(status(500, {"error": {"message": "boom"}}, {"x-extra": "1"}))
    with pytest.raises(groq.InternalServerError) as caught:
        create(client)
    assert caught.value.body == {"error": {"message": "boom"}}
    assert caught.value.response.headers["x-extra"] == "1"


def test_decommissioned_model_raises_bad_request(peer: GroqPeer, client: groq.Groq) -> None:
    peer.script(decommissioned("llama3-70b-8192"))
    with pytest.raises(groq.BadRequestError) as caught:
        create(client)
    body: Any = caught.value.body
    assert body["error"]["code"] == "model_decommissioned"
    assert body["error"]["type"] == "invalid_request_error"
    assert body["error"]["message"].startswith(
        "The model `llama3-70b-8192` has been decommissioned and is no longer supported."
    )


def test_model_not_found_raises_not_found(peer: GroqPeer, client: groq.Groq) -> None:
    peer.script(model_not_found("llama-9-1t"))
    with pytest.raises(groq.NotFoundError) as caught:
        create(client)
    body: Any = caught.value.body
    assert body["error"]["code"] == "model_not_found"
    assert "`llama-9-1t` does not exist" in body["error"]["message"]


def test_reset_raises_api_connection_error(peer: GroqPeer, client: groq.Groq) -> None:
    peer.script(reset(), reset(hard=False))

    with pytest.raises(groq.APIConnectionError) as hard:
        create(client)
    assert type(hard.value) is groq.APIConnectionError
    assert isinstance(hard.value.__cause__, httpx.ReadError)  # ECONNRESET

    with pytest.raises(groq.APIConnectionError) as soft:
        create(client)
    assert isinstance(soft.value.__cause__, httpx.RemoteProtocolError)
    assert "without sending a response" in str(soft.value.__cause__)


def test_reset_on_a_stream_request_fails_before_the_first_chunk(
    peer: GroqPeer, client: groq.Groq
) -> None:
    peer.script(reset())
    with pytest.raises(groq.APIConnectionError):
        create(client, stream=True)


def test_slow_answer_times_out(peer: GroqPeer, client: groq.Groq) -> None:
    peer.script(slow(5))
    started = time.monotonic()
    with pytest.raises(groq.APITimeoutError) as caught:
        create(client, timeout=0.2)
    assert time.monotonic() - started < 2
    assert isinstance(caught.value, groq.APIConnectionError)  # APITimeoutError subclasses it
    assert isinstance(caught.value.__cause__, httpx.ReadTimeout)


def test_slow_answer_within_the_timeout_succeeds(peer: GroqPeer, client: groq.Groq) -> None:
    peer.script(slow(0.05))
    assert create(client, timeout=5).choices[0].message.content == DEFAULT_REPLY


def test_malformed_json_raises_bare_json_decode_error(peer: GroqPeer, client: groq.Groq) -> None:
    peer.script(malformed())
    with pytest.raises(json.JSONDecodeError) as caught:
        create(client)
    assert not isinstance(caught.value, groq.GroqError)


def test_malformed_json_in_a_stream_raises_json_decode_error(
    peer: GroqPeer, client: groq.Groq
) -> None:
    peer.script(malformed())
    received: list[Any] = []
    with pytest.raises(json.JSONDecodeError):
        drain(client, received)
    assert len(received) == 1


def test_broken_stream_raises_raw_httpx_error_while_iterating(
    peer: GroqPeer, client: groq.Groq
) -> None:
    peer.script(broken_stream(after_chunks=2))
    received: list[Any] = []
    with pytest.raises(httpx.RemoteProtocolError) as caught:
        drain(client, received)
    assert not isinstance(caught.value, groq.GroqError)
    assert "incomplete chunked read" in str(caught.value)
    assert len(received) == 2
    assert received[0].choices[0].delta.role == "assistant"
    assert received[1].choices[0].delta.reasoning == REASONING_TEXT.split()[0]


def test_broken_stream_with_rst_raises_httpx_read_error(peer: GroqPeer, client: groq.Groq) -> None:
    peer.script(broken_stream(after_chunks=3, hard=True))
    received: list[Any] = []
    with pytest.raises(httpx.ReadError):
        drain(client, received)
    assert len(received) <= 3


def test_broken_stream_on_a_plain_request_is_a_connection_error(
    peer: GroqPeer, client: groq.Groq
) -> None:
    peer.script(broken_stream())
    with pytest.raises(groq.APIConnectionError) as caught:
        create(client)
    assert isinstance(caught.value.__cause__, httpx.RemoteProtocolError)


def test_faults_are_consumed_in_order_by_chat_requests_only(
    peer: GroqPeer, client: groq.Groq
) -> None:
    peer.script(status(429), unavailable())
    client.models.list()
    assert peer.pending == 2
    with pytest.raises(groq.RateLimitError):
        create(client)
    with pytest.raises(groq.InternalServerError):
        create(client)
    assert peer.pending == 0
    assert create(client).choices[0].message.content == DEFAULT_REPLY


def test_connection_survives_error_answers(peer: GroqPeer, client: groq.Groq) -> None:
    peer.script(status(429), unavailable(), decommissioned("old"))
    for _ in range(3):
        with pytest.raises(groq.APIStatusError):
            create(client)
    create(client)
    assert len({r.client for r in peer.requests}) == 1


# ------------------------------------------------------------------- transport behaviour


def test_httpx_keep_alive_across_many_sequential_requests(peer: GroqPeer) -> None:
    body = {"model": DEFAULT_MODEL, "messages": MESSAGES}
    with httpx.Client(base_url=peer.openai_base_url) as http:
        for _ in range(150):
            response = http.post("/chat/completions", json=body)
            assert response.status_code == 200
            assert response.json()["choices"][0]["message"]["content"] == DEFAULT_REPLY
        assert http.get("/models").status_code == 200
    assert peer.count(CHAT_PATH) == 150
    assert len({r.client for r in peer.requests}) == 1  # one connection reused throughout


def test_many_concurrent_requests_with_latency(peer: GroqPeer, client: groq.Groq) -> None:
    peer.latency = 0.1
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=64) as pool:
        results = list(pool.map(lambda _: create(client), range(64)))
    elapsed = time.monotonic() - started
    assert all(r.choices[0].message.content == DEFAULT_REPLY for r in results)
    assert elapsed < 2.0  # 6.4 s if the peer answered one at a time
    assert peer.count(CHAT_PATH) == 64


async def test_async_client_plain_and_stream(peer: GroqPeer) -> None:
    async with groq.AsyncGroq(base_url=peer.base_url, api_key="gsk_test", max_retries=0) as sdk:
        completion = await sdk.chat.completions.create(model=DEFAULT_MODEL, messages=MESSAGES)
        assert completion.choices[0].message.content == DEFAULT_REPLY
        stream = await sdk.chat.completions.create(
            model=DEFAULT_MODEL, messages=MESSAGES, stream=True
        )
        chunks = [chunk async for chunk in stream]
        assert "".join(c.choices[0].delta.content or "" for c in chunks) == DEFAULT_REPLY
        assert chunks[-1].x_groq is not None and chunks[-1].x_groq.usage is not None

        peer.script(broken_stream())
        stream = await sdk.chat.completions.create(
            model=DEFAULT_MODEL, messages=MESSAGES, stream=True
        )
        with pytest.raises(httpx.RemoteProtocolError):
            async for _ in stream:
                pass


def test_stop_is_prompt_even_with_a_request_sleeping() -> None:
    outcome: list[BaseException] = []
    peer = GroqPeer().start()
    port = peer.port
    peer.script(slow(25))
    sdk = groq.Groq(base_url=peer.base_url, api_key="gsk_test", max_retries=0, timeout=30)

    def call() -> None:
        try:
            create(sdk)
        except BaseException as exc:
            outcome.append(exc)

    caller = threading.Thread(target=call, daemon=True)
    caller.start()
    deadline = time.monotonic() + 2
    while peer.count(CHAT_PATH) == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    started = time.monotonic()
    peer.stop()
    caller.join(timeout=5)
    assert time.monotonic() - started < 2
    assert not caller.is_alive()
    assert outcome and isinstance(outcome[0], groq.APIConnectionError)
    sdk.close()

    peer.stop()  # idempotent
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/openai/v1/models")
