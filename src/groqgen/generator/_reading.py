"""Reading Groq's answers: a plain completion, or a stream chunk by chunk (no I/O here)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from ..errors import GenerationError
from ..generation import Completion, Generation

__all__ = ["StreamState", "completion_from"]


def completion_from(response: Any, headers: Mapping[str, str], started: float) -> Completion:
    """Read a parsed Groq chat completion."""
    choices = getattr(response, "choices", None) or []
    if not choices or choices[0].message is None:
        raise GenerationError("Groq answered without a completion (no choices)")
    x_groq = getattr(response, "x_groq", None)
    message = choices[0].message
    return Completion.from_answer(
        message.content or "",
        reasoning=getattr(message, "reasoning", None) or "",
        model=getattr(response, "model", "") or "",
        request_id=headers.get("x-request-id") or getattr(x_groq, "id", None),
        usage=getattr(response, "usage", None),
        latency_ms=(time.perf_counter() - started) * 1000,
        finish_reason=getattr(choices[0], "finish_reason", None),
        response_id=getattr(response, "id", None),
    )


_THINK_OPEN, _THINK_CLOSE = "<think>", "</think>"


class StreamState:
    """What a stream has delivered so far, and the completion once it ends.

    Only answer text is handed out: ``delta.reasoning`` is kept apart, and a ``<think>`` block
    at the start of the content (a qwen model asked without ``reasoning_format``) is held back
    until it closes.
    """

    def __init__(self, generation: Generation) -> None:
        self.generation = generation
        self.pieces: list[str] = []
        self.reasoning: list[str] = []
        self.usage: Any = None
        self.model = ""
        self.request_id: str | None = None
        self.started = time.perf_counter()
        self.finish_reason: str | None = None
        self.response_id: str | None = None
        self._held = ""  # content that may still turn out to be a <think> block
        self._thinking: bool | None = None  # None: not known yet

    def feed(self, chunk: Any) -> str | None:
        x_groq = getattr(chunk, "x_groq", None)
        if x_groq is not None:
            self.request_id = self.request_id or getattr(x_groq, "id", None)
            self.usage = getattr(x_groq, "usage", None) or self.usage
        self.usage = getattr(chunk, "usage", None) or self.usage
        self.model = getattr(chunk, "model", "") or self.model
        self.response_id = self.response_id or getattr(chunk, "id", None)
        out: list[str] = []
        for choice in getattr(chunk, "choices", None) or []:
            if getattr(choice, "finish_reason", None):
                self.finish_reason = choice.finish_reason
            delta = choice.delta
            if delta is None:
                continue
            thought = getattr(delta, "reasoning", None)
            if thought:
                self.reasoning.append(str(thought))
            content = getattr(delta, "content", None)
            if content:
                out.append(self._content(str(content)))
        text = "".join(out)
        if text:
            self.pieces.append(text)
            return text
        return None

    def _content(self, content: str) -> str:
        if self._thinking is False:
            return content
        self._held += content
        head = self._held.lstrip()
        if self._thinking is None:
            if head.startswith(_THINK_OPEN):
                self._thinking = True
            elif _THINK_OPEN.startswith(head):
                return ""  # too short to tell yet
            else:
                self._thinking = False
                released, self._held = self._held, ""
                return released
        close = head.find(_THINK_CLOSE)
        if close < 0:
            return ""
        self.reasoning.append(head[len(_THINK_OPEN) : close].strip())
        released = head[close + len(_THINK_CLOSE) :].lstrip()
        self._thinking, self._held = False, ""
        return released

    def completion(self) -> Completion:
        if self.finish_reason is None:
            raise GenerationError(
                "the stream from Groq ended before the completion finished; nothing was recorded",
                request_id=self.request_id,
            )
        if self._thinking is None and self._held:  # a short answer that never became <think>
            self.pieces.append(self._held)
        return Completion.from_answer(
            "".join(self.pieces),
            reasoning="".join(self.reasoning),
            model=self.model,
            request_id=self.request_id,
            usage=self.usage,
            latency_ms=(time.perf_counter() - self.started) * 1000,
            finish_reason=self.finish_reason,
            response_id=self.response_id,
        )
