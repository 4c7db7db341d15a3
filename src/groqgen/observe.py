"""Observability, decided once: logging, OpenTelemetry GenAI spans and ``on_generation`` hooks.

**Logging.** One tree under ``logging.getLogger("groqgen")``: ``groqgen.generate`` (one INFO
record per recorded generation — kind, model, tokens, latency, request id, row id, also in the
record's ``extra`` fields — and a WARNING per retried Groq call, with the wait),
``groqgen.store`` (DEBUG per store operation, WARNING per retried store call),
``groqgen.outbox`` (WARNING per generation parked) and ``groqgen.auth`` (sign-in, sign-out,
refresh). The library installs no handler but a ``NullHandler``; records never hold a secret,
a token, a prompt's text or code: only names, counts, timings and ids.

**OpenTelemetry** (``pip install 'groqgen[otel]'``; without ``opentelemetry-api`` all of this
is a no-op): one span per generation, ``chat {model}``, with the GenAI semantic conventions'
attributes, and child spans for the Groq call (``groq.chat``, each retry an event) and the
store write (``groqgen.record``). An error sets the span's status. Message content is recorded
only when ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true``.

**Hooks.** ``Client(on_generation=callable)`` (on :class:`~groqgen.AsyncClient`, async
callables too) is called after each recorded generation with a :class:`GenerationEvent`. The
generation is stored before the hook runs; a hook that raises is logged and changes nothing.

The generator and the recorder (sync and async) call into :class:`Observer`; what to log, which
attributes a span carries and what an event holds are decided here.
"""

from __future__ import annotations

import contextlib
import contextvars
import inspect
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from uuid import UUID

from ._version import __version__
from .stores import ops
from .usage import GENERATION_KINDS

if TYPE_CHECKING:
    from .generation import Completion, DryRun
    from .prices import PriceTable

__all__ = [
    "CAPTURE_CONTENT",
    "GenerationEvent",
    "GenerationHook",
    "Observer",
    "note_auth",
    "note_retry",
    "store_operation",
]

_ROOT = logging.getLogger("groqgen")
if not any(isinstance(h, logging.NullHandler) for h in _ROOT.handlers):
    _ROOT.addHandler(logging.NullHandler())  # the application decides where records go
generate_log = logging.getLogger("groqgen.generate")
store_log = logging.getLogger("groqgen.store")
outbox_log = logging.getLogger("groqgen.outbox")
auth_log = logging.getLogger("groqgen.auth")

CAPTURE_CONTENT = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
"""The variable that opts in to recording message content on spans (``true``)."""

_TOKEN_FIELDS = (
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "reasoning_tokens",
    "cached_tokens",
)

# The generation span this context works inside, if any (the recorder opens one of its own for
# a generation recorded outside the generator: a Batch API result).
_ACTIVE: contextvars.ContextVar[Any] = contextvars.ContextVar(
    "groqgen_generation_span", default=None
)


# -- the event -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class GenerationEvent:
    """What a hook is told about a generation that was just recorded.

    ``row`` is the stored row (a :class:`~groqgen.Prompt`, :class:`~groqgen.CodeGeneration`,
    ...); ``usage`` Groq's token counts (None where Groq gave none); ``cost_usd`` its price under
    the client's price table (None if unknown); ``batch``: it came through Groq's Batch API.
    """

    kind: str
    table: str
    row: Any
    row_id: UUID
    model: str | None
    usage: Mapping[str, int | None]
    cost_usd: float | None
    latency_ms: float | None
    request_id: str | None
    project_id: UUID | None = None
    batch: bool = False
    recorded_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))


GenerationHook = Callable[[GenerationEvent], "Awaitable[None] | None"]
"""A callable given each :class:`GenerationEvent` (it may return an awaitable on AsyncClient)."""


def _number(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return int(value)


def generation_event(record: ops.Record, row: Any, prices: PriceTable | None) -> GenerationEvent:
    """The event for ``record`` once stored as ``row`` (from its activity entry alone)."""
    metadata: Mapping[str, Any] = record.activity.get("metadata") or {}
    usage = {name: _number(metadata.get(name)) for name in _TOKEN_FIELDS}
    model = metadata.get("model") if isinstance(metadata.get("model"), str) else None
    batch = metadata.get("batch") is True
    cost = None
    price = prices.price(model) if prices is not None else None
    prompt, completion = usage["prompt_tokens"], usage["completion_tokens"]
    if price is not None and prompt is not None and completion is not None:
        cached = min(usage["cached_tokens"] or 0, prompt)
        cost = float(price.cost(prompt, completion, cached, batch=batch))
    latency, request_id = metadata.get("latency_ms"), metadata.get("request_id")
    kind = GENERATION_KINDS.get(str(record.activity.get("activity_type")), record.table)
    project = record.values.get("project_id")
    if isinstance(row, Mapping):  # what the store answered: the table's row model, for hooks
        from .models import TABLES

        row = TABLES[record.table].row.model_validate(row)
    return GenerationEvent(
        kind=kind,
        table=record.table,
        row=row,
        row_id=UUID(str(record.values["id"])),
        model=model,
        usage=usage,
        cost_usd=cost,
        latency_ms=float(latency) if isinstance(latency, (int, float)) else None,
        request_id=request_id if isinstance(request_id, str) else None,
        project_id=UUID(str(project)) if project else None,
        batch=batch,
    )


def log_fields(event: GenerationEvent) -> dict[str, Any]:
    """The ``extra`` fields of a generation's INFO record: names, counts, timings and ids."""
    return {
        "kind": event.kind,
        "table": event.table,
        "model": event.model,
        **dict(event.usage),
        "latency_ms": event.latency_ms,
        "request_id": event.request_id,
        "row_id": str(event.row_id),
        "cost_usd": event.cost_usd,
        "batch": event.batch,
    }


# -- spans ---------------------------------------------------------------------------------------


def request_attributes(chat: DryRun, *, stream: bool = False) -> dict[str, Any]:
    """A generation span's attributes known before Groq is called (GenAI conventions)."""
    parameters = chat.parameters
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.system": "groq",
        "gen_ai.request.model": chat.model,
        "groqgen.kind": chat.kind,
        "groqgen.stream": stream,
        "groqgen.template_version": chat.template_version,
    }
    if isinstance(parameters.get("max_completion_tokens"), int):
        attributes["gen_ai.request.max_tokens"] = parameters["max_completion_tokens"]
    if isinstance(parameters.get("temperature"), (int, float)):
        attributes["gen_ai.request.temperature"] = float(parameters["temperature"])
    if chat.reasoning_effort:
        attributes["groqgen.reasoning_effort"] = chat.reasoning_effort
    return attributes


def response_attributes(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """A generation span's attributes from what was recorded (its activity metadata)."""
    attributes: dict[str, Any] = {
        "gen_ai.response.finish_reasons": ["length" if metadata.get("truncated") else "stop"],
    }
    pairs = (
        ("gen_ai.response.model", metadata.get("model")),
        ("gen_ai.usage.input_tokens", _number(metadata.get("prompt_tokens"))),
        ("gen_ai.usage.output_tokens", _number(metadata.get("completion_tokens"))),
        ("groqgen.usage.reasoning_tokens", _number(metadata.get("reasoning_tokens"))),
        ("groqgen.usage.cached_tokens", _number(metadata.get("cached_tokens"))),
        ("groqgen.request_id", metadata.get("request_id")),
        ("groqgen.table", metadata.get("table")),
        ("groqgen.record_id", metadata.get("record_id")),
    )
    attributes.update({k: v for k, v in pairs if v is not None})
    if metadata.get("batch") is True:
        attributes["groqgen.batch"] = True
    return attributes


def _otel() -> Any:
    """The ``opentelemetry.trace`` module, or None when ``opentelemetry-api`` is missing."""
    try:
        from opentelemetry import trace
    except ImportError:
        return None
    return trace


class GenerationSpan:
    """The span of one generation: opened, made current around each piece of work, ended once."""

    def __init__(self, observer: Observer, name: str, attributes: Mapping[str, Any]) -> None:
        self._observer = observer
        self._span: Any = None
        trace = observer.trace
        if trace is not None:
            self._span = observer.tracer.start_span(
                name, kind=trace.SpanKind.CLIENT, attributes=dict(attributes)
            )

    @contextlib.contextmanager
    def active(self) -> Iterator[GenerationSpan]:
        """Make this the current span (and the current generation) for the block."""
        token = _ACTIVE.set(self)
        try:
            if self._span is None:
                yield self
            else:
                with self._observer.trace.use_span(self._span, end_on_exit=False):
                    yield self
        finally:
            _ACTIVE.reset(token)

    def set(self, attributes: Mapping[str, Any]) -> None:
        """Add attributes (None values are left out)."""
        if self._span is not None:
            self._span.set_attributes({k: v for k, v in attributes.items() if v is not None})

    def fail(self, exc: BaseException) -> None:
        """Mark the span failed with ``exc`` (its type and message; never content)."""
        if self._span is not None and self._span.is_recording():
            from opentelemetry.trace import Status, StatusCode

            self._span.set_attribute("error.type", type(exc).__qualname__)
            self._span.record_exception(exc)
            self._span.set_status(Status(StatusCode.ERROR, type(exc).__qualname__))

    def end(self) -> None:
        """End the span (once)."""
        if self._span is not None:
            self._span.end()
            self._span = None


class Observer:
    """A client's logging, tracing and hooks; the generator and recorder report to it.

    ``hooks``: called with each :class:`GenerationEvent`. ``prices``: for the event's cost.
    ``capture_content``: record messages on spans (default: ``CAPTURE_CONTENT`` is ``true``).
    """

    def __init__(
        self,
        hooks: Sequence[GenerationHook] = (),
        prices: PriceTable | None = None,
        *,
        capture_content: bool | None = None,
    ) -> None:
        for hook in hooks:
            if not callable(hook):
                from .errors import ConfigurationError

                raise ConfigurationError(
                    "on_generation= takes a callable (or a list of them) that receives a "
                    "GenerationEvent",
                    setting="on_generation",
                )
        self.hooks = tuple(hooks)
        self.prices = prices
        if capture_content is None:
            capture_content = os.environ.get(CAPTURE_CONTENT, "").lower() == "true"
        self.capture_content = capture_content
        self.trace = _otel()
        self.tracer: Any = (
            None if self.trace is None else self.trace.get_tracer("groqgen", __version__)
        )

    @classmethod
    def with_hooks(cls, hooks: Any, prices: PriceTable | None = None) -> Observer:
        """An observer for ``on_generation=``: None, a callable, or a list of callables."""
        if hooks is None:
            return cls((), prices)
        if callable(hooks):
            return cls((hooks,), prices)
        if isinstance(hooks, (list, tuple)):
            return cls(tuple(hooks), prices)
        return cls((hooks,), prices)  # refused by __init__, naming the setting

    # -- spans of a generation -------------------------------------------------------------------

    def generation(self, chat: DryRun, *, stream: bool = False) -> GenerationSpan:
        """Open the span of a generation about to be made (end it with ``.end()``)."""
        span = GenerationSpan(self, f"chat {chat.model}", request_attributes(chat, stream=stream))
        if self.capture_content:
            span.set({"gen_ai.input.messages": json.dumps(chat.messages, ensure_ascii=False)})
        return span

    @contextlib.contextmanager
    def generating(self, chat: DryRun) -> Iterator[GenerationSpan]:
        """The span of one generation around the block (ended, failed on an exception)."""
        span = self.generation(chat)
        try:
            with span.active():
                yield span
        except BaseException as exc:
            span.fail(exc)
            raise
        finally:
            span.end()

    @contextlib.contextmanager
    def child(self, name: str, attributes: Mapping[str, Any] | None = None) -> Iterator[Any]:
        """A child span of the current one (the Groq call, the store write)."""
        if self.tracer is None:
            yield None
            return
        with self.tracer.start_as_current_span(name, attributes=dict(attributes or {})) as span:
            try:
                yield span
            except BaseException as exc:
                span.set_attribute("error.type", type(exc).__qualname__)
                raise

    def groq_call(self, chat: DryRun) -> contextlib.AbstractContextManager[Any]:
        """The child span of the Groq call (retries are its events)."""
        return self.child(
            "groq.chat",
            {"gen_ai.system": "groq", "gen_ai.request.model": chat.model, "server.address": "groq"},
        )

    def completed(self, completion: Completion) -> None:
        """Note what Groq answered on the current generation span."""
        span = _ACTIVE.get()
        if span is None:
            return
        span.set(
            {
                "gen_ai.response.model": completion.model or None,
                "gen_ai.response.id": completion.response_id,
                "gen_ai.response.finish_reasons": [completion.finish_reason or "unknown"],
            }
        )
        if self.capture_content:
            output = [{"role": "assistant", "content": completion.text}]
            span.set({"gen_ai.output.messages": json.dumps(output, ensure_ascii=False)})

    @contextlib.contextmanager
    def recording(self, record: ops.Record) -> Iterator[Callable[[Any], GenerationEvent | None]]:
        """Around a store write of a generation; yields what to call once it is stored.

        A generation recorded outside any generation span (a Batch API result) gets a span of
        its own, from what its activity entry says.
        """
        metadata: Mapping[str, Any] = record.activity.get("metadata") or {}
        own: GenerationSpan | None = None
        if _ACTIVE.get() is None and self.tracer is not None:
            model = str(metadata.get("model") or "unknown")
            kind = GENERATION_KINDS.get(str(record.activity.get("activity_type")), record.table)
            own = GenerationSpan(
                self,
                f"chat {model}",
                {
                    "gen_ai.operation.name": "chat",
                    "gen_ai.system": "groq",
                    "gen_ai.request.model": model,
                    "groqgen.kind": kind,
                },
            )
        outer = own.active() if own is not None else contextlib.nullcontext()

        def stored(row: Any) -> GenerationEvent | None:
            try:
                event = generation_event(record, row, self.prices)
                span = _ACTIVE.get()
                if span is not None:
                    span.set(response_attributes(metadata))
                    span.set({"groqgen.cost_usd": event.cost_usd})
                self.log_generation(event)
            except Exception as exc:  # the row is stored: reporting it must not undo that
                generate_log.error("could not report a recorded generation", exc_info=exc)
                return None
            return event

        try:
            with outer, self.child("groqgen.record", {"groqgen.table": record.table}):
                yield stored
        except BaseException as exc:
            if own is not None:
                own.fail(exc)
            raise
        finally:
            if own is not None:
                own.end()

    # -- logging and hooks -----------------------------------------------------------------------

    @staticmethod
    def log_generation(event: GenerationEvent) -> None:
        """One INFO record on ``groqgen.generate`` (fields in ``extra`` too)."""
        if not generate_log.isEnabledFor(logging.INFO):
            return
        tokens = event.usage.get("total_tokens")
        generate_log.info(
            "recorded %s generation %s in %s: model %s, %s tokens, %s ms, request %s",
            event.kind,
            event.row_id,
            event.table,
            event.model,
            "?" if tokens is None else tokens,
            "?" if event.latency_ms is None else f"{event.latency_ms:.0f}",
            event.request_id,
            extra=log_fields(event),
        )

    def _failed_hook(self, hook: Any, exc: BaseException) -> None:
        generate_log.error(
            "the on_generation hook %s raised %s; the generation is recorded all the same",
            getattr(hook, "__qualname__", type(hook).__qualname__),
            type(exc).__qualname__,
            exc_info=exc,
        )

    def notify(self, event: GenerationEvent | None) -> None:
        """Call each hook (an awaitable a hook returns is closed unawaited: use AsyncClient)."""
        if event is None:
            return
        for hook in self.hooks:
            try:
                result = hook(event)
                if inspect.isawaitable(result):
                    close = getattr(result, "close", None)
                    if close is not None:
                        close()
                    raise TypeError("an async hook needs AsyncClient")
            except Exception as exc:
                self._failed_hook(hook, exc)

    async def notify_async(self, event: GenerationEvent | None) -> None:
        """Call each hook, awaiting those that return an awaitable."""
        if event is None:
            return
        for hook in self.hooks:
            try:
                result = hook(event)
                if inspect.isawaitable(result):
                    await result
            except Exception as exc:
                self._failed_hook(hook, exc)


def note_retry(exc: BaseException, seconds: float, attempt: int) -> None:
    """A call failed for a passing reason and is tried again after ``seconds``.

    One WARNING (``groqgen.store`` for a store call, ``groqgen.generate`` for Groq) and an event
    on the current span. Only the error's type and status are told, never its message.
    """
    from .errors import StoreError

    logger = store_log if isinstance(exc, StoreError) else generate_log
    status = getattr(exc, "status_code", None) or getattr(exc, "code", None)
    what = type(exc).__qualname__ + (f" ({status})" if status else "")
    logger.warning(
        "retrying after %s: attempt %d failed, waiting %.2f s",
        what,
        attempt,
        seconds,
        extra={"attempt": attempt, "wait_s": seconds, "error_type": type(exc).__qualname__},
    )
    trace = _otel()
    if trace is not None:
        trace.get_current_span().add_event(
            "retry",
            {"attempt": attempt, "wait_s": float(seconds), "error.type": type(exc).__qualname__},
        )


def note_auth(what: str, user: Any) -> None:
    """A Supabase session event on ``groqgen.auth``: the user's id only (never a token or email).

    Sign-in and sign-out at INFO, a token refresh at DEBUG.
    """
    user_id = getattr(user, "id", user)
    level = logging.DEBUG if what.startswith("refreshed") else logging.INFO
    auth_log.log(level, "%s user %s", what, user_id, extra={"user_id": str(user_id)})


@contextlib.contextmanager
def store_operation(store: str, op: ops.Operation) -> Iterator[None]:
    """DEBUG on ``groqgen.store`` for one operation: which, on which table, how long."""
    if not store_log.isEnabledFor(logging.DEBUG):
        yield
        return
    started = time.perf_counter()
    outcome = "failed"
    try:
        yield
        outcome = "done"
    finally:
        store_log.debug(
            "%s %s on %s %s in %.1f ms",
            store,
            type(op).__name__,
            getattr(op, "table", "activity_logs"),
            outcome,
            (time.perf_counter() - started) * 1000,
            extra={"store": store, "operation": type(op).__name__},
        )
