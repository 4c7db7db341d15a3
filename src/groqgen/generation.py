"""What a generation is, decided once for sync, async, plain and streamed calls.

Nothing here does I/O. A call goes: validate the request → build the chat request from the
kind's template → (the generator calls Groq) → clean the output → build the store operation
that records the row and its activity entry under a client-generated id.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import Field

from . import catalog
from .errors import GenerationError, TruncatedGeneration, ValidationError
from .models import (
    TABLES,
    CodeFields,
    Input,
    Label,
    PromptFields,
    ReviewFields,
    TestsFields,
    validate_input,
)
from .presentation import shorten
from .stores import ops
from .templates import DEFAULT_TEMPLATES, Template

__all__ = [
    "KINDS",
    "CodeRequest",
    "Completion",
    "DryRun",
    "Generation",
    "Kind",
    "PromptRequest",
    "ReviewRequest",
    "TestsRequest",
]


# -- requests --------------------------------------------------------------------------------


class _Request(Input):
    """A generation request: the kind's fields, plus how to ask the model.

    ``model`` (else the client's default), ``reasoning_effort`` (else the client's setting for
    the kind, else the model's default), ``max_completion_tokens`` (else derived: the wanted
    output plus room for reasoning) and ``allow_truncated`` (record a cut-off answer instead of
    raising :class:`~groqgen.TruncatedGeneration`).
    """

    model: Label | None = None
    reasoning_effort: catalog.ReasoningEffort | None = None
    max_completion_tokens: Annotated[int, Field(strict=True, ge=1, le=1_000_000)] | None = None
    allow_truncated: Annotated[bool, Field(strict=True)] = False


OPTIONS = frozenset({"model", "reasoning_effort", "max_completion_tokens", "allow_truncated"})
"""Request fields that say how to ask, not what: they are not columns of the row."""


class PromptRequest(PromptFields, _Request):
    """Ask for a prompt about ``topic``."""


class CodeRequest(CodeFields, _Request):
    """Ask for code that does what ``description`` says."""


class ReviewRequest(ReviewFields, _Request):
    """Ask for a review of ``code``."""


class TestsRequest(TestsFields, _Request):
    """Ask for a test suite for ``code``."""


# -- derived template fields -------------------------------------------------------------------

PROMPT_TYPE_GUIDANCE = {
    "writing": "The prompt should lead to well-structured prose with a clear purpose and audience.",
    "coding": "The prompt should lead to working code: name the language, inputs, outputs, "
    "constraints and edge cases.",
    "brainstorming": "The prompt should lead to many varied ideas, asking for breadth before "
    "depth and for each idea's rationale.",
    "analysis": "The prompt should lead to a rigorous analysis: state the question, the "
    "evidence to weigh, and the form of the conclusion.",
    "creative": "The prompt should invite an original, vivid piece while fixing form, voice "
    "and constraints.",
}
TONE_GUIDANCE = {
    "professional": "Use precise, courteous, businesslike language.",
    "casual": "Use relaxed, friendly, conversational language.",
    "academic": "Use formal, rigorous language with careful definitions.",
    "enthusiastic": "Use energetic, encouraging, upbeat language.",
    "technical": "Use exact technical vocabulary and unambiguous specifications.",
}
REVIEW_FOCUS = {
    "general": "weigh correctness, design, readability, performance and security evenly.",
    "security": "look for injection, unsafe deserialisation, secrets in code, missing "
    "authorisation or validation, insecure defaults and data exposure.",
    "performance": "look for needless work, poor algorithmic complexity, repeated I/O, "
    "memory growth and blocking calls.",
    "readability": "look at naming, structure, function size, comments and consistency.",
    "bugs": "look for logic errors, off-by-one errors, unhandled cases, race conditions and "
    "wrong error handling.",
}
COVERAGE_GUIDANCE = {
    "basic": "the main behaviour and the most likely failure of each public function.",
    "moderate": "every public function's normal cases, boundaries and error paths.",
    "comprehensive": "every branch, boundary and error path, including unusual inputs and "
    "interactions between functions.",
}


def _context_block(request: Any) -> str:
    context = getattr(request, "additional_context", None)
    return f"\nAdditional context:\n{context}" if context else ""


def _prompt_fields(request: PromptRequest) -> dict[str, Any]:
    target = request.length * 4  # 10..100 -> 40..400 words
    return {
        "prompt_type_guidance": PROMPT_TYPE_GUIDANCE.get(request.prompt_type, ""),
        "tone_guidance": TONE_GUIDANCE.get(request.tone, ""),
        "target_words": target,
        "min_words": int(target * 0.8),
        "max_words": int(target * 1.2),
    }


def _review_fields(request: ReviewRequest) -> dict[str, Any]:
    return {"review_focus": REVIEW_FOCUS.get(request.review_type, REVIEW_FOCUS["general"])}


def _tests_fields(request: TestsRequest) -> dict[str, Any]:
    return {
        "test_types_list": ", ".join(request.test_types),
        "coverage_guidance": COVERAGE_GUIDANCE.get(request.coverage, ""),
    }


# -- cleaning outputs ----------------------------------------------------------------------------

_FENCE = re.compile(
    r"^[ \t]*(`{3,}|~{3,})[ \t]*([\w+#.-]*)[^\n]*\n(.*?)^[ \t]*\1[ \t]*$", re.M | re.S
)
_PREAMBLE = re.compile(
    r"^\s*(?:sure[,!.]?\s*)?(?:here(?:'s| is| are)\b[^\n]*|certainly[^\n]*|below is[^\n]*):\s*\n",
    re.I,
)


def extract_code(text: str, language: str | None = None) -> str:
    """The code in a reply, prose dropped.

    Its fenced blocks (those tagged with ``language`` when there are any); the whole reply when
    it has no fence.
    """
    blocks = [(m.group(2).lower(), m.group(3).rstrip()) for m in _FENCE.finditer(text)]
    if not blocks:
        return text.strip() + "\n"
    wanted = (language or "").lower()
    tagged = [code for tag, code in blocks if wanted and tag == wanted]
    chosen = tagged or [code for _, code in blocks]
    return "\n\n".join(chosen).strip("\n") + "\n"


def clean_prompt(text: str) -> str:
    """The prompt alone: preamble, wrapping quotes or fences removed."""
    cleaned = _PREAMBLE.sub("", text.strip(), count=1).strip()
    fenced = _FENCE.fullmatch(cleaned)
    if fenced:
        cleaned = fenced.group(3).strip()
    if len(cleaned) > 1 and cleaned[0] == cleaned[-1] and cleaned[0] in "\"'“":
        cleaned = cleaned[1:-1].strip()
    return cleaned or text.strip()


# -- kinds ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    """One kind of generation: its request, table, template fields and output cleaning."""

    name: str
    table: str
    request: type[_Request]
    fields: Callable[[Any], dict[str, Any]]
    clean: Callable[[Any, str], str]
    describe: Callable[[Any], str]

    @property
    def activity_type(self) -> str:
        """The activity entry's type, from the table description."""
        return TABLES[self.table].activity_type or ""

    @property
    def output_column(self) -> str:
        """Where the cleaned output is stored."""
        return TABLES[self.table].output_column or ""


KINDS: Mapping[str, Kind] = {
    "prompt": Kind(
        "prompt",
        "prompts",
        PromptRequest,
        _prompt_fields,
        lambda request, text: clean_prompt(text),
        lambda r: f"Generated a {r.prompt_type} prompt: {shorten(r.topic, 80)}",
    ),
    "code": Kind(
        "code",
        "code_generations",
        CodeRequest,
        lambda request: {},
        lambda request, text: extract_code(text, request.language),
        lambda r: f"Generated {r.language} code: {shorten(r.description, 80)}",
    ),
    "review": Kind(
        "review",
        "code_reviews",
        ReviewRequest,
        _review_fields,
        lambda request, text: text.strip(),
        lambda r: f"Reviewed {r.language} code ({r.review_type})",
    ),
    "tests": Kind(
        "tests",
        "tests",
        TestsRequest,
        _tests_fields,
        lambda request, text: extract_code(text, request.language),
        lambda r: f"Generated {r.framework} tests ({', '.join(r.test_types)}, {r.coverage})",
    ),
}
"""The four kinds, by name."""


# -- one generation, step by step ------------------------------------------------------------------


@dataclass(frozen=True)
class DryRun:
    """What a call would send to Groq — nothing was sent and nothing stored.

    ``parameters`` is exactly what goes to the chat completions endpoint, messages included.
    """

    kind: str
    model: str
    messages: list[dict[str, str]]
    parameters: dict[str, Any]
    template_version: str
    reasoning_effort: catalog.ReasoningEffort | None = None


@dataclass(frozen=True)
class Completion:
    """What Groq answered: the text, and the figures the activity entry records.

    ``text`` is the answer only; ``reasoning`` what the model showed of its reasoning (never
    stored); ``response_id`` Groq's id of the completion (``chatcmpl-...``).
    """

    text: str
    model: str
    request_id: str | None
    usage: dict[str, Any] = field(default_factory=dict)
    latency_ms: float = 0.0
    finish_reason: str | None = None
    reasoning: str = ""
    response_id: str | None = None

    @classmethod
    def from_answer(
        cls,
        content: str,
        *,
        reasoning: str = "",
        model: str,
        request_id: str | None,
        usage: Mapping[str, Any] | None,
        latency_ms: float,
        finish_reason: str | None,
        response_id: str | None = None,
    ) -> Completion:
        """A completion from Groq's answer, any ``<think>`` block moved out of the text."""
        text, thought = catalog.split_reasoning(content)
        return cls(
            text=text,
            model=model,
            request_id=request_id,
            usage=usage_figures(usage),
            latency_ms=latency_ms,
            finish_reason=finish_reason,
            reasoning="\n".join(part for part in (reasoning, thought) if part),
            response_id=response_id,
        )


def usage_figures(source: Any) -> dict[str, Any]:
    """Groq's usage as flat numbers: token counts, reasoning and cached tokens, timings.

    ``reasoning_tokens`` and ``cached_tokens`` come from ``completion_tokens_details`` and
    ``prompt_tokens_details``; they are None where Groq did not say.
    """
    if source is None:
        return {}
    data = source.model_dump() if hasattr(source, "model_dump") else dict(source)

    def number(value: Any) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool)

    figures = {k: v for k, v in data.items() if number(v)}
    for key, details in (
        ("reasoning_tokens", "completion_tokens_details"),
        ("cached_tokens", "prompt_tokens_details"),
    ):
        inner = data.get(details)
        value = inner.get(key) if isinstance(inner, Mapping) else None
        figures[key] = value if number(value) else None
    return figures


ModelLimit = Callable[[str], "int | None"]
"""Where :meth:`Generation.prepare` learns a model's largest completion budget."""


def known_limit(model: str) -> int | None:
    """A model's largest completion budget from groqgen's own table (no network)."""
    family = catalog.family_of(model)
    return family.max_completion_tokens if family else None


@dataclass(frozen=True)
class Generation:
    """A validated request and the chat request built from it."""

    kind: Kind
    request: Any
    chat: DryRun
    row_id: uuid.UUID = field(default_factory=uuid.uuid4)

    @classmethod
    def prepare(
        cls,
        kind_name: str,
        inputs: Mapping[str, Any],
        *,
        default_model: str,
        templates: Mapping[str, Template],
        default_effort: str | None = None,
        model_limit: ModelLimit = known_limit,
    ) -> Generation:
        """Validate ``inputs`` (``ValidationError`` names the field) and build the request.

        ``default_effort`` is the client's reasoning effort for this kind; ``model_limit`` gives
        a model's largest completion budget (from Groq's ``/models`` where known).
        """
        kind = KINDS[kind_name]
        request = validate_input(kind.request, **inputs)
        template = templates.get(kind_name, DEFAULT_TEMPLATES[kind_name])
        fields = {
            **request.model_dump(exclude=set(OPTIONS)),
            "context_block": _context_block(request),
            **kind.fields(request),
        }
        messages = template.render(fields)
        model = request.model or default_model
        explicit = request.reasoning_effort is not None
        try:
            reasoning, effort = catalog.reasoning_parameters(
                model, request.reasoning_effort or default_effort, explicit=explicit
            )
        except ValueError as exc:
            raise ValidationError(f"reasoning_effort: {exc}", field="reasoning_effort") from None
        limit = model_limit(model)
        max_tokens = request.max_completion_tokens or template.max_completion_tokens
        if max_tokens is not None and limit is not None and max_tokens > limit:
            raise ValidationError(
                f"max_completion_tokens: {model} takes at most {limit} completion tokens, "
                f"not {max_tokens}",
                field="max_completion_tokens",
            )
        if max_tokens is None:
            wanted = template.output_tokens
            if wanted is None:
                wanted = 256 + request.length * 12 if isinstance(request, PromptRequest) else 4096
            max_tokens = catalog.completion_budget(wanted, effort, limit)
        parameters: dict[str, Any] = {
            "model": model,
            "messages": messages,
            "temperature": template.temperature,
            "max_completion_tokens": max_tokens,
            **reasoning,
        }
        chat = DryRun(kind_name, model, messages, parameters, template.version, effort)
        return cls(kind, request, chat)

    def check(self, completion: Completion) -> None:
        """Refuse a cut-off or empty answer (:class:`~groqgen.TruncatedGeneration`).

        A cut-off answer with some text passes when the request allows truncation; an empty
        one never does (there is nothing to record).
        """
        cut = completion.finish_reason == "length"
        empty = not completion.text.strip()
        if not cut and not empty:
            return
        if cut and not empty and self.request.allow_truncated:
            return
        reasoning = completion.usage.get("reasoning_tokens")
        spent = f" ({reasoning} of them reasoning)" if reasoning else ""
        used = completion.usage.get("completion_tokens")
        budget = self.chat.parameters.get("max_completion_tokens")
        what = "came back empty" if empty else "was cut off"
        raise TruncatedGeneration(
            f"Groq's answer {what} (finish_reason {completion.finish_reason!r}; "
            f"{used if used is not None else '?'} of {budget} completion tokens used{spent}); "
            "nothing was recorded. Ask for a lower reasoning_effort or a larger "
            "max_completion_tokens"
            + ("" if empty else ", or pass allow_truncated=True to record the partial answer"),
            text=completion.text,
            usage=completion.usage,
            finish_reason=completion.finish_reason,
            request_id=completion.request_id,
        )

    def record(self, completion: Completion) -> ops.Record:
        """The store operation that records this generation and its activity entry."""
        values = self.request.model_dump(exclude={*OPTIONS, "project_id"})
        values[self.kind.output_column] = self.kind.clean(self.request, completion.text)
        values["model"] = self.chat.model
        if self.request.project_id is not None:
            values["project_id"] = self.request.project_id
        try:
            row = validate_input(TABLES[self.kind.table].create, **values).model_dump()  # type: ignore[arg-type]
        except ValidationError as exc:  # what Groq sent is not the caller's input error
            raise GenerationError(
                f"Groq's answer cannot be recorded ({exc}); nothing was recorded",
                request_id=completion.request_id,
            ) from None
        metadata: dict[str, Any] = {
            "model": completion.model or self.chat.model,
            "prompt_tokens": None,
            "completion_tokens": None,
            "total_tokens": None,
            **completion.usage,
            "reasoning_effort": self.chat.reasoning_effort,
            "latency_ms": round(completion.latency_ms, 1),
            "request_id": completion.request_id,
            "table": self.kind.table,
            "record_id": str(self.row_id),
            "template_version": self.chat.template_version,
        }
        if completion.finish_reason == "length":
            metadata["truncated"] = True
        activity = {
            "id": self.row_id,
            "activity_type": self.kind.activity_type,
            "description": self.kind.describe(self.request),
            "project_id": self.request.project_id,
            "metadata": metadata,
        }
        return ops.Record(self.kind.table, {"id": self.row_id, **row}, activity)
