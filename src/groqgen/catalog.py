"""What groqgen knows about Groq's models: the default, reasoning settings, token budgets.

Nothing here does I/O and nothing here imports anything heavy, so the command line can offer
the choices cheaply. Groq changes under us: the facts below were checked against Groq's
documentation on **2026-11-30** (see the project's ``GROQ-TODAY.md``). What Groq serves *now*
comes from its ``/models`` endpoint (:meth:`groqgen.Client.models`); this module only supplies
what that endpoint does not say (which reasoning settings a model accepts) and fallbacks for
when it has not been asked.

Every production chat model Groq serves is a reasoning model. The model reasons whether or not
the reasoning is shown, and the reasoning tokens count against ``max_completion_tokens``: a
budget sized for the answer alone comes back empty with ``finish_reason: "length"`` after the
tokens were billed. groqgen therefore sends a budget of *wanted output + an allowance for the
reasoning effort* (:func:`completion_budget`), asks the model not to return its reasoning
(:func:`reasoning_parameters`), and strips a leading ``<think>…</think>`` block defensively
(:func:`split_reasoning`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

__all__ = [
    "DEFAULT_EFFORT",
    "DEFAULT_MODEL",
    "DEFAULT_MODEL_CHOSEN",
    "EFFORT_ALLOWANCE",
    "REASONING_EFFORTS",
    "GroqModel",
    "ModelFamily",
    "ReasoningEffort",
    "completion_budget",
    "family_of",
    "reasoning_parameters",
    "split_reasoning",
]

DEFAULT_MODEL = "openai/gpt-oss-120b"
"""The model used unless ``GROQGEN_MODEL``, ``Client(model=)`` or ``model=`` says otherwise."""

DEFAULT_MODEL_CHOSEN = "2026-11-30"
"""When :data:`DEFAULT_MODEL` was chosen: ``llama-3.3-70b-versatile``, the previous default, was
shut down on 2026-08-16 for free and developer tiers, and Groq names ``openai/gpt-oss-120b`` as
its replacement."""

ReasoningEffort = Literal["none", "default", "low", "medium", "high"]
"""How hard a reasoning model thinks before it answers. Which values a model accepts depends on
the model: gpt-oss takes ``low``, ``medium`` and ``high``; qwen also ``none`` and ``default``."""

REASONING_EFFORTS: tuple[ReasoningEffort, ...] = get_args(ReasoningEffort)
"""Every reasoning effort any Groq model accepts."""

DEFAULT_EFFORT: ReasoningEffort = "medium"
"""The effort groqgen asks for when nothing is configured (gpt-oss's own default)."""

EFFORT_ALLOWANCE: Mapping[str, int] = {
    "none": 0,
    "low": 1024,
    "default": 4096,
    "medium": 4096,
    "high": 12288,
}
"""Completion tokens set aside for reasoning, by effort, on top of the wanted output.

Reported on Groq's forum and in issue threads: gpt-oss-20b spends 1,700-2,000 tokens reasoning
at medium effort on ordinary requests; the allowance leaves about twice that."""


@dataclass(frozen=True)
class ModelFamily:
    """What a family of models accepts: reasoning efforts, and how to keep reasoning out."""

    name: str
    efforts: tuple[ReasoningEffort, ...]
    default_effort: ReasoningEffort
    hide_reasoning: Mapping[str, Any]
    max_completion_tokens: int

    def accepts(self, effort: str) -> bool:
        """Whether ``reasoning_effort=effort`` is a value this family takes."""
        return effort in self.efforts


GPT_OSS = ModelFamily(
    name="gpt-oss",
    efforts=("low", "medium", "high"),
    default_effort="medium",
    # gpt-oss refuses reasoning_format; include_reasoning=false leaves message.reasoning out.
    hide_reasoning={"include_reasoning": False},
    max_completion_tokens=65_536,
)
QWEN = ModelFamily(
    name="qwen",
    efforts=("none", "default", "low", "medium", "high"),
    default_effort="default",
    # qwen's default reasoning_format "raw" puts <think>...</think> inside the content.
    # include_reasoning and reasoning_format may not be sent together.
    hide_reasoning={"reasoning_format": "hidden"},
    max_completion_tokens=16_384,
)


def family_of(model: str) -> ModelFamily | None:
    """The family of a model id, or None for a model groqgen has no reasoning rules for."""
    if model.startswith("openai/gpt-oss"):
        return GPT_OSS
    if model.startswith("qwen/"):
        return QWEN
    return None


@dataclass(frozen=True)
class GroqModel:
    """A model Groq serves now, as its ``/models`` endpoint describes it.

    Attributes:
        id: The model id to pass as ``model=``.
        owned_by: Who publishes the model (``OpenAI``, ``Alibaba Cloud``, ...).
        active: Whether Groq currently serves it.
        context_window: Tokens of prompt plus completion the model takes, where given.
        max_completion_tokens: The largest completion budget the model accepts, where given.
    """

    id: str
    owned_by: str = ""
    active: bool = True
    context_window: int | None = None
    max_completion_tokens: int | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> GroqModel:
        """One entry of ``GET /openai/v1/models``; missing or odd fields are left empty."""

        def number(name: str) -> int | None:
            value = data.get(name)
            return value if isinstance(value, int) and not isinstance(value, bool) else None

        return cls(
            id=str(data.get("id") or ""),
            owned_by=str(data.get("owned_by") or ""),
            active=data.get("active") is not False,
            context_window=number("context_window"),
            max_completion_tokens=number("max_completion_tokens"),
        )


def reasoning_parameters(
    model: str, effort: str | None, *, explicit: bool
) -> tuple[dict[str, Any], ReasoningEffort | None]:
    """The reasoning parameters to send to ``model``, and the effort they ask for.

    ``effort`` None means the family's default. For a model groqgen has no rules for, nothing is
    sent unless the effort was given explicitly for this call (then it is sent as given).
    Raises ``ValueError`` (turned into a ``ValidationError`` by the caller) for an effort the
    model does not accept.
    """
    family = family_of(model)
    if family is None:
        if explicit and effort is not None:
            return {"reasoning_effort": effort}, _as_effort(effort)
        return {}, None
    if effort is None:
        chosen: ReasoningEffort = (
            DEFAULT_EFFORT if family.accepts(DEFAULT_EFFORT) else family.default_effort
        )
    elif family.accepts(effort):
        chosen = _as_effort(effort) or family.default_effort
    else:
        raise ValueError(
            f"{model} accepts reasoning_effort {', '.join(family.efforts)}; not {effort!r}"
        )
    return {"reasoning_effort": chosen, **family.hide_reasoning}, chosen


def _as_effort(effort: str) -> ReasoningEffort | None:
    for known in REASONING_EFFORTS:
        if known == effort:
            return known
    return None


def completion_budget(wanted: int, effort: str | None, limit: int | None) -> int:
    """``max_completion_tokens`` for an answer of about ``wanted`` tokens at ``effort``.

    The reasoning allowance of the effort is added (reasoning counts against the budget), then
    the sum is capped at the model's own ``limit`` where known.
    """
    budget = wanted + EFFORT_ALLOWANCE.get(effort or DEFAULT_EFFORT, EFFORT_ALLOWANCE["medium"])
    return min(budget, limit) if limit else budget


_THINK = re.compile(r"\A\s*<think>(.*?)(?:</think>\s*|\Z)", re.S)


def split_reasoning(text: str) -> tuple[str, str]:
    """``(answer, reasoning)``: a leading ``<think>…</think>`` block moved out of ``text``.

    An unclosed ``<think>`` (the answer was cut while the model was still reasoning) leaves no
    answer at all.
    """
    match = _THINK.match(text)
    if match is None:
        return text, ""
    return text[match.end() :], match.group(1).strip()
