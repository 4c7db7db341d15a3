"""A local HTTP server that impersonates Groq's OpenAI-compatible API, for tests.

Pure standard library: ``http.server.ThreadingHTTPServer`` on 127.0.0.1 with a random free
port, served from a daemon thread. Point any client at ``peer.base_url``; the groq SDK
appends ``/openai/v1/...`` to its ``base_url`` itself::

    with GroqPeer() as peer:
        client = groq.Groq(base_url=peer.base_url, api_key="gsk_test", max_retries=0)
        peer.script(status(429), reset())        # the next two chat requests fail...
        client.chat.completions.create(...)      # ...then the default success comes back

Endpoints: ``POST /openai/v1/chat/completions`` (plain and ``"stream": true``),
``GET /openai/v1/models`` and ``GET /openai/v1/models/{id}``; the Batch API's
``POST``/``GET /openai/v1/files``, ``GET /openai/v1/files/{id}`` and ``.../{id}/content``,
``POST``/``GET /openai/v1/batches``, ``GET /openai/v1/batches/{id}`` and
``POST .../{id}/cancel``; anything else is a 404 in Groq's error shape.

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

The Batch API it plays (per GROQ-TODAY.md "Batch API", 2026-11-30)
-------------------------------------------------------------------
Only what groqgen sends: uploads, batch creation, retrieval, listing, cancelling, downloads.

* Upload: ``multipart/form-data`` with ``file`` and ``purpose=batch`` (the groq SDK's
  ``files.create``); a file over ``peer.batch_max_bytes`` (``BATCH_MAX_BYTES``, 100 MB) is a
  400. The answer is Groq's file object (``id`` ``file_...``, ``object``, ``bytes``,
  ``created_at``, ``filename``, ``purpose``), as typed by groq 1.7.0's ``FileCreateResponse``.
* Create: ``input_file_id``, ``endpoint`` (only ``/v1/chat/completions``),
  ``completion_window`` (``24h`` to ``7d``, else a 400) and ``metadata``; the batch object
  (``id`` ``batch_...``, ``status``, ``request_counts {total, completed, failed}``,
  ``output_file_id``, ``error_file_id``, ``errors``, the ``*_at`` stamps, ``metadata``) as
  typed by groq 1.7.0's ``BatchRetrieveResponse``. It starts ``validating``; each retrieval
  moves it on by its :class:`BatchScript` (queued with ``script_batches``; unscripted, it
  completes at its first retrieval). An input file with a line that is not a
  ``{"custom_id", "method": "POST", "url": "/v1/chat/completions", "body"}`` object, a
  ``custom_id`` used twice, or more than ``peer.batch_max_lines`` (``BATCH_MAX_LINES``,
  50,000) lines fails validation: status ``failed`` with ``errors.data`` (``code``,
  ``message``, ``line``; the wording is the peer's own).
* Each line is answered as the synchronous endpoint answers the same body (reasoning, budget,
  refusals above): a 200 goes to the output file as ``{"id": "batch_req_...", "custom_id",
  "response": {"status_code": 200, "request_id", "body": <chat.completion>}, "error": null}``,
  a refusal (a retired model's 404, a budget over the model's maximum, ...) and a scripted
  500 (``fails_lines``) to the error file with that status and Groq's error body. A request
  the window did not reach (``expires_half_done``) goes to the error file as ``"response":
  null, "error": {"code": "batch_expired", "message": EXPIRED_MESSAGE}`` - the shape of
  OpenAI's Batch API, which Groq's follows; Groq does not document the expired line itself.
  A cancelled batch (``runs_until_cancelled``) keeps what ran; the rest appears in no file.
* Results come in reverse input order (Groq promises none), with ids derived from the batch
  and the line, so every download of a file says the same thing. Downloads are streamed
  (chunked, ``application/octet-stream``) and made as they are read, so a 50,000-line output
  costs the peer no memory; ``breaks_download`` cuts one off half-way (the client sees the
  connection close mid-body).
* Faults for these endpoints are queued per method and path (``script_api``); ``dropped()``
  carries a request out and then drops the connection unanswered, as a lost answer does.

Everything is bounded: sleeps (``slow()``, ``latency``) are capped at ``MAX_SLEEP`` and end at
once when the peer stops; idle keep-alive connections time out after
``http_peer.IDLE_TIMEOUT`` and are shut down when the peer stops.
"""

from __future__ import annotations

import functools
import hashlib
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
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from tests.http_peer import ConnectionBook, PeerHandler, PeerServer

__all__ = [
    "BATCHES_PATH",
    "BATCH_MAX_BYTES",
    "BATCH_MAX_LINES",
    "CHAT_PATH",
    "DECOMMISSIONED_MODELS",
    "DEFAULT_MODEL",
    "DEFAULT_REPLY",
    "EXPIRED_MESSAGE",
    "FILES_PATH",
    "MODELS",
    "MODELS_PATH",
    "REASONING_TEXT",
    "REASONING_TOKENS",
    "RETIRED_MODELS",
    "BatchScript",
    "BrokenStream",
    "Dropped",
    "Fault",
    "GroqPeer",
    "Malformed",
    "PeerBatch",
    "PeerFile",
    "RecordedRequest",
    "Reset",
    "Slow",
    "Status",
    "breaks_download",
    "broken_stream",
    "chat_completion",
    "chat_completion_chunks",
    "completes",
    "decommissioned",
    "dropped",
    "error_body",
    "expires_half_done",
    "fails_lines",
    "malformed",
    "model_not_found",
    "rate_limited",
    "reset",
    "runs_until_cancelled",
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


@dataclass
class Dropped(Fault):
    """Carry a files or batches request out (the file kept, the batch made), then drop the
    connection unanswered (RST): the client cannot tell that it was accepted."""

    def apply(self, h: _Handler, request: RecordedRequest) -> None:
        h.answer_api(request, send=False)
        h.abort(hard=True)


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


def dropped() -> Dropped:
    """Accept a files or batches request, then drop the connection without answering."""
    return Dropped()


# -------------------------------------------------------------------- files and batches

FILES_PATH = "/openai/v1/files"
BATCHES_PATH = "/openai/v1/batches"
BATCH_ENDPOINT = "/v1/chat/completions"
BATCH_MAX_LINES = 50_000
"""Most requests one batch's input file may hold (per GROQ-TODAY.md, 2026-11-30)."""
BATCH_MAX_BYTES = 100 * 1024 * 1024
"""Largest input file, in bytes ("100 MB", per GROQ-TODAY.md, 2026-11-30)."""
EXPIRED_MESSAGE = "This request could not be executed before the completion window expired."
"""The error of a request a batch did not reach before it expired (the peer's wording)."""
BATCH_TERMINAL = ("completed", "failed", "expired", "cancelled")

_OK, _REFUSED, _FAILING, _EXPIRED, _NOT_RUN = range(5)  # what became of one line of a batch
_WINDOW = re.compile(r"^(\d+)(h|d)$")


@dataclass(frozen=True)
class BatchScript:
    """How the peer runs one batch (see :meth:`GroqPeer.script_batches`).

    ``polls``: retrievals answered ``in_progress`` before the batch ends. ``end``:
    ``"completed"``, ``"expired"`` (``done`` of its lines answered, the rest ``batch_expired``
    in the error file) or ``"in_progress"`` (runs until it is cancelled; then ``done`` of it is
    answered and the rest never runs). ``failing``: line numbers (from 0) answered with a 500
    in the error file. ``broken_downloads``: how many downloads of the output file break off
    half-way.
    """

    polls: int = 0
    end: str = "completed"
    done: float = 1.0
    failing: frozenset[int] = frozenset()
    broken_downloads: int = 0


def completes(*, polls: int = 0) -> BatchScript:
    """A batch that completes after ``polls`` retrievals in progress."""
    return BatchScript(polls=polls)


def expires_half_done(*, polls: int = 0) -> BatchScript:
    """A batch whose window runs out with half of its lines answered."""
    return BatchScript(polls=polls, end="expired", done=0.5)


def fails_lines(*lines: int) -> BatchScript:
    """A batch that completes, with these lines (from 0) failed by a 500."""
    return BatchScript(failing=frozenset(lines))


def runs_until_cancelled(*, done: float = 0.5) -> BatchScript:
    """A batch that stays in progress until cancelled; ``done`` of it is answered by then."""
    return BatchScript(end="in_progress", done=done)


def breaks_download(times: int = 1) -> BatchScript:
    """A batch that completes, whose output download breaks off half-way ``times`` times."""
    return BatchScript(broken_downloads=times)


def _stable_id(prefix: str, *parts: object) -> str:
    """An id in Groq's shape (``prefix`` + 26 Crockford characters) that ``parts`` decide.

    A batch's output says the same thing on every download, as Groq's stored file does.
    """
    digest = hashlib.sha256("\x00".join(map(str, (prefix, *parts))).encode()).digest()
    number = int.from_bytes(digest[:17], "big")
    chars = []
    for _ in range(26):
        number, rest = divmod(number, 32)
        chars.append(_CROCKFORD[rest])
    return prefix + "".join(chars)


@dataclass
class PeerFile:
    """A file the peer holds: an upload (``data``), or a batch's output or errors (``lines``)."""

    id: str
    filename: str
    purpose: str
    created_at: int
    data: bytes = b""
    lines: Callable[[], Iterator[bytes]] | None = None
    batch: PeerBatch | None = None

    def info(self) -> dict[str, Any]:
        size = len(self.data) if self.lines is None else sum(len(x) for x in self.lines())
        return {
            "id": self.id,
            "object": "file",
            "bytes": size,
            "created_at": self.created_at,
            "filename": self.filename,
            "purpose": self.purpose,
        }


@dataclass
class PeerBatch:
    """A batch the peer runs: its input lines, its script and what became of each line."""

    id: str
    input_file_id: str
    completion_window: str
    metadata: dict[str, Any] | None
    created_at: int
    lines: list[bytes]
    script: BatchScript
    status: str = "validating"
    polls: int = 0
    errors: list[dict[str, Any]] | None = None
    outcomes: bytearray = field(default_factory=bytearray)
    output_file_id: str | None = None
    error_file_id: str | None = None
    broken_downloads: int = 0
    times: dict[str, int] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        total = len(self.lines)
        if self.status in BATCH_TERMINAL and self.outcomes:
            completed = self.outcomes.count(_OK)
            failed = sum(self.outcomes.count(k) for k in (_REFUSED, _FAILING, _EXPIRED))
            return {"total": total, "completed": completed, "failed": failed}
        if self.status == "failed":
            return {"total": total, "completed": 0, "failed": 0}
        share = self.polls / (self.script.polls + 1) if self.status == "in_progress" else 0.0
        return {"total": total, "completed": int(total * min(share, self.script.done)), "failed": 0}

    def object(self) -> dict[str, Any]:
        """The batch object, as ``GET /openai/v1/batches/{id}`` answers it."""
        stamp = {
            f"{name}_at": self.times.get(name)
            for name in (
                "in_progress",
                "finalizing",
                "completed",
                "failed",
                "expired",
                "cancelling",
                "cancelled",
            )
        }
        return {
            "id": self.id,
            "object": "batch",
            "endpoint": BATCH_ENDPOINT,
            "errors": None if self.errors is None else {"object": "list", "data": self.errors},
            "input_file_id": self.input_file_id,
            "completion_window": self.completion_window,
            "status": self.status,
            "output_file_id": self.output_file_id,
            "error_file_id": self.error_file_id,
            "created_at": self.created_at,
            "expires_at": self.created_at + _window_seconds(self.completion_window),
            **stamp,
            "request_counts": self.counts(),
            "metadata": self.metadata,
        }


def _window_seconds(window: str) -> int:
    match = _WINDOW.match(window)
    if match is None:
        return 0
    return int(match.group(1)) * (3600 if match.group(2) == "h" else 86400)


def _input_problems(lines: list[bytes], max_lines: int) -> list[dict[str, Any]]:
    """Why Groq's validation would fail a batch with these input lines (empty: it passes)."""
    if len(lines) > max_lines:
        return [
            {
                "code": "invalid_request",
                "message": f"The input file has {len(lines)} requests; a batch takes at most "
                f"{max_lines}.",
                "line": None,
                "param": None,
            }
        ]
    problems: list[dict[str, Any]] = []
    seen: set[str] = set()
    for number, raw in enumerate(lines, start=1):
        try:
            line = json.loads(raw)
        except ValueError:
            line = None
        why = None
        if not isinstance(line, dict):
            why = "The line is not a JSON object."
        elif not isinstance(line.get("custom_id"), str) or not line["custom_id"]:
            why = "The line has no custom_id."
        elif line["custom_id"] in seen:
            why = f"The custom_id {line['custom_id']!r} is used twice."
        elif line.get("method") != "POST" or line.get("url") != BATCH_ENDPOINT:
            why = f"Each request must be POST {BATCH_ENDPOINT}."
        elif not isinstance(line.get("body"), dict):
            why = "The request has no JSON body."
        if why is not None:
            problems.append({"code": "invalid_request", "message": why, "line": number})
        else:
            seen.add(line["custom_id"])  # type: ignore[index]
    return problems


# ------------------------------------------------------------------------------ server


class _Server(PeerServer):
    peer: GroqPeer


class _Handler(PeerHandler):
    server: _Server
    _current_rid: str | None = None
    max_body = BATCH_MAX_BYTES + 16 * 1024 * 1024  # an upload of a whole batch file

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
        elif path.startswith((FILES_PATH, BATCHES_PATH)):
            fault = self.peer._next_api_fault(method, path)
            if fault is None:
                self.answer_api(request)
            else:
                fault.apply(self, request)
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

    # -- files and batches

    def answer_api(self, request: RecordedRequest, *, send: bool = True) -> None:
        """The files and batches endpoints; ``send=False`` carries the request out silently."""
        method, path, peer = request.method, request.path, self.peer
        tail = path.rsplit("/", 1)[-1]
        answer: tuple[int, Any]
        if path == FILES_PATH and method == "POST":
            answer = peer.upload(request)
        elif path == FILES_PATH and method == "GET":
            with peer._lock:
                answer = 200, {"object": "list", "data": [f.info() for f in peer.files.values()]}
        elif path.startswith(FILES_PATH + "/") and path.endswith("/content") and method == "GET":
            if send:
                self.send_file(path[len(FILES_PATH) + 1 : -len("/content")])
            return
        elif path.startswith(FILES_PATH + "/") and method == "GET":
            found = peer.files.get(tail)
            answer = (200, found.info()) if found else (404, _not_found("file", tail))
        elif path == BATCHES_PATH and method == "POST":
            answer = peer.create_batch(request.json)
        elif path == BATCHES_PATH and method == "GET":
            with peer._lock:
                listed = [b.object() for b in reversed(peer.batches.values())]
            answer = 200, {"object": "list", "data": listed}
        elif path.startswith(BATCHES_PATH + "/") and path.endswith("/cancel") and method == "POST":
            answer = peer.cancel_batch(path[len(BATCHES_PATH) + 1 : -len("/cancel")])
        elif path.startswith(BATCHES_PATH + "/") and method == "GET":
            answer = peer.retrieve_batch(tail)
        else:
            answer = 404, _unknown_url(method, path)
        if send:
            self.send_body(*answer, {})

    def send_file(self, file_id: str) -> None:
        """A file's content: an upload as kept, a batch's output made line by line (chunked),
        broken off half-way when the batch's script says so."""
        file = self.peer.files.get(file_id)
        if file is None:
            self.send_body(404, _not_found("file", file_id), {})
            return
        if file.lines is None:
            self.send_body(200, file.data, {"content-type": "application/octet-stream"})
            return
        limit: int | None = None
        if self.peer._take_broken_download(file):
            limit = sum(1 for _ in file.lines()) // 2
        self.send_head(200, "application/octet-stream", {"transfer-encoding": "chunked"})
        buffer: list[bytes] = []
        for sent, line in enumerate(file.lines()):
            if sent == limit:
                self.write_chunk(b"".join(buffer))
                self.abort(hard=False)
                return
            buffer.append(line)
            if len(buffer) >= 64:
                self.write_chunk(b"".join(buffer))
                buffer = []
        self.write_chunk(b"".join(buffer))
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
        self.batch_max_lines = BATCH_MAX_LINES
        self.batch_max_bytes = BATCH_MAX_BYTES
        self.files: dict[str, PeerFile] = {}
        self.batches: dict[str, PeerBatch] = {}
        self._batch_scripts: deque[BatchScript] = deque()
        self._api_faults: dict[tuple[str, str], deque[Fault | None]] = {}
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

    # -- files and batches (Groq's Batch API)

    def script_batches(self, *scripts: BatchScript) -> None:
        """Queue how the next batches created run, in order; an unscripted batch completes at
        its first retrieval."""
        with self._lock:
            self._batch_scripts.extend(scripts)

    def script_api(self, method: str, path: str, *faults: Fault | None) -> None:
        """Queue faults for the next ``method path`` requests of the files and batches API
        (``"POST", FILES_PATH`` for uploads, ``"POST", BATCHES_PATH`` for batch creation);
        None lets that request through."""
        with self._lock:
            self._api_faults.setdefault((method, path), deque()).extend(faults)

    def _next_api_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            queued = self._api_faults.get((method, path))
            return queued.popleft() if queued else None

    def reply_to(self, body: Any) -> str:
        """The reply text for one chat request body (calls ``reply`` when it is callable)."""
        reply = self.reply
        return reply(body) if callable(reply) else reply

    def upload(self, request: RecordedRequest) -> tuple[int, dict[str, Any]]:
        """``POST /openai/v1/files``: keep a ``purpose=batch`` JSONL file (multipart form)."""
        fields = _multipart(request.headers.get("content-type", ""), request.body)
        purpose = fields.get("purpose", (None, b""))[1].decode(errors="replace")
        filename, data = fields.get("file", (None, b""))
        if purpose != "batch":
            return _invalid("`purpose` must be `batch`", "purpose")
        if filename is None:
            return _invalid("`file` is required", "file")
        if len(data) > self.batch_max_bytes:
            return _invalid(
                f"The file is {len(data)} bytes; the Batch API takes files up to "
                f"{self.batch_max_bytes} bytes",
                "file",
            )
        with self._lock:
            file = PeerFile(_stable_id("file_", uuid.uuid4()), filename, "batch", _now(), data)
            self.files[file.id] = file
        return 200, file.info()

    def create_batch(self, body: Any) -> tuple[int, dict[str, Any]]:
        """``POST /openai/v1/batches``: a batch over an uploaded file, ``validating`` at first."""
        if not isinstance(body, dict):
            return _invalid("We could not parse the JSON body of your request.", "body")
        window = body.get("completion_window")
        seconds = _window_seconds(window) if isinstance(window, str) else 0
        if not 24 * 3600 <= seconds <= 7 * 86400:
            return _invalid(
                "`completion_window` must be between `24h` and `7d`", "completion_window"
            )
        if body.get("endpoint") != BATCH_ENDPOINT:
            return _invalid(f"`endpoint` must be `{BATCH_ENDPOINT}`", "endpoint")
        with self._lock:
            file = self.files.get(str(body.get("input_file_id")))
            if file is None or file.purpose != "batch":
                return _invalid("The input file does not exist", "input_file_id")
            lines = [line for line in file.data.split(b"\n") if line.strip()]
            script = self._batch_scripts.popleft() if self._batch_scripts else BatchScript()
            batch = PeerBatch(
                id=_stable_id("batch_", uuid.uuid4()),
                input_file_id=file.id,
                completion_window=str(window),
                metadata=body.get("metadata"),
                created_at=_now(),
                lines=lines,
                script=script,
                broken_downloads=script.broken_downloads,
            )
            problems = _input_problems(lines, self.batch_max_lines)
            batch.errors = problems or None
            self.batches[batch.id] = batch
            return 200, batch.object()

    def retrieve_batch(self, batch_id: str) -> tuple[int, dict[str, Any]]:
        """``GET /openai/v1/batches/{id}``: each retrieval moves the batch on by its script."""
        with self._lock:
            batch = self.batches.get(batch_id)
            if batch is None:
                return 404, _not_found("batch", batch_id)
            if batch.status == "validating" and batch.errors:
                batch.status = "failed"
                batch.times["failed"] = _now()
            elif batch.status in ("validating", "in_progress"):
                batch.polls += 1
                script = batch.script
                if batch.polls <= script.polls or script.end == "in_progress":
                    batch.status = "in_progress"
                    batch.times.setdefault("in_progress", _now())
                else:
                    self._finish(batch, script.end)
            elif batch.status == "cancelling":
                self._finish(batch, "cancelled")
            return 200, batch.object()

    def cancel_batch(self, batch_id: str) -> tuple[int, dict[str, Any]]:
        """``POST /openai/v1/batches/{id}/cancel``: ``cancelling``, ``cancelled`` when next
        retrieved (a batch that has ended is answered as it is)."""
        with self._lock:
            batch = self.batches.get(batch_id)
            if batch is None:
                return 404, _not_found("batch", batch_id)
            if batch.status not in BATCH_TERMINAL:
                batch.status = "cancelling"
                batch.times["cancelling"] = _now()
            return 200, batch.object()

    def _finish(self, batch: PeerBatch, status: str) -> None:
        """End ``batch`` with ``status``: decide each line's fate and make its files."""
        total = len(batch.lines)
        done = total if status == "completed" else int(total * batch.script.done)
        outcomes = bytearray(total)
        for index, raw in enumerate(batch.lines):
            if index >= done:
                outcomes[index] = _EXPIRED if status == "expired" else _NOT_RUN
            elif index in batch.script.failing:
                outcomes[index] = _FAILING
            elif _refusal(json.loads(raw)["body"]) is not None:
                outcomes[index] = _REFUSED
            else:
                outcomes[index] = _OK
        batch.outcomes, batch.status = outcomes, status
        batch.times["finalizing"] = batch.times[status] = _now()
        for errors in (False, True):
            wanted = (_REFUSED, _FAILING, _EXPIRED) if errors else (_OK,)
            if not any(outcomes.count(k) for k in wanted):
                continue
            name = "error" if errors else "output"
            file = PeerFile(
                _stable_id("file_", batch.id, name),
                f"batch_{batch.id}_{name}.jsonl",
                "batch_output",
                _now(),
                lines=functools.partial(self._batch_lines, batch, errors=errors),
                batch=batch,
            )
            self.files[file.id] = file
            if errors:
                batch.error_file_id = file.id
            else:
                batch.output_file_id = file.id

    def _batch_lines(self, batch: PeerBatch, *, errors: bool) -> Iterator[bytes]:
        """The output (or error) file of an ended batch, a line at a time, made as it is read.

        In reverse input order: Groq promises no order, so clients must match by custom_id.
        """
        for index in reversed(range(len(batch.lines))):
            outcome = batch.outcomes[index]
            if outcome == _NOT_RUN or (outcome == _OK) == errors:
                continue
            line = json.loads(batch.lines[index])
            body, request_id = line["body"], _stable_id("req_", batch.id, index)
            response: dict[str, Any] | None = None
            error: dict[str, Any] | None = None
            if outcome == _OK:
                completion = chat_completion(
                    body,
                    self.reply_to(body),
                    completion_id=f"chatcmpl-{uuid.uuid5(uuid.NAMESPACE_URL, request_id)}",
                    request_id=request_id,
                    created=batch.created_at,
                    cached_tokens=self.cached_tokens,
                )
                response = {"status_code": 200, "request_id": request_id, "body": completion}
            elif outcome == _EXPIRED:
                error = {"code": "batch_expired", "message": EXPIRED_MESSAGE}
            else:
                refused = (500, error_body(500)) if outcome == _FAILING else _refusal(body)
                assert refused is not None
                code, payload = refused
                response = {"status_code": code, "request_id": request_id, "body": payload}
            yield (
                _dumps(
                    {
                        "id": _stable_id("batch_req_", batch.id, index),
                        "custom_id": line["custom_id"],
                        "response": response,
                        "error": error,
                    }
                )
                + b"\n"
            )

    def _take_broken_download(self, file: PeerFile) -> bool:
        """Whether this download of ``file`` breaks off (its batch's output file, while its
        script says so)."""
        with self._lock:
            batch = file.batch
            if batch is None or file.id != batch.output_file_id or batch.broken_downloads <= 0:
                return False
            batch.broken_downloads -= 1
            return True

    # -- internals used by the handler

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)
            if request.path == CHAT_PATH:
                self.chat_count += 1

    def _next_fault(self) -> Fault | None:
        with self._lock:
            return self._faults.popleft() if self._faults else None


def _now() -> int:
    return int(time.time())


def _not_found(what: str, name: str) -> dict[str, Any]:
    return {
        "error": {
            "message": f"The {what} `{name}` does not exist",
            "type": "invalid_request_error",
            "code": "not_found",
        }
    }


def _multipart(content_type: str, body: bytes) -> dict[str, tuple[str | None, bytes]]:
    """The fields of a ``multipart/form-data`` body: name -> (filename or None, content)."""
    found = re.search(r'boundary="?([^";]+)"?', content_type)
    if found is None:
        return {}
    fields: dict[str, tuple[str | None, bytes]] = {}
    for part in body.split(b"--" + found.group(1).encode())[1:]:
        if part.startswith(b"--"):
            break
        head, _, content = part.partition(b"\r\n\r\n")
        name = re.search(rb'[;\s]name="([^"]*)"', head)
        filename = re.search(rb'filename="([^"]*)"', head)
        if name is not None:
            fields[name.group(1).decode()] = (
                filename.group(1).decode() if filename else None,
                content.removesuffix(b"\r\n"),
            )
    return fields
