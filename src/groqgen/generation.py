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
from typing import Any

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
    """A generation request: the kind's fields, plus an optional model (else the default)."""

    model: Label | None = None


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


def _short(text: str, limit: int = 80) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


KINDS: Mapping[str, Kind] = {
    "prompt": Kind(
        "prompt",
        "prompts",
        PromptRequest,
        _prompt_fields,
        lambda request, text: clean_prompt(text),
        lambda r: f"Generated a {r.prompt_type} prompt: {_short(r.topic)}",
    ),
    "code": Kind(
        "code",
        "code_generations",
        CodeRequest,
        lambda request: {},
        lambda request, text: extract_code(text, request.language),
        lambda r: f"Generated {r.language} code: {_short(r.description)}",
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


@dataclass(frozen=True)
class Completion:
    """What Groq answered: the text, and the figures the activity entry records."""

    text: str
    model: str
    request_id: str | None
    usage: dict[str, Any] = field(default_factory=dict)
    latency_ms: float = 0.0


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
    ) -> Generation:
        """Validate ``inputs`` (``ValidationError`` names the field) and build the request."""
        kind = KINDS[kind_name]
        request = validate_input(kind.request, **inputs)
        template = templates.get(kind_name, DEFAULT_TEMPLATES[kind_name])
        fields = {
            **request.model_dump(),
            "context_block": _context_block(request),
            **kind.fields(request),
        }
        messages = template.render(fields)
        model = request.model or default_model
        max_tokens = template.max_completion_tokens
        if max_tokens is None and isinstance(request, PromptRequest):
            max_tokens = 256 + request.length * 12  # room for length * 4 words
        parameters: dict[str, Any] = {
            "model": model,
            "messages": messages,
            "temperature": template.temperature,
        }
        if max_tokens is not None:
            parameters["max_completion_tokens"] = max_tokens
        chat = DryRun(kind_name, model, messages, parameters, template.version)
        return cls(kind, request, chat)

    def record(self, completion: Completion) -> ops.Record:
        """The store operation that records this generation and its activity entry."""
        values = self.request.model_dump(exclude={"model", "project_id"})
        values[self.kind.output_column] = self.kind.clean(self.request, completion.text)
        values["model"] = self.chat.model
        if self.request.project_id is not None:
            values["project_id"] = self.request.project_id
        row = validate_input(TABLES[self.kind.table].create, **values).model_dump()  # type: ignore[arg-type]
        metadata: dict[str, Any] = {
            "model": completion.model or self.chat.model,
            **completion.usage,
            "latency_ms": round(completion.latency_ms, 1),
            "request_id": completion.request_id,
            "table": self.kind.table,
            "record_id": str(self.row_id),
            "template_version": self.chat.template_version,
        }
        activity = {
            "id": self.row_id,
            "activity_type": self.kind.activity_type,
            "description": self.kind.describe(self.request),
            "project_id": self.request.project_id,
            "metadata": metadata,
        }
        return ops.Record(self.kind.table, {"id": self.row_id, **row}, activity)
