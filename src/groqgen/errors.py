"""The exceptions groqgen raises.

Every error derives from :class:`GroqgenError`, so ``except groqgen.GroqgenError`` catches
all of them. Messages say what happened and what to do about it; none of them ever carries
a secret (API keys, passwords, access tokens).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "AuthenticationError",
    "ConfigurationError",
    "GenerationError",
    "GroqgenError",
    "MigrationError",
    "NotFound",
    "PermissionDenied",
    "RateLimited",
    "RecordingFailed",
    "RecordingInterrupted",
    "StoreError",
    "TruncatedGeneration",
    "ValidationError",
]


class GroqgenError(Exception):
    """Base class of every error groqgen raises."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ValidationError(GroqgenError, ValueError):
    """An input was refused before anything was sent or stored.

    ``field`` names the first offending field; ``errors`` lists every problem found as
    ``{"field": ..., "message": ...}`` dictionaries.

    Example:
        >>> from groqgen.models import PromptCreate, validate_input
        >>> try:
        ...     validate_input(PromptCreate, topic="x", prompt_type="poetry", tone="casual",
        ...                    length=50, model="m", generated_prompt="p")
        ... except ValidationError as exc:
        ...     print(exc.field)
        prompt_type
    """

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        errors: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        super().__init__(message)
        self.field = field
        self.errors: list[dict[str, Any]] = [dict(e) for e in errors]


class ConfigurationError(GroqgenError):
    """groqgen is not configured well enough to do what was asked.

    ``setting`` names what to set (an argument or environment variable), when one applies.
    """

    def __init__(self, message: str, *, setting: str | None = None) -> None:
        super().__init__(message)
        self.setting = setting


class AuthenticationError(GroqgenError):
    """Credentials were missing, wrong or expired (Groq API key or Supabase session)."""


class PermissionDenied(GroqgenError):
    """The acting user may not do this (row-level security or a missing grant refused it)."""


class NotFound(GroqgenError):
    """The row does not exist, or is not visible to the acting user."""


class RateLimited(GroqgenError):
    """A service asked us to slow down and retries did not get through.

    ``retry_after`` is the number of seconds the service asked to wait, when it said.
    """

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class GenerationError(GroqgenError):
    """Groq did not produce a usable completion.

    Carries Groq's ``request_id``, the HTTP ``status_code`` and Groq's error ``code`` when known.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.request_id = request_id


class TruncatedGeneration(GenerationError):
    """Groq's answer was cut off (``finish_reason: "length"``) or came back empty.

    With a reasoning model this usually means the reasoning spent the completion budget: ask for
    a lower ``reasoning_effort`` or a larger ``max_completion_tokens``. Nothing was recorded
    (unless the call passed ``allow_truncated=True`` and some answer text arrived).

    Attributes:
        text: The partial answer (may be empty); never the model's reasoning.
        usage: Groq's token counts for the call (it was billed).
        finish_reason: Why the answer stopped (``"length"``, or ``"stop"`` for an empty one).
    """

    def __init__(
        self,
        message: str,
        *,
        text: str,
        usage: Mapping[str, Any],
        finish_reason: str | None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message, request_id=request_id)
        self.text = text
        self.usage = dict(usage)
        self.finish_reason = finish_reason


class StoreError(GroqgenError):
    """The store (SQLite, PostgreSQL or Supabase) failed to read or write.

    ``code`` holds the database's error code (SQLSTATE or PostgREST code) when there is one;
    ``transient`` is True for failures worth retrying (a dropped connection, a busy lock).
    """

    def __init__(self, message: str, *, code: str | None = None, transient: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.transient = transient


class MigrationError(StoreError):
    """The database's migration history does not match the migrations groqgen ships."""


class RecordingFailed(StoreError):
    """A generation succeeded but could not be recorded; nothing was lost.

    The full result was written to the local outbox before this was raised; ``result`` carries
    it, and ``client.outbox.flush()`` records it later. When the outbox itself could not be
    written (``code == "outbox_unwritable"``: a full disk, a damaged home), ``result`` is the
    only copy: save it yourself.
    """

    def __init__(self, message: str, *, result: Any, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.result = result


class RecordingInterrupted(KeyboardInterrupt):
    """Ctrl-C arrived after Groq answered, while the generation was being recorded.

    The generation was put in the outbox before this propagated: ``result`` is its pending
    entry and ``path`` the outbox holding it (None when the outbox could not be written
    either: then ``result`` is the only copy). It is a ``KeyboardInterrupt``, so
    ``except KeyboardInterrupt`` still catches it; it is not a :class:`GroqgenError`.
    """

    def __init__(self, message: str, *, result: Any, path: Path | None) -> None:
        super().__init__(message)
        self.result = result
        self.path = path
