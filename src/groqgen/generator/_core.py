"""Every decision the sync and async generators share; the flavours only do I/O.

A flavour names its own collaborators (the groq SDK class, its httpx client, its recorder);
nothing here asks which flavour it is.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ..catalog import GroqModel
from ..errors import (
    ConfigurationError,
    GenerationError,
    GroqgenError,
    PermissionDenied,
    ValidationError,
)
from ..generation import KINDS, Completion, Generation, _Request, known_limit
from ..observe import GenerationSpan, Observer
from ..retry import RateGate, RetryPolicy
from ..stores import ops
from ..templates import DEFAULT_TEMPLATES, Template
from ..transport import MODEL_ERRORS, require_api_key
from ._reading import StreamState

if TYPE_CHECKING:
    from .._config import Settings

__all__ = ["BatchItem", "GeneratorCore", "StreamCore"]

RowT = TypeVar("RowT")


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


class GeneratorCore:
    """Settings, templates, the retry policy and rate gate, and every shared decision."""

    def __init__(
        self,
        settings: Settings,
        *,
        templates: Mapping[str, Template] | None,
        http_client: Any,
        policy: RetryPolicy,
        observer: Observer | None = None,
    ) -> None:
        self._settings = settings
        self.observer = observer if observer is not None else Observer()
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
        self.policy = policy
        self.gate = RateGate()

    # -- the groq SDK client, over groqgen's one httpx client ------------------------------------

    def _groq_class(self) -> Any:
        """The groq SDK's client class for this flavour."""
        raise NotImplementedError

    def _new_http_client(self) -> Any:
        """Groqgen's own httpx client for this flavour."""
        raise NotImplementedError

    def _client(self) -> Any:
        """The groq SDK client, made on first use over groqgen's httpx client."""
        if self._groq is None:
            options = self._groq_options()
            if self._http is None:
                self._http = self._new_http_client()
            self._groq = self._groq_class()(http_client=self._http, **options)
        return self._groq

    def _groq_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {
            "api_key": require_api_key(self._settings.groq_api_key),
            "max_retries": 0,  # one retry policy: ours
            "timeout": self._settings.timeout,
        }
        if self._settings.groq_base_url:
            options["base_url"] = self._settings.groq_base_url
        return options

    # -- requests ----------------------------------------------------------------------------------

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

    # -- Groq's answers and failures ---------------------------------------------------------------

    @staticmethod
    def _served(page: Any) -> list[GroqModel]:
        data = getattr(page, "data", None) or []
        models = [
            GroqModel.from_api(m.model_dump() if hasattr(m, "model_dump") else dict(m))
            for m in data
        ]
        return sorted((m for m in models if m.id and m.active), key=lambda m: m.id)

    @staticmethod
    def _model_error(error: GroqgenError) -> GenerationError | None:
        if isinstance(error, GenerationError) and error.code in MODEL_ERRORS:
            return error
        return None

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

    # -- checks before paying ----------------------------------------------------------------------

    def _checks(self, generations: Sequence[Generation]) -> list[tuple[ops.Get, GroqgenError]]:
        """Lookups that must find a row before Groq is paid, each with the error if not.

        The acting user's profile (once per client, when acting for a given user: a
        ``user_id`` without a profile could never be recorded) and each distinct project named
        (an unknown project, or somebody else's).
        """
        checks: list[tuple[ops.Get, GroqgenError]] = []
        user_id = self._settings.user_id
        if user_id is not None and not self._profile_seen:
            checks.append(
                (
                    ops.Get("profiles", user_id, ops.Scope()),
                    ConfigurationError(
                        f"user {user_id} has no profile in this database, so nothing can be "
                        "recorded for them; check user_id (--user-id) or sign the user up "
                        "first. Nothing was sent to Groq",
                        setting="user_id",
                    ),
                )
            )
        projects = {g.request.project_id for g in generations if g.request.project_id}
        for project in sorted(projects, key=str):
            checks.append(
                (
                    ops.Get("projects", project, ops.Scope()),
                    PermissionDenied(
                        f"project {project} does not exist or is not yours; nothing was sent "
                        "to Groq"
                    ),
                )
            )
        return checks

    def _checked(self, check: ops.Get, found: Any, error: GroqgenError) -> None:
        """Note what a check found; raise its error when it found nothing."""
        if found is None:
            raise error
        if check.table == "profiles":
            self._profile_seen = True


class StreamCore(Generic[RowT]):
    """What both stream flavours hold: the generation, what arrived, and the stored row."""

    def __init__(self, generation: Generation) -> None:
        self._state = StreamState(generation)
        self._response: Any = None
        self._result: RowT | None = None
        self._span: GenerationSpan | None = None

    def _failed(self, exc: BaseException) -> None:
        """End the stream's span as failed with ``exc``."""
        if self._span is not None:
            self._span.fail(exc)
            self._span.end()

    @contextlib.contextmanager
    def _finishing(self, observer: Observer) -> Iterator[Completion]:
        """Around recording the finished stream: yields the completion, ends the span."""
        assert self._span is not None
        with self._span.active():
            try:
                completion = self._state.completion()
                observer.completed(completion)
                yield completion
            except BaseException as exc:
                self._failed(exc)
                raise
        self._span.end()

    def _ended(self, exc: BaseException | None) -> None:
        """End the stream's span when the stream is left (failed if left by ``exc``)."""
        if exc is not None:
            self._failed(exc)
        elif self._span is not None:
            self._span.end()

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
    def result(self) -> RowT:
        """The stored row, once the stream has been read to its end."""
        if self._result is None:
            raise GenerationError("the stream has not been read to its end; nothing is recorded")
        return self._result
