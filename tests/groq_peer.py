"""A local HTTP server that impersonates Groq's OpenAI-compatible API, for tests.

Pure standard library: ``http.server.ThreadingHTTPServer`` on 127.0.0.1 with a random free
port, served from a daemon thread. Point any client at ``peer.base_url``; the groq SDK
appends ``/openai/v1/...`` to its ``base_url`` itself::

    with GroqPeer() as peer:
        client = groq.Groq(base_url=peer.base_url, api_key="gsk_test", max_retries=0)
        peer.script(status(429), reset())        # the next two chat requests fail...
        client.chat.completions.create(...)      # ...then the default success comes back

Endpoints: ``POST /openai/v1/chat/completions`` (plain and ``"stream": true``),
``GET /openai/v1/models`` and ``GET /openai/v1/models/{id}``; anything else is a 404 in
Groq's error shape.

The Groq it plays is the one of /work/shared/GROQ-TODAY.md (per GROQ-TODAY.md, 2026-11-30)
------------------------------------------------------------------------------------------
* Served models (``MODELS``): ``openai/gpt-oss-120b`` (``DEFAULT_MODEL``) and
  ``openai/gpt-oss-20b`` in production, ``qwen/qwen3.8-27b`` and
  ``openai/gpt-oss-safeguard-20b`` in preview. ``RETIRED_MODELS`` (the llama models shut down
  for free and developer tiers on 2026-08-16) and any unknown id get a 404
  ``model_not_found``; ``DECOMMISSIONED_MODELS`` (the other 2026 shutdowns) a 400
  ``model_decommissioned`` - unscripted, like Groq.
* Every served model reasons, and the reasoning is paid out of the completion budget
  (``max_completion_tokens``, else the deprecated ``max_tokens``, else the model's maximum)
  before the answer: ``REASONING_TOKENS[effort]`` tokens, deterministically. A budget no larger
  than that spend leaves an empty answer with ``finish_reason "length"``; an answer longer than
  what remains is cut to it, also ``"length"``. Answer tokens are the peer's token-like pieces
  (a run of whitespace with the word after it - about one per word; one stream chunk each).
  ``usage.completion_tokens`` counts reasoning and answer; ``completion_tokens_details``
  gives ``reasoning_tokens``, ``prompt_tokens_details`` ``cached_tokens`` (``peer.cached_tokens``).
* Where the reasoning (``REASONING_TEXT``) comes back: gpt-oss in ``message.reasoning`` (a
  stream: ``delta.reasoning`` chunks before any content) unless ``include_reasoning: false``.
  Qwen: ``reasoning_format`` ``raw`` (its default) puts ``<think>...</think>\\n`` at the start
  of the content, ``parsed`` (or ``include_reasoning: true``) in ``message.reasoning``,
  ``hidden`` (or ``include_reasoning: false``) drops it; effort ``none`` does not reason.
* Refused with a 400 ``invalid_request_error`` (``_refusal``): an effort the model does not take
  (gpt-oss: low, medium, high; qwen: none, default, low, medium, high), ``reasoning_format``
  for gpt-oss, ``include_reasoning`` together with ``reasoning_format``, a token budget above
  the model's ``max_completion_tokens``. A request without ``model`` is answered as
  ``DEFAULT_MODEL``. Scripted faults come before all of this.

Where the wire format comes from
--------------------------------
* Chat completion / chunk shapes: the groq-python SDK types that the tests parse against
  (``groq/types/chat/chat_completion.py``, ``chat_completion_chunk.py``,
  ``completion_usage.py`` in groq 1.7.0, github.com/groq/groq-python). ``x_groq.id`` is
  ``req_...``; in a stream it comes in the first and the final chunk, and the final chunk
  (``delta: {}``, ``finish_reason``) carries ``x_groq.usage`` - the same usage object as a
  plain completion's ``usage``: ``queue_time, prompt_tokens, prompt_time, completion_tokens,
  completion_time, total_tokens, total_time, prompt_tokens_details,
  completion_tokens_details``. The stream ends with ``data: [DONE]``.
* Headers: Groq's rate-limit docs (console.groq.com/docs/rate-limits): every response carries
  ``x-ratelimit-limit-requests`` (RPD), ``x-ratelimit-limit-tokens`` (TPM),
  ``x-ratelimit-remaining-requests``, ``x-ratelimit-remaining-tokens``,
  ``x-ratelimit-reset-requests`` (e.g. ``2m59.56s``), ``x-ratelimit-reset-tokens``
  (e.g. ``7.66s``); ``retry-after`` (seconds) only on a 429. ``x-request-id`` carries the
  same ``req_...`` id as ``x_groq.id``; ``x-groq-region`` and ``cf-ray`` are the routing
  headers Groq's latency guide names.
* Error bodies: ``{"error": {"message", "type", "code"?, "param"?}}``
  (console.groq.com/docs/errors), with wording taken from real Groq answers quoted in public
  issue threads: 429 ``type "tokens"``, ``code "rate_limit_exceeded"``; 400
  ``model_decommissioned`` ("The model `X` has been decommissioned and is no longer supported.
  Please refer to https://console.groq.com/docs/deprecations ..."); 404 ``model_not_found``
  ("The model `X` does not exist or you do not have access to it."); 401 ``invalid_api_key``;
  400 "`reasoning_format` is not supported with this model", "`reasoning_effort` must be one
  of ...", "max_completion_tokens must be less than or equal to N, the maximum value for
  max_completion_tokens is less than the context_window for this model". The wording for
  ``include_reasoning`` with ``reasoning_format`` is the peer's own (not seen in a real answer).
  The 503 body (``"Service Unavailable"``, ``internal_server_error``) follows the message
  Groq streams on overload; Groq does not document its exact 5xx bodies.
* Models list: ``{"object": "list", "data": [{"id", "object": "model", "created",
  "owned_by", "active", "context_window", "public_apps", "max_completion_tokens"}]}`` as in
  the GET /openai/v1/models example of Groq's API reference.

Everything is bounded: sleeps (``slow()``, ``latency``) are capped at ``MAX_SLEEP`` and end at
once when the peer stops; idle keep-alive connections time out after
``http_peer.IDLE_TIMEOUT`` and are shut down when the peer stops.
"""

from __future__ import annotations

import json
import re
import secrets
import socket
import struct
import threading
import time
import urllib.parse
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from tests.http_peer import ConnectionBook, PeerHandler, PeerServer

__all__ = [
    "CHAT_PATH",
    "DECOMMISSIONED_MODELS",
    "DEFAULT_MODEL",
    "DEFAULT_REPLY",
    "MODELS",
    "MODELS_PATH",
    "REASONING_TEXT",
    "REASONING_TOKENS",
    "RETIRED_MODELS",
    "BrokenStream",
    "Fault",
    "GroqPeer",
    "Malformed",
    "RecordedRequest",
    "Reset",
    "Slow",
    "Status",
    "broken_stream",
    "chat_completion",
    "chat_completion_chunks",
    "decommissioned",
    "error_body",
    "malformed",
    "model_not_found",
    "rate_limited",
    "reset",
    "slow",
    "sse",
    "status",
    "unavailable",
    "usage",
]

CHAT_PATH = "/openai/v1/chat/completions"
MODELS_PATH = "/openai/v1/models"
DEFAULT_MODEL = "openai/gpt-oss-120b"
DEFAULT_REPLY = (
    "Here is the code:\n\n```python\ndef add(a, b):\n    return a + b\n```\n\nThat's it."
)
REASONING_TEXT = (
    "The user wants a direct answer. Work out what is asked, check the edge cases, then reply "
    "in the format the system message sets."
)
"""What the peer shows as the model's reasoning, whatever the effort (the charge differs)."""

MAX_SLEEP = 30.0
"""Upper bound, in seconds, of any sleep the peer does (``slow()``, ``latency``)."""

RATE_LIMIT_REQUESTS = 14400
RATE_LIMIT_TOKENS = 18000
SYSTEM_FINGERPRINT = "fp_9a8b91ba77"
REGION = "dls"


def _listed(
    model_id: str, created: int, owned_by: str, max_completion_tokens: int
) -> dict[str, Any]:
    return {
        "id": model_id,
        "object": "model",
        "created": created,
        "owned_by": owned_by,
        "active": True,
        "context_window": 131072,
        "public_apps": None,
        "max_completion_tokens": max_completion_tokens,
    }


MODELS: list[dict[str, Any]] = [
    _listed("openai/gpt-oss-120b", 1754408224, "OpenAI", 65536),
    _listed("openai/gpt-oss-20b", 1754407957, "OpenAI", 65536),
    _listed("qwen/qwen3.8-27b", 1787529600, "Alibaba Cloud", 16384),
    _listed("openai/gpt-oss-safeguard-20b", 1761696000, "OpenAI", 65536),
]
"""What GET /openai/v1/models lists (per GROQ-TODAY.md, 2026-11-30). The preview models'
``created`` and qwen's ``context_window`` are the peer's guesses; the rest is Groq's."""

RETIRED_MODELS = ("llama-3.3-70b-versatile", "llama-3.1-8b-instant")
"""Shut down 2026-08-16 for free and developer tiers: a 404 ``model_not_found``."""

DECOMMISSIONED_MODELS = (
    "qwen/qwen3-32b",
    "meta-llama/llama-4-scout-17b-16e-instruct",
    "meta-llama/llama-4-maverick-17b-128e-instruct",
    "moonshotai/kimi-k2-instruct-0905",
    "qwen/qwen3.6-27b",
    "groq/compound",
    "groq/compound-mini",
)
"""The other 2026 shutdowns: a 400 ``model_decommissioned``."""

REASONING_TOKENS: dict[str, int] = {"none": 0, "low": 300, "medium": 1500, "high": 6000}
"""Reasoning tokens the peer spends per ``reasoning_effort`` (qwen's ``default`` is ``medium``).
The peer's own round figures, in the range reported for gpt-oss (1,700-2,000 at medium)."""

_EFFORTS = {
    "gpt-oss": ("low", "medium", "high"),
    "qwen": ("none", "default", "low", "medium", "high"),
}
_DEFAULT_EFFORT = {"gpt-oss": "medium", "qwen": "default"}


# --------------------------------------------------------------------------- wire format

_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"
_TOKEN_RE = re.compile(r"\s*\S+|\s+")
_WORD_RE = re.compile(r"\w+|[^\w\s]")


def _dumps(payload: Any) -> bytes:
    """Compact JSON, as Groq sends it."""
    return json.dumps(payload, separators=(",", ":")).encode()


def _request_id() -> str:
    """A Groq request id: ``req_`` and 26 lowercase Crockford base-32 characters (a ULID)."""
    return "req_" + "".join(secrets.choice(_CROCKFORD) for _ in range(26))


def _completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4()}"


def _count_tokens(text: str) -> int:
    return len(_WORD_RE.findall(text))


def _prompt_tokens(request: dict[str, Any]) -> int:
    total = 0
    for message in request.get("messages") or []:
        total += 4
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            total += _count_tokens(content)
        elif isinstance(content, list):
            for part in content:
                if isinstance(part, dict) and isinstance(part.get("text"), str):
                    total += _count_tokens(part["text"])
    return max(total, 1)


def _pieces(text: str) -> list[str]:
    """Split text into token-like pieces whose concatenation is exactly ``text``."""
    return _TOKEN_RE.findall(text)


def _model_of(request: dict[str, Any]) -> str:
    model = request.get("model")
    return model if isinstance(model, str) else DEFAULT_MODEL


def _served(model: str) -> dict[str, Any] | None:
    """The ``MODELS`` entry of ``model``, None when Groq does not serve it."""
    return next((m for m in MODELS if m["id"] == model), None)


def _family(model: str) -> str:
    """``"qwen"`` for Qwen models, else ``"gpt-oss"`` (how each takes its reasoning options)."""
    return "qwen" if model.startswith("qwen/") else "gpt-oss"


def usage(
    prompt_tokens: int,
    completion_tokens: int,
    *,
    reasoning_tokens: int = 0,
    cached_tokens: int = 0,
) -> dict[str, Any]:
    """Groq's usage object (field order as Groq sends it), with plausible timings.

    ``completion_tokens`` includes ``reasoning_tokens`` (per GROQ-TODAY.md, 2026-11-30).
    """
    queue_time = 0.018427521
    prompt_time = round(prompt_tokens * 0.000061, 9)
    completion_time = round(completion_tokens / 276.0, 9)
    return {
        "queue_time": queue_time,
        "prompt_tokens": prompt_tokens,
        "prompt_time": prompt_time,
        "completion_tokens": completion_tokens,
        "completion_time": completion_time,
        "total_tokens": prompt_tokens + completion_tokens,
        "total_time": round(prompt_time + completion_time, 9),
        "prompt_tokens_details": {"cached_tokens": min(cached_tokens, prompt_tokens)},
        "completion_tokens_details": {"reasoning_tokens": reasoning_tokens},
    }


@dataclass(frozen=True)
class _Answer:
    """What a served model answers: visible reasoning, content, finish reason, usage."""

    reasoning: str | None  # message.reasoning (None: not returned)
    content: str  # message.content, a raw <think> block included
    finish_reason: str
    usage: dict[str, Any]


def _answer(request: dict[str, Any], text: str, cached_tokens: int = 0) -> _Answer:
    """Spend the reasoning, then fit ``text`` in what is left of the budget (see the module
    docstring). Assumes ``_refusal(request)`` found nothing to refuse."""
    model = _model_of(request)
    family = _family(model)
    served = _served(model)
    budget = request.get("max_completion_tokens") or request.get("max_tokens")
    if not isinstance(budget, int):
        budget = served["max_completion_tokens"] if served else 65536
    effort = request.get("reasoning_effort") or _DEFAULT_EFFORT[family]
    spend = REASONING_TOKENS.get(effort, REASONING_TOKENS["medium"])  # qwen's "default" too
    reasoning_tokens = max(min(spend, budget), 0)
    room = max(budget - reasoning_tokens, 0)
    pieces = _pieces(text)
    answer = "".join(pieces[:room])
    finish = "length" if budget <= spend or len(pieces) > room else "stop"

    include = request.get("include_reasoning")  # null is the same as absent
    shown: str | None = None
    content = answer
    if spend and include is not False:
        if family == "gpt-oss" or include or request.get("reasoning_format") == "parsed":
            shown = REASONING_TEXT
        elif request.get("reasoning_format") in (None, "raw"):
            content = f"<think>\n{REASONING_TEXT}\n</think>\n{answer}"
    use = usage(
        _prompt_tokens(request),
        reasoning_tokens + len(pieces[:room]),
        reasoning_tokens=reasoning_tokens,
        cached_tokens=cached_tokens,
    )
    return _Answer(shown, content, finish, use)


def chat_completion(
    request: dict[str, Any] | None,
    text: str,
    *,
    completion_id: str | None = None,
    request_id: str | None = None,
    created: int | None = None,
    cached_tokens: int = 0,
) -> dict[str, Any]:
    """The JSON body of a non-streamed Groq chat completion answering ``request`` with ``text``
    (reasoning, budget and usage as the module docstring describes)."""
    request = request or {}
    answer = _answer(request, text, cached_tokens)
    message: dict[str, Any] = {"role": "assistant", "content": answer.content}
    if answer.reasoning is not None:
        message["reasoning"] = answer.reasoning
    return {
        "id": completion_id or _completion_id(),
        "object": "chat.completion",
        "created": int(time.time()) if created is None else created,
        "model": _model_of(request),
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": answer.finish_reason,
            }
        ],
        "usage": answer.usage,
        "system_fingerprint": SYSTEM_FINGERPRINT,
        "x_groq": {"id": request_id or _request_id()},
    }


def chat_completion_chunks(
    request: dict[str, Any] | None,
    text: str,
    *,
    completion_id: str | None = None,
    request_id: str | None = None,
    created: int | None = None,
    cached_tokens: int = 0,
) -> list[dict[str, Any]]:
    """The ``chat.completion.chunk`` objects of a streamed Groq answer to ``request``.

    First chunk: ``delta {role: assistant, content: ""}`` and ``x_groq.id``; then one
    ``delta.reasoning`` chunk per token-like piece of the visible reasoning, then one
    ``delta.content`` chunk per piece of the content; last chunk: ``delta {}``, the
    ``finish_reason`` and ``x_groq`` with ``id`` and ``usage``.
    """
    request = request or {}
    answer = _answer(request, text, cached_tokens)
    model = _model_of(request)
    cid = completion_id or _completion_id()
    rid = request_id or _request_id()
    ts = int(time.time()) if created is None else created

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        return {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": ts,
            "model": model,
            "system_fingerprint": SYSTEM_FINGERPRINT,
            "choices": [
                {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
            ],
        }

    first = chunk({"role": "assistant", "content": ""})
    first["x_groq"] = {"id": rid}
    chunks = [first]
    chunks.extend(chunk({"reasoning": piece}) for piece in _pieces(answer.reasoning or ""))
    chunks.extend(chunk({"content": piece}) for piece in _pieces(answer.content))
    last = chunk({}, answer.finish_reason)
    last["x_groq"] = {"id": rid, "usage": answer.usage}
    chunks.append(last)
    return chunks


def sse(chunks: Iterable[dict[str, Any]], *, done: bool = True) -> bytes:
    """Server-sent-events text for ``chunks`` (``data: {json}\\n\\n`` each, then ``[DONE]``)."""
    events = [b"data: " + _dumps(c) + b"\n\n" for c in chunks]
    if done:
        events.append(b"data: [DONE]\n\n")
    return b"".join(events)


def error_body(code: int, model: str = DEFAULT_MODEL) -> dict[str, Any]:
    """Groq's error body for an HTTP status ``code`` (about ``model`` where it names one)."""
    if code == 400:
        return {"error": {"message": "Bad Request", "type": "invalid_request_error"}}
    if code == 401:
        return {
            "error": {
                "message": "Invalid API Key",
                "type": "invalid_request_error",
                "code": "invalid_api_key",
            }
        }
    if code == 404:
        return _model_not_found_body(model)
    if code == 429:
        return {
            "error": {
                "message": (
                    f"Rate limit reached for model `{model}` in organization "
                    "`org_01hs26sgxde6dva0eke39336sv` service tier `on_demand` on tokens per "
                    "minute (TPM): Limit 12000, Used 11562, Requested 1443. Please try again "
                    "in 5.025s. Need more tokens? Upgrade to Dev Tier today at "
                    "https://console.groq.com/settings/billing"
                ),
                "type": "tokens",
                "code": "rate_limit_exceeded",
            }
        }
    if code == 503:
        return {"error": {"message": "Service Unavailable", "type": "internal_server_error"}}
    if code >= 500:
        return {
            "error": {
                "message": "Internal Server Error",
                "type": "internal_server_error",
            }
        }
    return {"error": {"message": f"HTTP {code}", "type": "invalid_request_error"}}


def _decommissioned_body(model: str) -> dict[str, Any]:
    return {
        "error": {
            "message": (
                f"The model `{model}` has been decommissioned and is no longer supported. "
                "Please refer to https://console.groq.com/docs/deprecations for a "
                "recommendation on which model to use instead."
            ),
            "type": "invalid_request_error",
            "code": "model_decommissioned",
        }
    }


def _model_not_found_body(model: str) -> dict[str, Any]:
    return {
        "error": {
            "message": f"The model `{model}` does not exist or you do not have access to it.",
            "type": "invalid_request_error",
            "code": "model_not_found",
        }
    }


def _invalid(message: str, param: str) -> tuple[int, dict[str, Any]]:
    return 400, {"error": {"message": message, "type": "invalid_request_error", "param": param}}


def _one_of(values: Iterable[str]) -> str:
    quoted = [f"`{v}`" for v in values]
    return ", ".join(quoted[:-1]) + " or " + quoted[-1]


def _refusal(request: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
    """The status and body Groq refuses ``request`` with, or None when it would answer."""
    model = _model_of(request)
    if model in DECOMMISSIONED_MODELS:
        return 400, _decommissioned_body(model)
    served = _served(model)
    if served is None:  # RETIRED_MODELS and any id Groq never served
        return 404, _model_not_found_body(model)
    family = _family(model)
    effort = request.get("reasoning_effort")
    reasoning_format = request.get("reasoning_format")
    include = request.get("include_reasoning")
    if effort is not None and effort not in _EFFORTS[family]:
        return _invalid(
            f"`reasoning_effort` must be one of {_one_of(_EFFORTS[family])}", "reasoning_effort"
        )
    if reasoning_format is not None and include is not None:
        return _invalid(
            "`include_reasoning` and `reasoning_format` cannot be used together",
            "include_reasoning",
        )
    if reasoning_format is not None and family == "gpt-oss":
        return _invalid("`reasoning_format` is not supported with this model", "reasoning_format")
    limit = served["max_completion_tokens"]
    for name in ("max_completion_tokens", "max_tokens"):
        budget = request.get(name)
        if budget is None:
            continue
        if not isinstance(budget, int) or isinstance(budget, bool) or budget < 1:
            return _invalid(f"`{name}` must be a positive integer", name)
        if budget > limit:
            return _invalid(
                f"{name} must be less than or equal to {limit}, the maximum value for {name} "
                "is less than the context_window for this model",
                name,
            )
    return None


# ---------------------------------------------------------------------------- recording


@dataclass
class RecordedRequest:
    """One request the peer received."""

    method: str
    path: str
    headers: dict[str, str]
    json: Any
    body: bytes = b""
    client: tuple[str, int] = ("", 0)
    at: float = field(default_factory=time.monotonic)

    @property
    def stream(self) -> bool:
        """Whether this is a chat request asking for a streamed answer."""
        return isinstance(self.json, dict) and self.json.get("stream") is True

    @property
    def model(self) -> str:
        """The ``model`` of the request body (the default model when there is none)."""
        if isinstance(self.json, dict) and isinstance(self.json.get("model"), str):
            return str(self.json["model"])
        return DEFAULT_MODEL


# ------------------------------------------------------------------------------- faults


class Fault:
    """A scripted misbehaviour applied to one chat-completion request."""

    def apply(self, h: _Handler, request: RecordedRequest) -> None:
        raise NotImplementedError


@dataclass
class Status(Fault):
    """Answer with HTTP ``code``; ``body`` (dict, str or bytes) defaults to Groq's error body."""

    code: int
    body: dict[str, Any] | str | bytes | None = None
    headers: dict[str, str] | None = None

    def apply(self, h: _Handler, request: RecordedRequest) -> None:
        body = error_body(self.code, request.model) if self.body is None else self.body
        headers: dict[str, str] = {}
        if self.code == 429:
            headers["retry-after"] = "1"
        headers.update(self.headers or {})
        h.send_body(self.code, body, headers, tokens_left=0 if self.code == 429 else None)


@dataclass
class Reset(Fault):
    """Read the request, then close the connection without a response.

    ``hard=True`` sends a TCP RST (client sees "connection reset by peer");
    ``hard=False`` a plain FIN (client sees "server disconnected without a response").
    """

    hard: bool = True

    def apply(self, h: _Handler, request: RecordedRequest) -> None:
        h.abort(hard=self.hard)


@dataclass
class Slow(Fault):
    """Wait ``seconds`` (at most ``MAX_SLEEP``; cut short when the peer stops), then answer."""

    seconds: float

    def apply(self, h: _Handler, request: RecordedRequest) -> None:
        if h.peer.sleep(self.seconds):
            h.answer_chat(request)
        else:
            h.abort(hard=False)


@dataclass
class Malformed(Fault):
    """200 with a truncated (invalid) JSON document, framed correctly at the HTTP level.

    Plain request: ``content-type: application/json`` and half a chat completion as the body.
    Streamed request: a valid first chunk, then a ``data:`` event holding half a chunk, then
    ``[DONE]``.
    """

    def apply(self, h: _Handler, request: RecordedRequest) -> None:
        text = h.peer.reply_for(request)
        if not request.stream:
            full = _dumps(chat_completion(request.json, text, request_id=h.request_id))
            h.send_body(200, full[: len(full) // 2], {})
            return
        first, second = chat_completion_chunks(request.json, text, request_id=h.request_id)[:2]
        broken = _dumps(second)
        h.send_head(200, "text/event-stream", {"transfer-encoding": "chunked"})
        h.write_chunk(sse([first], done=False))
        h.write_chunk(b"data: " + broken[: len(broken) // 2] + b"\n\n")
        h.write_chunk(b"data: [DONE]\n\n")
        h.write(b"0\r\n\r\n")
        h.reset_request_id()


@dataclass
class BrokenStream(Fault):
    """Send ``after_chunks`` valid SSE chunks, then drop the connection mid-body.

    No final chunk, no ``[DONE]``, no terminating zero-length HTTP chunk. ``hard=True`` ends
    with a TCP RST instead of a FIN. For a non-streamed request the JSON body is cut short of
    its ``Content-Length`` instead.
    """

    after_chunks: int = 2
    hard: bool = False

    def apply(self, h: _Handler, request: RecordedRequest) -> None:
        text = h.peer.reply_for(request)
        if not request.stream:
            full = _dumps(chat_completion(request.json, text, request_id=h.request_id))
            h.send_head(200, "application/json", {"content-length": str(len(full))})
            h.write(full[: len(full) // 2])
            h.abort(hard=self.hard)
            return
        chunks = chat_completion_chunks(request.json, text, request_id=h.request_id)
        chunks = chunks[: max(self.after_chunks, 0)]
        h.send_head(200, "text/event-stream", {"transfer-encoding": "chunked"})
        for event in chunks:
            h.write_chunk(sse([event], done=False))
        h.abort(hard=self.hard)


def status(
    code: int,
    body: dict[str, Any] | str | bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Status:
    """HTTP ``code`` with Groq's error body for it (429 adds ``retry-after: 1``)."""
    return Status(code, body, headers)


def rate_limited(retry_after: float = 1) -> Status:
    """Groq's 429 ``rate_limit_exceeded`` (type ``tokens``) with ``retry-after``."""
    value = str(int(retry_after)) if float(retry_after).is_integer() else str(retry_after)
    return Status(429, None, {"retry-after": value})


def unavailable() -> Status:
    """503 Service Unavailable (``internal_server_error``)."""
    return Status(503)


def decommissioned(model: str = "llama3-70b-8192") -> Status:
    """Groq's 400 ``model_decommissioned`` answer for ``model``."""
    return Status(400, _decommissioned_body(model))


def model_not_found(model: str = "llama-3.1-405b-reasoning") -> Status:
    """Groq's 404 ``model_not_found`` answer for ``model``."""
    return Status(404, _model_not_found_body(model))


def reset(*, hard: bool = True) -> Reset:
    """Close the connection without any response (RST when ``hard``, else FIN)."""
    return Reset(hard)


def slow(seconds: float) -> Slow:
    """Answer normally after ``seconds`` (bounded by ``MAX_SLEEP``)."""
    return Slow(seconds)


def malformed() -> Malformed:
    """A 200 JSON answer whose body is truncated, invalid JSON."""
    return Malformed()


def broken_stream(after_chunks: int = 2, *, hard: bool = False) -> BrokenStream:
    """Stream ``after_chunks`` chunks, then drop the connection."""
    return BrokenStream(after_chunks, hard)


# ------------------------------------------------------------------------------ server


class _Server(PeerServer):
    peer: GroqPeer


class _Handler(PeerHandler):
    server: _Server
    _current_rid: str | None = None

    @property
    def peer(self) -> GroqPeer:
        return self.server.peer

    # -- request side

    def _dispatch(self) -> None:
        try:
            body = self._read_body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        try:
            parsed: Any = json.loads(body) if body else None
        except ValueError:
            parsed = None
        path = self.path.split("?", 1)[0]
        request = RecordedRequest(
            method=self.command,
            path=path,
            headers={k.lower(): v for k, v in self.headers.items()},
            json=parsed,
            body=body,
            client=(str(self.client_address[0]), int(self.client_address[1])),
        )
        self.peer._record(request)
        try:
            self._route(request)
        except OSError:
            self.close_connection = True

    def _route(self, request: RecordedRequest) -> None:
        method, path = request.method, request.path
        if path == CHAT_PATH:
            if method != "POST":
                self.send_body(405, _unknown_url(method, path), {})
            elif not isinstance(request.json, dict):
                self.send_body(
                    400,
                    {
                        "error": {
                            "message": "We could not parse the JSON body of your request.",
                            "type": "invalid_request_error",
                        }
                    },
                    {},
                )
            else:
                self._chat(request)
        elif path == MODELS_PATH and method == "GET":
            self.send_body(200, {"object": "list", "data": MODELS}, {})
        elif path.startswith(MODELS_PATH + "/") and method == "GET":
            model_id = urllib.parse.unquote(path[len(MODELS_PATH) + 1 :])
            found = _served(model_id)
            if found is None:
                self.send_body(404, _model_not_found_body(model_id), {})
            else:
                self.send_body(200, found, {})
        else:
            self.send_body(404, _unknown_url(method, path), {})

    def _chat(self, request: RecordedRequest) -> None:
        latency = self.peer.latency
        if latency and not self.peer.sleep(latency):
            self.abort(hard=False)
            return
        fault = self.peer._next_fault()
        if fault is None:
            self.answer_chat(request)
        else:
            fault.apply(self, request)

    # -- response side (used by faults)

    def _common_headers(
        self, tokens_used: int = 0, tokens_left: int | None = None
    ) -> dict[str, str]:
        n = self.peer.chat_count
        remaining_tokens = (
            max(RATE_LIMIT_TOKENS - tokens_used, 0) if tokens_left is None else tokens_left
        )
        return {
            "x-groq-region": REGION,
            "x-ratelimit-limit-requests": str(RATE_LIMIT_REQUESTS),
            "x-ratelimit-limit-tokens": str(RATE_LIMIT_TOKENS),
            "x-ratelimit-remaining-requests": str(max(RATE_LIMIT_REQUESTS - n, 0)),
            "x-ratelimit-remaining-tokens": str(remaining_tokens),
            "x-ratelimit-reset-requests": "2m59.56s",
            "x-ratelimit-reset-tokens": "7.66s",
            "x-request-id": self.request_id,
            "cf-ray": f"{secrets.token_hex(8)}-DFW",
        }

    def reset_request_id(self) -> None:
        """Forget this response's request id (the next response on the connection gets one)."""
        self._current_rid = None

    @property
    def request_id(self) -> str:
        """The ``req_...`` id of the response being written (``x-request-id``, ``x_groq.id``)."""
        rid = self._current_rid
        if rid is None:
            rid = _request_id()
            self._current_rid = rid
        return rid

    def send_head(
        self,
        code: int,
        content_type: str,
        headers: dict[str, str],
        *,
        tokens_used: int = 0,
        tokens_left: int | None = None,
    ) -> None:
        """Status line and headers: Groq's common headers, then ``headers`` over them."""
        self.send_response(code)
        merged = {"content-type": content_type}
        merged.update(self._common_headers(tokens_used, tokens_left))
        merged.update(headers)
        for name, value in merged.items():
            self.send_header(name, value)
        self.end_headers()

    def write(self, data: bytes) -> None:
        self.wfile.write(data)
        self.wfile.flush()

    def write_chunk(self, data: bytes) -> None:
        """One HTTP/1.1 chunk of a ``Transfer-Encoding: chunked`` body."""
        if data:
            self.write(b"%x\r\n%s\r\n" % (len(data), data))

    def send_body(
        self,
        code: int,
        body: dict[str, Any] | list[Any] | str | bytes,
        headers: dict[str, str],
        *,
        tokens_used: int = 0,
        tokens_left: int | None = None,
    ) -> None:
        """A complete response with ``Content-Length`` (dicts and lists are sent as JSON)."""
        if isinstance(body, (dict, list)):
            data = _dumps(body)
        elif isinstance(body, str):
            data = body.encode()
        else:
            data = body
        all_headers = {"content-length": str(len(data))}
        all_headers.update(headers)
        content_type = all_headers.pop("content-type", "application/json")
        self.send_head(
            code, content_type, all_headers, tokens_used=tokens_used, tokens_left=tokens_left
        )
        self.write(data)
        self.reset_request_id()

    def answer_chat(self, request: RecordedRequest) -> None:
        """Groq's answer: a refusal (see ``_refusal``), else success, plain or streamed."""
        refused = _refusal(request.json)
        if refused is not None:
            self.send_body(*refused, {})
            return
        text = self.peer.reply_for(request)
        rid = self.request_id
        cached = self.peer.cached_tokens
        if not request.stream:
            payload = chat_completion(request.json, text, request_id=rid, cached_tokens=cached)
            self.send_body(200, payload, {}, tokens_used=payload["usage"]["total_tokens"])
            return
        chunks = chat_completion_chunks(request.json, text, request_id=rid, cached_tokens=cached)
        total = chunks[-1]["x_groq"]["usage"]["total_tokens"]
        self.send_head(
            200,
            "text/event-stream",
            {"transfer-encoding": "chunked"},
            tokens_used=total,
        )
        for event in chunks:
            self.write_chunk(sse([event], done=False))
        self.write_chunk(b"data: [DONE]\n\n")
        self.write(b"0\r\n\r\n")
        self.reset_request_id()

    def abort(self, *, hard: bool) -> None:
        """Drop the connection now, without (the rest of) a response."""
        self.close_connection = True
        self.reset_request_id()
        if hard:
            try:
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
            except OSError:
                return
            self.peer._mark_rst(self.connection)


def _unknown_url(method: str, path: str) -> dict[str, Any]:
    return {
        "error": {
            "message": f"Unknown request URL: {method} {path}. Please check the URL for typos, "
            "or see the docs at https://console.groq.com/docs/",
            "type": "invalid_request_error",
            "code": "unknown_url",
        }
    }


class GroqPeer(ConnectionBook):
    """A local stand-in for Groq's API; use as a context manager (or ``start()``/``stop()``).

    Attributes:
        reply: the assistant's answer text, or ``callable(request_json) -> str`` (reasoning
            is spent and shown around it, and it is cut to the budget; see the module docstring).
        latency: seconds to wait before every chat answer (bounded by ``MAX_SLEEP``).
        cached_tokens: the ``prompt_tokens_details.cached_tokens`` to report (at most the
            prompt's tokens).
        requests: every request received, in arrival order (``json``: the parsed body,
            ``body``: its raw bytes).
    """

    def __init__(
        self,
        reply: str | Callable[[Any], str] = DEFAULT_REPLY,
        *,
        latency: float = 0.0,
    ) -> None:
        self.reply: str | Callable[[Any], str] = reply
        self.latency = latency
        self.cached_tokens = 0
        self.requests: list[RecordedRequest] = []
        self.chat_count = 0  # kept as requests arrive: headers need it on every answer
        self._faults: deque[Fault] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._rst: set[socket.socket] = set()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle

    def start(self) -> GroqPeer:
        """Bind 127.0.0.1 on a free port and serve from a daemon thread."""
        if self._server is None:
            self._serve(_Server, _Handler, "groq-peer")
        return self

    def stop(self) -> None:
        """Stop serving: end sleeps, close open connections, close the socket (idempotent)."""
        self._shutdown()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` - the groq SDK's ``base_url``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def openai_base_url(self) -> str:
        """``http://127.0.0.1:PORT/openai/v1`` - for OpenAI-style clients."""
        return self.base_url + "/openai/v1"

    # -- scripting

    def script(self, *faults: Fault) -> None:
        """Queue faults; each chat-completion request consumes one before the default success."""
        with self._lock:
            self._faults.extend(faults)

    @property
    def pending(self) -> int:
        """How many scripted faults are still queued."""
        with self._lock:
            return len(self._faults)

    def reply_for(self, request: RecordedRequest) -> str:
        """The reply text for ``request`` (calls ``reply`` when it is callable)."""
        reply = self.reply
        return reply(request.json) if callable(reply) else reply

    def sleep(self, seconds: float) -> bool:
        """Sleep at most ``MAX_SLEEP``; False if the peer stopped meanwhile."""
        return not self._stopping.wait(max(0.0, min(float(seconds), MAX_SLEEP)))

    # -- recording

    def count(self, path_suffix: str = "") -> int:
        """How many requests had a path ending with ``path_suffix``."""
        with self._lock:
            return sum(1 for r in self.requests if r.path.endswith(path_suffix))

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        """The chat-completion requests received so far."""
        with self._lock:
            return [r for r in self.requests if r.path == CHAT_PATH]

    # -- internals used by the handler

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)
            if request.path == CHAT_PATH:
                self.chat_count += 1

    def _next_fault(self) -> Fault | None:
        with self._lock:
            return self._faults.popleft() if self._faults else None
