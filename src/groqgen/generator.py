"""``client.generate``: one call, one Groq completion, one atomic record.

Each call validates its inputs before any network traffic, makes one chat completion (retried
on 429, 5xx, connection errors and timeouts under the client's single retry policy), then
records the row and its activity entry in one round trip under a client-generated id, retried
by the same policy without ever repeating the Groq call. If recording still fails, the result
goes to the durable outbox and :class:`~groqgen.RecordingFailed` carries it.

Example:
    >>> from groqgen import Client
    >>> with Client() as client:  # doctest: +SKIP
    ...     prompt = client.generate.prompt("release notes", tone="casual", length=40)
    ...     print(prompt.generated_prompt)
    ...     with client.generate.stream.code("parse ISO dates", language="python",
    ...                                      framework="stdlib") as stream:
    ...         for delta in stream:
    ...             print(delta, end="")
    ...     stream.result.generated_code
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar, overload
from uuid import UUID

from .catalog import GroqModel, ReasoningEffort
from .errors import (
    ConfigurationError,
    GenerationError,
    GroqgenError,
    PermissionDenied,
    RecordingFailed,
    RecordingInterrupted,
    StoreError,
    ValidationError,
)
from .generation import KINDS, Completion, DryRun, Generation, _Request, known_limit
from .models import TABLES, CodeGeneration, CodeReview, Prompt, TestGeneration
from .outbox import (
    UNWRITABLE,
    DamagedLine,
    Flush,
    FlushResult,
    Identity,
    Outbox,
    PendingGeneration,
    StoreWatch,
)
from .stores import ops
from .templates import DEFAULT_TEMPLATES, Template
from .transport import (
    MODEL_ERRORS,
    RateGate,
    RetryPolicy,
    make_http_client,
    require_api_key,
    translate_groq_error,
)

if TYPE_CHECKING:
    from ._config import Settings

__all__ = [
    "AsyncGenerator",
    "AsyncOutboxClient",
    "AsyncStream",
    "BatchItem",
    "Generator",
    "OutboxClient",
    "Stream",
]

_log = logging.getLogger("groqgen")


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
    )


_THINK_OPEN, _THINK_CLOSE = "<think>", "</think>"


class _StreamState:
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
        self._held = ""  # content that may still turn out to be a <think> block
        self._thinking: bool | None = None  # None: not known yet

    def feed(self, chunk: Any) -> str | None:
        x_groq = getattr(chunk, "x_groq", None)
        if x_groq is not None:
            self.request_id = self.request_id or getattr(x_groq, "id", None)
            self.usage = getattr(x_groq, "usage", None) or self.usage
        self.usage = getattr(chunk, "usage", None) or self.usage
        self.model = getattr(chunk, "model", "") or self.model
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
        )


@dataclass(frozen=True)
class BatchItem:
    """One request of a batch, and either its stored row or the error that stopped it."""

    request: Any
    result: Any = None
    error: GroqgenError | None = None

    @property
    def ok(self) -> bool:
        """Whether this item was generated and recorded."""
        return self.error is None


class _GeneratorBase:
    """Every decision the sync and async generators share."""

    def __init__(
        self,
        settings: Settings,
        store: Any,
        outbox: Outbox,
        *,
        templates: Mapping[str, Template] | None,
        http_client: Any,
        policy: RetryPolicy | None = None,
    ) -> None:
        self._settings = settings
        self._store = store
        self._outbox = outbox
        unknown = set(templates or {}) - set(KINDS)
        if unknown:
            raise ValidationError(
                f"templates has unknown kinds {sorted(unknown)}; use {sorted(KINDS)}",
                field="templates",
            )
        self._templates = {**DEFAULT_TEMPLATES, **(templates or {})}
        self._http = http_client
        self._owns_http = http_client is None
        self._groq: Any = None
        self._models: list[GroqModel] | None = None
        self._profile_seen = False
        self.policy = policy or RetryPolicy(settings.max_retries)
        self.gate = RateGate()

    _asynchronous = False

    def _client(self) -> Any:
        """The groq SDK client (sync or async), made on first use over groqgen's httpx client."""
        if self._groq is None:
            import groq

            options = self._groq_options()
            if self._http is None:
                self._http = make_http_client(
                    self._settings.timeout, asynchronous=self._asynchronous
                )
            factory = groq.AsyncGroq if self._asynchronous else groq.Groq
            self._groq = factory(http_client=self._http, **options)
        return self._groq

    def _retrying(self, *, gate: bool, watch: StoreWatch | None = None) -> Any:
        """A tenacity retrier (sync or async) carrying out the client's policy.

        With a ``watch``, retrying also stops as soon as the store is known to be unavailable.
        """
        import tenacity

        retrier = tenacity.AsyncRetrying if self._asynchronous else tenacity.Retrying
        options = self.policy.tenacity_kwargs(self.gate if gate else None)
        if watch is not None:
            stop = options["stop"]
            options["stop"] = lambda state: watch.down is not None or stop(state)
        return retrier(**options)

    def _prepare(self, kind: str, inputs: Mapping[str, Any]) -> Generation:
        return Generation.prepare(
            kind,
            inputs,
            default_model=self._settings.model,
            templates=self._templates,
            default_effort=self._settings.effort_for(kind),
            model_limit=self._model_limit,
        )

    def _model_limit(self, model: str) -> int | None:
        """A model's largest completion budget, where known.

        Groq's ``/models`` answer once this client has it, else groqgen's own table.
        """
        for served in self._models or ():
            if served.id == model and served.max_completion_tokens:
                return served.max_completion_tokens
        return known_limit(model)

    @staticmethod
    def _served(page: Any) -> list[GroqModel]:
        data = getattr(page, "data", None) or []
        models = [
            GroqModel.from_api(m.model_dump() if hasattr(m, "model_dump") else dict(m))
            for m in data
        ]
        return sorted((m for m in models if m.id and m.active), key=lambda m: m.id)

    def _groq_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {
            "api_key": require_api_key(self._settings.groq_api_key),
            "max_retries": 0,  # one retry policy: ours
            "timeout": self._settings.timeout,
        }
        if self._settings.groq_base_url:
            options["base_url"] = self._settings.groq_base_url
        return options

    @staticmethod
    def _with_models(
        error: GenerationError, model: str, served: list[GroqModel] | None
    ) -> GroqgenError:
        listing = (
            ", ".join(m.id for m in served) if served else "(Groq's models list could not be read)"
        )
        return GenerationError(
            f"the model {model} is no longer served by Groq ({error.code}); nothing was "
            f"recorded. Models Groq serves now: {listing}. Choose one with model= or "
            "GROQGEN_MODEL",
            status_code=error.status_code,
            code=error.code,
            request_id=error.request_id,
        )

    @staticmethod
    def _model_error(error: GroqgenError) -> GenerationError | None:
        if isinstance(error, GenerationError) and error.code in MODEL_ERRORS:
            return error
        return None

    @staticmethod
    def _project_checks(generations: Sequence[Generation]) -> list[ops.Get]:
        """One lookup per distinct project named.

        A generation that could never be recorded (an unknown project, or somebody else's) is
        refused before it is paid for.
        """
        projects = {g.request.project_id for g in generations if g.request.project_id}
        return [ops.Get("projects", p, ops.Scope()) for p in sorted(projects, key=str)]

    def _profile_check(self) -> ops.Get | None:
        """The acting user's profile, looked up once per client when acting for a given user.

        A ``user_id`` without a profile (a typo, or a user the sign-up trigger never saw) could
        never be recorded: refuse it before Groq is paid.
        """
        user_id = self._settings.user_id
        if user_id is None or self._profile_seen:
            return None
        return ops.Get("profiles", user_id, ops.Scope())

    def _no_profile(self) -> ConfigurationError:
        return ConfigurationError(
            f"user {self._settings.user_id} has no profile in this database, so nothing can be "
            "recorded for them; check user_id (--user-id) or sign the user up first. Nothing "
            "was sent to Groq",
            setting="user_id",
        )

    @staticmethod
    def _no_such_project(check: ops.Get) -> PermissionDenied:
        return PermissionDenied(
            f"project {check.id} does not exist or is not yours; nothing was sent to Groq"
        )

    def _parked(self, record: ops.Record, cause: BaseException) -> RecordingFailed:
        """Put a paid generation the store did not record in the outbox (file I/O only).

        Returns the error to raise: where the result is kept, or, when the outbox could not be
        written either, that the exception's ``result`` is its only copy.
        """
        entry = self._outbox.entry(record, str(cause))
        try:
            self._outbox.write(entry)
        except StoreError as unwritable:
            return RecordingFailed(
                f"the generation succeeded but could not be recorded ({cause}), and {unwritable}; "
                "the result exists only on this exception (.result): keep it",
                result=entry,
                code=UNWRITABLE,
            )
        return RecordingFailed(
            f"the generation succeeded but could not be recorded ({cause}); it is safe in the "
            f"outbox at {self._outbox.path}: call client.outbox.flush() once the store is back",
            result=entry,
            code=getattr(cause, "code", None),
        )

    def _interrupted(self, record: ops.Record, interrupt: BaseException) -> BaseException:
        """Park a paid generation whose recording was interrupted; returns what to raise.

        File I/O only, never awaited, so a cancelled task cannot be cancelled out of it. A
        ``KeyboardInterrupt`` becomes :class:`RecordingInterrupted` (still a
        ``KeyboardInterrupt``) saying where the result is; a cancellation stays as it is.
        """
        entry = self._outbox.entry(
            record, f"interrupted while recording ({type(interrupt).__name__})"
        )
        path: Path | None = self._outbox.path
        try:
            self._outbox.write(entry)
            where = f"is kept in the outbox at {path}"
        except StoreError as exc:
            path, where = None, f"could not be kept in the outbox ({exc})"
        message = f"interrupted after Groq answered; the paid generation {entry.id} {where}"
        if not isinstance(interrupt, KeyboardInterrupt):
            _log.warning(message)  # a cancellation cannot carry it: say it here
            return interrupt
        replacement = RecordingInterrupted(message, result=entry, path=path)
        replacement.__cause__ = interrupt
        return replacement

    @staticmethod
    def _as_request(item: Any) -> tuple[str, dict[str, Any]]:
        if isinstance(item, _Request):
            for name, kind in KINDS.items():
                if isinstance(item, kind.request):
                    return name, item.model_dump(exclude_unset=True)
        if isinstance(item, Mapping) and item.get("kind") in KINDS:
            return str(item["kind"]), {k: v for k, v in item.items() if k != "kind"}
        raise ValidationError(
            "each batch request is a PromptRequest, CodeRequest, ReviewRequest or TestsRequest, "
            "or a mapping with kind= one of prompt, code, review, tests",
            field="requests",
        )


class Generator(_GeneratorBase):
    """``client.generate`` for :class:`~groqgen.Client`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stream = StreamFactory(self)

    # -- the four kinds ------------------------------------------------------------------------

    @overload
    def prompt(
        self,
        topic: str,
        *,
        prompt_type: str = ...,
        tone: str = ...,
        length: int = ...,
        additional_context: str | None = ...,
        model: str | None = ...,
        project_id: UUID | str | None = ...,
        reasoning_effort: ReasoningEffort | None = ...,
        max_completion_tokens: int | None = ...,
        allow_truncated: bool = ...,
        dry_run: Literal[False] = ...,
    ) -> Prompt: ...
    @overload
    def prompt(
        self,
        topic: str,
        *,
        prompt_type: str = ...,
        tone: str = ...,
        length: int = ...,
        additional_context: str | None = ...,
        model: str | None = ...,
        project_id: UUID | str | None = ...,
        reasoning_effort: ReasoningEffort | None = ...,
        max_completion_tokens: int | None = ...,
        allow_truncated: bool = ...,
        dry_run: Literal[True],
    ) -> DryRun: ...
    def prompt(
        self,
        topic: str,
        *,
        prompt_type: str = "writing",
        tone: str = "professional",
        length: int = 50,
        additional_context: str | None = None,
        model: str | None = None,
        project_id: UUID | str | None = None,
        reasoning_effort: ReasoningEffort | None = None,
        max_completion_tokens: int | None = None,
        allow_truncated: bool = False,
        dry_run: bool = False,
    ) -> Prompt | DryRun:
        """Generate a prompt about ``topic`` and record it (``dry_run``: only show the request)."""
        inputs = {
            "topic": topic,
            "prompt_type": prompt_type,
            "tone": tone,
            "length": length,
            "additional_context": additional_context,
            "model": model,
            "project_id": project_id,
            "reasoning_effort": reasoning_effort,
            "max_completion_tokens": max_completion_tokens,
            "allow_truncated": allow_truncated,
        }
        return self._generate("prompt", inputs, dry_run)  # type: ignore[no-any-return]

    @overload
    def code(
        self,
        description: str,
        *,
        language: str,
        framework: str = ...,
        additional_context: str | None = ...,
        model: str | None = ...,
        project_id: UUID | str | None = ...,
        reasoning_effort: ReasoningEffort | None = ...,
        max_completion_tokens: int | None = ...,
        allow_truncated: bool = ...,
        dry_run: Literal[False] = ...,
    ) -> CodeGeneration: ...
    @overload
    def code(
        self,
        description: str,
        *,
        language: str,
        framework: str = ...,
        additional_context: str | None = ...,
        model: str | None = ...,
        project_id: UUID | str | None = ...,
        reasoning_effort: ReasoningEffort | None = ...,
        max_completion_tokens: int | None = ...,
        allow_truncated: bool = ...,
        dry_run: Literal[True],
    ) -> DryRun: ...
    def code(
        self,
        description: str,
        *,
        language: str,
        framework: str = "none",
        additional_context: str | None = None,
        model: str | None = None,
        project_id: UUID | str | None = None,
        reasoning_effort: ReasoningEffort | None = None,
        max_completion_tokens: int | None = None,
        allow_truncated: bool = False,
        dry_run: bool = False,
    ) -> CodeGeneration | DryRun:
        """Generate code that does what ``description`` says, and record it."""
        inputs = {
            "description": description,
            "language": language,
            "framework": framework,
            "additional_context": additional_context,
            "model": model,
            "project_id": project_id,
            "reasoning_effort": reasoning_effort,
            "max_completion_tokens": max_completion_tokens,
            "allow_truncated": allow_truncated,
        }
        return self._generate("code", inputs, dry_run)  # type: ignore[no-any-return]

    @overload
    def review(
        self,
        code: str,
        *,
        language: str,
        review_type: str = ...,
        model: str | None = ...,
        project_id: UUID | str | None = ...,
        reasoning_effort: ReasoningEffort | None = ...,
        max_completion_tokens: int | None = ...,
        allow_truncated: bool = ...,
        dry_run: Literal[False] = ...,
    ) -> CodeReview: ...
    @overload
    def review(
        self,
        code: str,
        *,
        language: str,
        review_type: str = ...,
        model: str | None = ...,
        project_id: UUID | str | None = ...,
        reasoning_effort: ReasoningEffort | None = ...,
        max_completion_tokens: int | None = ...,
        allow_truncated: bool = ...,
        dry_run: Literal[True],
    ) -> DryRun: ...
    def review(
        self,
        code: str,
        *,
        language: str,
        review_type: str = "general",
        model: str | None = None,
        project_id: UUID | str | None = None,
        reasoning_effort: ReasoningEffort | None = None,
        max_completion_tokens: int | None = None,
        allow_truncated: bool = False,
        dry_run: bool = False,
    ) -> CodeReview | DryRun:
        """Review ``code`` and record the review.

        The review is markdown: summary, strengths, issues by severity, suggested fixes.
        """
        inputs = {
            "code": code,
            "language": language,
            "review_type": review_type,
            "model": model,
            "project_id": project_id,
            "reasoning_effort": reasoning_effort,
            "max_completion_tokens": max_completion_tokens,
            "allow_truncated": allow_truncated,
        }
        return self._generate("review", inputs, dry_run)  # type: ignore[no-any-return]

    @overload
    def tests(
        self,
        code: str,
        *,
        language: str,
        framework: str = ...,
        test_types: Sequence[str] = ...,
        coverage: str = ...,
        additional_context: str | None = ...,
        model: str | None = ...,
        project_id: UUID | str | None = ...,
        reasoning_effort: ReasoningEffort | None = ...,
        max_completion_tokens: int | None = ...,
        allow_truncated: bool = ...,
        dry_run: Literal[False] = ...,
    ) -> TestGeneration: ...
    @overload
    def tests(
        self,
        code: str,
        *,
        language: str,
        framework: str = ...,
        test_types: Sequence[str] = ...,
        coverage: str = ...,
        additional_context: str | None = ...,
        model: str | None = ...,
        project_id: UUID | str | None = ...,
        reasoning_effort: ReasoningEffort | None = ...,
        max_completion_tokens: int | None = ...,
        allow_truncated: bool = ...,
        dry_run: Literal[True],
    ) -> DryRun: ...
    def tests(
        self,
        code: str,
        *,
        language: str,
        framework: str = "none",
        test_types: Sequence[str] = ("unit",),
        coverage: str = "moderate",
        additional_context: str | None = None,
        model: str | None = None,
        project_id: UUID | str | None = None,
        reasoning_effort: ReasoningEffort | None = None,
        max_completion_tokens: int | None = None,
        allow_truncated: bool = False,
        dry_run: bool = False,
    ) -> TestGeneration | DryRun:
        """Generate a test suite for ``code`` in ``framework`` and record it."""
        inputs = {
            "code": code,
            "language": language,
            "framework": framework,
            "test_types": test_types,
            "coverage": coverage,
            "additional_context": additional_context,
            "model": model,
            "project_id": project_id,
            "reasoning_effort": reasoning_effort,
            "max_completion_tokens": max_completion_tokens,
            "allow_truncated": allow_truncated,
        }
        return self._generate("tests", inputs, dry_run)  # type: ignore[no-any-return]

    # -- I/O -----------------------------------------------------------------------------------

    def _generate(self, kind: str, inputs: Mapping[str, Any], dry_run: bool) -> Any:
        generation = self._prepare(kind, inputs)
        if dry_run:
            return generation.chat
        self._check_projects([generation])
        return self._record(generation, self._complete(generation))

    def _check_projects(self, generations: Sequence[Generation]) -> None:
        profile = self._profile_check()
        if profile is not None:
            if self._store.execute(profile) is None:
                raise self._no_profile()
            self._profile_seen = True
        for check in self._project_checks(generations):
            if self._store.execute(check) is None:
                raise self._no_such_project(check)

    def _complete(self, generation: Generation) -> Completion:
        client = self._client()
        try:
            for attempt in self._retrying(gate=True):
                with attempt:
                    time.sleep(self.gate.delay())
                    started = time.perf_counter()
                    raw = client.chat.completions.with_raw_response.create(
                        **generation.chat.parameters
                    )
                    return completion_from(raw.parse(), raw.headers, started)
        except Exception as exc:
            raise self._failure(exc, generation) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def _failure(self, exc: BaseException, generation: Generation) -> GroqgenError:
        error = translate_groq_error(exc)
        model_error = self._model_error(error)
        if model_error is None:
            return error
        try:
            served: list[GroqModel] | None = self.models()
        except GroqgenError:
            served = None
        return self._with_models(model_error, generation.chat.model, served)

    def models(self) -> list[GroqModel]:
        """The models Groq serves now, by id (asked once per client, then remembered)."""
        if self._models is None:
            try:
                for attempt in self._retrying(gate=True):
                    with attempt:
                        page = self._client().models.list()
            except Exception as exc:
                raise translate_groq_error(exc) from exc
            self._models = self._served(page)
        return self._models

    def _record(self, generation: Generation, completion: Completion) -> Any:
        generation.check(completion)
        return self._store_record(generation.record(completion), generation.kind.table)

    def _write(self, record: ops.Record, watch: StoreWatch | None = None) -> Any:
        """Write ``record`` under the client's retry policy (none once ``watch`` saw it down)."""
        if watch is not None:
            watch.check()
        try:
            for attempt in self._retrying(gate=False, watch=watch):
                with attempt:
                    row = self._store.execute(record)
        except Exception as exc:
            if watch is not None:
                watch.saw(exc)
            raise
        return row

    def _store_record(self, record: ops.Record, table: str) -> Any:
        try:
            row = self._write(record)
        except Exception as exc:
            raise self._parked(record, exc) from exc
        except BaseException as exc:  # Ctrl-C: Groq was paid, so the result is parked first
            raise self._interrupted(record, exc)  # noqa: B904 - it chains the interrupt itself
        return TABLES[table].row.model_validate(row)

    def close(self) -> None:
        """Close the HTTP client if groqgen made it."""
        if self._owns_http and self._http is not None:
            self._http.close()


StreamT = TypeVar("StreamT")


class _StreamFactoryBase(Generic[StreamT]):
    """The four kinds, streamed: typed signatures written once for both flavours."""

    def _open(self, kind: str, inputs: Mapping[str, Any]) -> StreamT:
        raise NotImplementedError

    def prompt(
        self,
        topic: str,
        *,
        prompt_type: str = "writing",
        tone: str = "professional",
        length: int = 50,
        additional_context: str | None = None,
        model: str | None = None,
        project_id: UUID | str | None = None,
        reasoning_effort: ReasoningEffort | None = None,
        max_completion_tokens: int | None = None,
        allow_truncated: bool = False,
    ) -> StreamT:
        """Stream a prompt about ``topic``; the stored row is ``stream.result`` at the end."""
        return self._open(
            "prompt",
            {
                "topic": topic,
                "prompt_type": prompt_type,
                "tone": tone,
                "length": length,
                "additional_context": additional_context,
                "model": model,
                "project_id": project_id,
                "reasoning_effort": reasoning_effort,
                "max_completion_tokens": max_completion_tokens,
                "allow_truncated": allow_truncated,
            },
        )

    def code(
        self,
        description: str,
        *,
        language: str,
        framework: str = "none",
        additional_context: str | None = None,
        model: str | None = None,
        project_id: UUID | str | None = None,
        reasoning_effort: ReasoningEffort | None = None,
        max_completion_tokens: int | None = None,
        allow_truncated: bool = False,
    ) -> StreamT:
        """Stream code for ``description``; the stored row is ``stream.result`` at the end."""
        return self._open(
            "code",
            {
                "description": description,
                "language": language,
                "framework": framework,
                "additional_context": additional_context,
                "model": model,
                "project_id": project_id,
                "reasoning_effort": reasoning_effort,
                "max_completion_tokens": max_completion_tokens,
                "allow_truncated": allow_truncated,
            },
        )

    def review(
        self,
        code: str,
        *,
        language: str,
        review_type: str = "general",
        model: str | None = None,
        project_id: UUID | str | None = None,
        reasoning_effort: ReasoningEffort | None = None,
        max_completion_tokens: int | None = None,
        allow_truncated: bool = False,
    ) -> StreamT:
        """Stream a review of ``code``; the stored row is ``stream.result`` at the end."""
        return self._open(
            "review",
            {
                "code": code,
                "language": language,
                "review_type": review_type,
                "model": model,
                "project_id": project_id,
                "reasoning_effort": reasoning_effort,
                "max_completion_tokens": max_completion_tokens,
                "allow_truncated": allow_truncated,
            },
        )

    def tests(
        self,
        code: str,
        *,
        language: str,
        framework: str = "none",
        test_types: Sequence[str] = ("unit",),
        coverage: str = "moderate",
        additional_context: str | None = None,
        model: str | None = None,
        project_id: UUID | str | None = None,
        reasoning_effort: ReasoningEffort | None = None,
        max_completion_tokens: int | None = None,
        allow_truncated: bool = False,
    ) -> StreamT:
        """Stream a test suite for ``code``; the stored row is ``stream.result`` at the end."""
        return self._open(
            "tests",
            {
                "code": code,
                "language": language,
                "framework": framework,
                "test_types": test_types,
                "coverage": coverage,
                "additional_context": additional_context,
                "model": model,
                "project_id": project_id,
                "reasoning_effort": reasoning_effort,
                "max_completion_tokens": max_completion_tokens,
                "allow_truncated": allow_truncated,
            },
        )


class StreamFactory(_StreamFactoryBase["Stream"]):
    """``client.generate.stream``: the same four kinds, streamed."""

    def __init__(self, generator: Generator) -> None:
        self._generator = generator

    def _open(self, kind: str, inputs: Mapping[str, Any]) -> Stream:
        return Stream(self._generator, self._generator._prepare(kind, inputs))


class _StreamBase:
    """What both stream flavours hold: the generator, what arrived, and the stored row."""

    def __init__(self, generator: Any, generation: Generation) -> None:
        self._generator = generator
        self._state = _StreamState(generation)
        self._response: Any = None
        self._result: Any = None

    @property
    def text(self) -> str:
        """The answer text received so far (never the model's reasoning)."""
        return "".join(self._state.pieces)

    @property
    def reasoning(self) -> str:
        """What the model showed of its reasoning so far; never stored.

        groqgen asks Groq to leave the reasoning out, so this is usually empty; it holds a
        ``<think>`` block a model sent anyway.
        """
        return "\n".join(part for part in self._state.reasoning if part)

    @property
    def result(self) -> Any:
        """The stored row, once the stream has been read to its end."""
        if self._result is None:
            raise GenerationError("the stream has not been read to its end; nothing is recorded")
        return self._result


class Stream(_StreamBase):
    """A streamed generation: iterate it for text deltas; ``result`` is the stored row.

    The row is recorded once, after the last chunk, with the usage Groq reports at the end. A
    stream that breaks off, or that is left before its end, records nothing.
    """

    _generator: Generator

    def __enter__(self) -> Stream:
        generator = self._generator
        generator._check_projects([self._state.generation])
        client = generator._client()
        parameters = {**self._state.generation.chat.parameters, "stream": True}
        try:
            for attempt in generator._retrying(gate=True):
                with attempt:
                    time.sleep(generator.gate.delay())
                    raw = client.chat.completions.with_raw_response.create(**parameters)
                    self._state.request_id = raw.headers.get("x-request-id")
                    self._response = raw.parse()
        except Exception as exc:
            raise generator._failure(exc, self._state.generation) from exc
        return self

    def __iter__(self) -> Iterator[str]:
        if self._response is None:
            raise GenerationError("use the stream in a with block: with client.generate.stream...")
        try:
            for chunk in self._response:
                delta = self._state.feed(chunk)
                if delta:
                    yield delta
        except GroqgenError:
            raise
        except Exception as exc:
            raise self._generator._failure(exc, self._state.generation) from exc
        generation = self._state.generation
        self._result = self._generator._record(generation, self._state.completion())

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._response is not None:
            self._response.close()


class _OutboxBase:
    """The journal and the generator whose store and retry policy replay it."""

    def __init__(self, outbox: Outbox, generator: Any) -> None:
        self._outbox = outbox
        self._generator = generator

    @property
    def path(self) -> Path:
        """Where the journal lives."""
        return self._outbox.path

    @property
    def rejects_path(self) -> Path:
        """Where damaged journal lines are set aside."""
        return self._outbox.rejects_path

    def identity(self) -> Identity:
        """The store and user whose entries this client flushes (no store I/O)."""
        return self._outbox.identity()


class OutboxClient(_OutboxBase):
    """``client.outbox``: generations that are paid for but not recorded yet."""

    _generator: Generator

    def pending(self, *, all_accounts: bool = False) -> list[PendingGeneration]:
        """Entries of this client's store and user not recorded yet, oldest first.

        ``all_accounts=True`` lists every entry of this home, whatever its store or user.
        """
        return self._outbox.pending(all_accounts=all_accounts)

    def flush(self) -> FlushResult:
        """Record every pending entry of this store and user (idempotent: nothing twice).

        Entries of other stores or users are left for them (``left_for_others``); an entry the
        store refuses is reported (``failed``, ``permanent``) and does not stop the others.
        """
        flush = Flush(self._outbox)
        for entry in flush.entries:
            try:
                self._generator._write(entry.to_record(), flush.watch)
            except Exception as exc:
                flush.failed(entry, exc)
            else:
                flush.recorded(entry)
        return flush.finish()

    def discard(self, id: UUID | str) -> PendingGeneration:
        """Drop the pending entry ``id`` on purpose (it is never recorded); returns it.

        Raises :class:`~groqgen.NotFound` when no entry with that id is pending.
        """
        return self._outbox.discard(id)

    def rejects(self) -> list[DamagedLine]:
        """Every damaged line set aside from the journal so far (line number, why, text)."""
        return self._outbox.rejects()


# -- asyncio ------------------------------------------------------------------------------------


class AsyncGenerator(_GeneratorBase):
    """``client.generate`` for :class:`~groqgen.AsyncClient`.

    Every method is awaitable, plus :meth:`many` for batches.
    """

    _asynchronous = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stream = AsyncStreamFactory(self)
        self._models_lock: asyncio.Lock | None = None

    async def prompt(
        self,
        topic: str,
        *,
        prompt_type: str = "writing",
        tone: str = "professional",
        length: int = 50,
        additional_context: str | None = None,
        model: str | None = None,
        project_id: UUID | str | None = None,
        reasoning_effort: ReasoningEffort | None = None,
        max_completion_tokens: int | None = None,
        allow_truncated: bool = False,
        dry_run: bool = False,
    ) -> Any:
        """Generate a prompt about ``topic`` and record it (``dry_run``: only show the request)."""
        return await self._generate(
            "prompt",
            {
                "topic": topic,
                "prompt_type": prompt_type,
                "tone": tone,
                "length": length,
                "additional_context": additional_context,
                "model": model,
                "project_id": project_id,
                "reasoning_effort": reasoning_effort,
                "max_completion_tokens": max_completion_tokens,
                "allow_truncated": allow_truncated,
            },
            dry_run,
        )

    async def code(
        self,
        description: str,
        *,
        language: str,
        framework: str = "none",
        additional_context: str | None = None,
        model: str | None = None,
        project_id: UUID | str | None = None,
        reasoning_effort: ReasoningEffort | None = None,
        max_completion_tokens: int | None = None,
        allow_truncated: bool = False,
        dry_run: bool = False,
    ) -> Any:
        """Generate code that does what ``description`` says, and record it."""
        return await self._generate(
            "code",
            {
                "description": description,
                "language": language,
                "framework": framework,
                "additional_context": additional_context,
                "model": model,
                "project_id": project_id,
                "reasoning_effort": reasoning_effort,
                "max_completion_tokens": max_completion_tokens,
                "allow_truncated": allow_truncated,
            },
            dry_run,
        )

    async def review(
        self,
        code: str,
        *,
        language: str,
        review_type: str = "general",
        model: str | None = None,
        project_id: UUID | str | None = None,
        reasoning_effort: ReasoningEffort | None = None,
        max_completion_tokens: int | None = None,
        allow_truncated: bool = False,
        dry_run: bool = False,
    ) -> Any:
        """Review ``code`` and record the review."""
        return await self._generate(
            "review",
            {
                "code": code,
                "language": language,
                "review_type": review_type,
                "model": model,
                "project_id": project_id,
                "reasoning_effort": reasoning_effort,
                "max_completion_tokens": max_completion_tokens,
                "allow_truncated": allow_truncated,
            },
            dry_run,
        )

    async def tests(
        self,
        code: str,
        *,
        language: str,
        framework: str = "none",
        test_types: Sequence[str] = ("unit",),
        coverage: str = "moderate",
        additional_context: str | None = None,
        model: str | None = None,
        project_id: UUID | str | None = None,
        reasoning_effort: ReasoningEffort | None = None,
        max_completion_tokens: int | None = None,
        allow_truncated: bool = False,
        dry_run: bool = False,
    ) -> Any:
        """Generate a test suite for ``code`` in ``framework`` and record it."""
        return await self._generate(
            "tests",
            {
                "code": code,
                "language": language,
                "framework": framework,
                "test_types": test_types,
                "coverage": coverage,
                "additional_context": additional_context,
                "model": model,
                "project_id": project_id,
                "reasoning_effort": reasoning_effort,
                "max_completion_tokens": max_completion_tokens,
                "allow_truncated": allow_truncated,
            },
            dry_run,
        )

    async def many(
        self, requests: Iterable[Any], *, concurrency: int = 8, progress: bool | None = None
    ) -> list[BatchItem]:
        """Run a batch with at most ``concurrency`` generations at once.

        ``requests`` are :class:`~groqgen.generation.PromptRequest` (and the other request
        models) or mappings with ``kind=``. Every request is validated before the first one is
        sent. Results come back in input order, each with its row or its error; one failure
        does not stop the batch. When Groq signals a rate limit, the whole batch waits. Once a
        recording failed for want of the store (after its retries), the rest of the batch's
        generations go straight to the outbox, each item's error a ``RecordingFailed`` carrying
        its result, instead of each waiting a full timeout per attempt. A
        progress bar is shown when a terminal or notebook is attached (``progress=`` forces
        it on or off).
        """
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise ValidationError(
                "concurrency must be a whole number of at least 1", field="concurrency"
            )
        items = list(requests)
        prepared = [self._as_request(item) for item in items]
        generations = [self._prepare(kind, inputs) for kind, inputs in prepared]
        await self._check_projects(generations)
        results: list[BatchItem | None] = [None] * len(items)
        slots = asyncio.Semaphore(concurrency)
        bar = _Progress(len(items), progress)
        # Once a recording failed for want of the store, the rest of the batch's generations
        # go straight to the outbox instead of each waiting a full timeout x attempts.
        watch = StoreWatch()

        async def run(index: int, generation: Generation) -> None:
            async with slots:
                try:
                    completion = await self._complete(generation)
                    row = await self._record(generation, completion, watch)
                    results[index] = BatchItem(items[index], result=row)
                except GroqgenError as exc:
                    results[index] = BatchItem(items[index], error=exc)
                bar.advance(results[index])

        try:
            await asyncio.gather(*(run(i, g) for i, g in enumerate(generations)))
        finally:
            bar.close()
        return [r for r in results if r is not None]

    # -- I/O -----------------------------------------------------------------------------------

    async def _generate(self, kind: str, inputs: Mapping[str, Any], dry_run: bool) -> Any:
        generation = self._prepare(kind, inputs)
        if dry_run:
            return generation.chat
        await self._check_projects([generation])
        return await self._record(generation, await self._complete(generation))

    async def _check_projects(self, generations: Sequence[Generation]) -> None:
        profile = self._profile_check()
        if profile is not None:
            if await self._store.execute(profile) is None:
                raise self._no_profile()
            self._profile_seen = True
        for check in self._project_checks(generations):
            if await self._store.execute(check) is None:
                raise self._no_such_project(check)

    async def _complete(self, generation: Generation) -> Completion:
        client = self._client()
        try:
            async for attempt in self._retrying(gate=True):
                with attempt:
                    await asyncio.sleep(self.gate.delay())
                    started = time.perf_counter()
                    raw = await client.chat.completions.with_raw_response.create(
                        **generation.chat.parameters
                    )
                    return completion_from(await raw.parse(), raw.headers, started)
        except Exception as exc:
            raise await self._failure(exc, generation) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    async def _failure(self, exc: BaseException, generation: Generation) -> GroqgenError:
        error = translate_groq_error(exc)
        model_error = self._model_error(error)
        if model_error is None:
            return error
        try:
            served: list[GroqModel] | None = await self.models()
        except GroqgenError:
            served = None
        return self._with_models(model_error, generation.chat.model, served)

    async def models(self) -> list[GroqModel]:
        """The models Groq serves now, by id (asked once per client, then remembered)."""
        if self._models is None:
            try:
                async for attempt in self._retrying(gate=True):
                    with attempt:
                        page = await self._client().models.list()
            except Exception as exc:
                raise translate_groq_error(exc) from exc
            self._models = self._served(page)
        return self._models

    async def _record(
        self, generation: Generation, completion: Completion, watch: StoreWatch | None = None
    ) -> Any:
        generation.check(completion)
        record = generation.record(completion)
        return await self._store_record(record, generation.kind.table, watch)

    async def _write(self, record: ops.Record, watch: StoreWatch | None = None) -> Any:
        """Write ``record`` under the client's retry policy (none once ``watch`` saw it down)."""
        if watch is not None:
            watch.check()
        try:
            async for attempt in self._retrying(gate=False, watch=watch):
                with attempt:
                    row = await self._store.execute(record)
        except Exception as exc:
            if watch is not None:
                watch.saw(exc)
            raise
        return row

    async def _store_record(
        self, record: ops.Record, table: str, watch: StoreWatch | None = None
    ) -> Any:
        try:
            row = await self._write(record, watch)
        except Exception as exc:
            raise await asyncio.to_thread(self._parked, record, exc) from exc
        except BaseException as exc:  # cancelled, or Ctrl-C: parked first, without awaiting
            raise self._interrupted(record, exc)  # noqa: B904 - it chains the interrupt itself
        return TABLES[table].row.model_validate(row)

    async def close(self) -> None:
        """Close the HTTP client if groqgen made it."""
        if self._owns_http and self._http is not None:
            await self._http.aclose()


class AsyncStreamFactory(_StreamFactoryBase["AsyncStream"]):
    """``client.generate.stream`` for asyncio: ``async with`` what these return."""

    def __init__(self, generator: AsyncGenerator) -> None:
        self._generator = generator

    def _open(self, kind: str, inputs: Mapping[str, Any]) -> AsyncStream:
        return AsyncStream(self._generator, self._generator._prepare(kind, inputs))


class AsyncStream(_StreamBase):
    """:class:`Stream` for asyncio: ``async with`` it and ``async for`` the deltas."""

    _generator: AsyncGenerator

    async def __aenter__(self) -> AsyncStream:
        generator = self._generator
        await generator._check_projects([self._state.generation])
        client = generator._client()
        parameters = {**self._state.generation.chat.parameters, "stream": True}
        try:
            async for attempt in generator._retrying(gate=True):
                with attempt:
                    await asyncio.sleep(generator.gate.delay())
                    raw = await client.chat.completions.with_raw_response.create(**parameters)
                    self._state.request_id = raw.headers.get("x-request-id")
                    self._response = await raw.parse()
        except Exception as exc:
            raise await generator._failure(exc, self._state.generation) from exc
        return self

    async def __aiter__(self) -> AsyncIterator[str]:
        if self._response is None:
            raise GenerationError("use the stream in an async with block")
        try:
            async for chunk in self._response:
                delta = self._state.feed(chunk)
                if delta:
                    yield delta
        except GroqgenError:
            raise
        except Exception as exc:
            raise await self._generator._failure(exc, self._state.generation) from exc
        generation = self._state.generation
        self._result = await self._generator._record(generation, self._state.completion())

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._response is not None:
            await self._response.close()


class AsyncOutboxClient(_OutboxBase):
    """``client.outbox`` for asyncio."""

    _generator: AsyncGenerator

    async def pending(self, *, all_accounts: bool = False) -> list[PendingGeneration]:
        """Entries of this client's store and user not recorded yet, oldest first."""
        return await asyncio.to_thread(self._outbox.pending, all_accounts=all_accounts)

    async def flush(self) -> FlushResult:
        """Record every pending entry of this store and user (idempotent)."""
        flush = await asyncio.to_thread(Flush, self._outbox)
        for entry in flush.entries:
            try:
                await self._generator._write(entry.to_record(), flush.watch)
            except Exception as exc:
                flush.failed(entry, exc)
            else:
                await asyncio.to_thread(flush.recorded, entry)
        return await asyncio.to_thread(flush.finish)

    async def discard(self, id: UUID | str) -> PendingGeneration:
        """Drop the pending entry ``id`` on purpose; returns it (``NotFound`` if none)."""
        return await asyncio.to_thread(self._outbox.discard, id)

    async def rejects(self) -> list[DamagedLine]:
        """Every damaged line set aside from the journal so far."""
        return await asyncio.to_thread(self._outbox.rejects)


class _Progress:
    """A progress line on a terminal or a bar in a notebook; silent otherwise."""

    def __init__(self, total: int, wanted: bool | None) -> None:
        self.total, self.done, self.failed = total, 0, 0
        self._bar: Any = None
        self._line = False
        if wanted is False or total == 0:
            return
        in_notebook = "ipykernel" in sys.modules
        if wanted or in_notebook or sys.stderr.isatty():
            try:
                from tqdm.auto import tqdm  # type: ignore[import-untyped, import-not-found, unused-ignore]

                self._bar = tqdm(total=total, desc="generating", unit="gen")
            except ImportError:
                self._line = True

    def advance(self, item: BatchItem | None) -> None:
        self.done += 1
        if item is not None and not item.ok:
            self.failed += 1
        if self._bar is not None:
            self._bar.update(1)
            if self.failed:
                self._bar.set_postfix(failed=self.failed)
        elif self._line:
            sys.stderr.write(f"\rgenerating {self.done}/{self.total}  failed {self.failed}")
            sys.stderr.flush()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        elif self._line:
            sys.stderr.write("\n")
