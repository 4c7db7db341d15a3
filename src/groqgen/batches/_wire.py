"""Groq's Batch API formats: input lines in, result lines out (no I/O here).

Per ``GROQ-TODAY.md`` (checked 2026-11-30): an input line is
``{"custom_id", "method": "POST", "url": "/v1/chat/completions", "body": <chat request>}``; a
result line is ``{"id", "custom_id", "response": {"status_code", "request_id", "body"},
"error"}``, the body a ``chat.completion`` when the status is 200. Failed and expired requests
go to the error file: either a ``response`` with an error status and Groq's error body, or a
null ``response`` and an ``error`` object (``code`` ``batch_expired`` for an expired request,
as in OpenAI's Batch API, which Groq's follows). Results come in any order; they are matched
by ``custom_id``.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..errors import GenerationError, ValidationError
from ..generation import Completion
from ._model import BatchLimits

__all__ = [
    "ENDPOINT",
    "Result",
    "completion_of",
    "input_line",
    "read_result",
    "request_index",
    "split",
    "window",
]

ENDPOINT = "/v1/chat/completions"
_WINDOW = re.compile(r"^([1-9]\d*)(h|d)$")
_CUSTOM_ID = re.compile(r"^request-(0|[1-9]\d*)$")


def window(value: str) -> str:
    """``value`` if it is a completion window Groq takes (``24h`` to ``7d``), else refuse it."""
    found = _WINDOW.match(value) if isinstance(value, str) else None
    hours = int(found.group(1)) * (24 if found.group(2) == "d" else 1) if found else 0
    if not 24 <= hours <= 168:
        raise ValidationError(
            f"completion_window must be from 24h to 7d (such as '24h', '48h' or '7d'), "
            f"not {value!r}",
            field="completion_window",
        )
    return value


def input_line(custom_id: str, parameters: Mapping[str, Any]) -> bytes:
    """One line of a batch input file: the chat request exactly as a synchronous call sends it."""
    line = {"custom_id": custom_id, "method": "POST", "url": ENDPOINT, "body": parameters}
    return json.dumps(line, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


def split(lines: Sequence[bytes], limits: BatchLimits) -> list[range]:
    """Cut ``lines`` into runs that each fit one Groq batch (``limits``), in order.

    Raises ``ValidationError`` naming a request whose line alone is over the size limit.
    """
    parts: list[range] = []
    start, size = 0, 0
    for index, line in enumerate(lines):
        if len(line) > limits.bytes:
            raise ValidationError(
                f"request {index} is {len(line):,} bytes as a batch line; a Groq batch file "
                f"takes at most {limits.bytes:,}",
                field=f"requests[{index}]",
            )
        if index > start and (index - start >= limits.lines or size + len(line) > limits.bytes):
            parts.append(range(start, index))
            start, size = index, 0
        size += len(line)
    if start < len(lines):
        parts.append(range(start, len(lines)))
    return parts


def request_index(custom_id: Any) -> int | None:
    """The request number a ``custom_id`` groqgen made names; None for any other."""
    found = _CUSTOM_ID.match(custom_id) if isinstance(custom_id, str) else None
    return int(found.group(1)) if found else None


@dataclass(frozen=True)
class Result:
    """One line of an output or error file, read.

    ``body`` is the chat completion when Groq answered 200; otherwise ``code`` and ``message``
    say what went wrong.
    """

    custom_id: Any
    status_code: int | None
    request_id: str | None
    body: dict[str, Any] | None
    code: str | None = None
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.status_code == 200 and self.body is not None


def read_result(raw: str | bytes) -> Result:
    """Read one result line; raises ``ValueError`` when it is not one."""
    line = json.loads(raw)
    if not isinstance(line, dict):
        raise ValueError("a result line is not a JSON object")
    response: dict[str, Any] = line["response"] if isinstance(line.get("response"), dict) else {}
    body = response.get("body") if isinstance(response.get("body"), dict) else None
    status = response.get("status_code")
    request_id = response.get("request_id")
    result = Result(
        custom_id=line.get("custom_id"),
        status_code=status if isinstance(status, int) else None,
        request_id=request_id if isinstance(request_id, str) else None,
        body=body,
    )
    if result.ok:
        return result
    error = line.get("error") if isinstance(line.get("error"), dict) else None
    if error is None and body is not None and isinstance(body.get("error"), dict):
        error = body["error"]
    error = error or {}
    code = error.get("code") if isinstance(error.get("code"), str) else None
    message = str(error.get("message") or "").strip()
    if not message:
        message = f"Groq answered {status}" if status else "Groq gave no answer"
    return replace(result, body=None, code=code, message=message)


def completion_of(result: Result) -> Completion:
    """The completion in a 200 result line, read as a synchronous answer is.

    ``latency_ms`` is Groq's own ``usage.total_time``: a batched request has no round trip of
    its own to time.
    """
    from groq.types.chat import ChatCompletion

    from ..generator import completion_from

    try:
        response = ChatCompletion.model_validate(result.body)
    except ValueError as exc:
        raise GenerationError(
            f"Groq's batch result is not a chat completion ({type(exc).__name__})",
            request_id=result.request_id,
        ) from None
    headers = {"x-request-id": result.request_id} if result.request_id else {}
    completion = completion_from(response, headers, time.perf_counter())
    total = completion.usage.get("total_time")
    latency = total * 1000 if isinstance(total, (int, float)) else 0.0
    return replace(completion, latency_ms=latency)
