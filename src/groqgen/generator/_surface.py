"""The four kinds' public signatures, written once for every flavour.

:class:`Kinds` is generic over what each call returns, so the same declarations serve
``client.generate`` (the row), ``AsyncClient.generate`` (an awaitable of the row) and both
``generate.stream`` factories (a stream of the row). A flavour supplies only
:meth:`Kinds._call`. A new field is one edit here (and one in the request model in
:mod:`groqgen.models`; a test checks the two agree).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Generic, Literal, TypeVar, overload
from uuid import UUID

from ..catalog import ReasoningEffort
from ..vocabularies import Coverage, PromptType, ReviewType, TestType, Tone

__all__ = ["Kinds"]

PromptR = TypeVar("PromptR")
CodeR = TypeVar("CodeR")
ReviewR = TypeVar("ReviewR")
TestsR = TypeVar("TestsR")
DryR = TypeVar("DryR")


def _inputs(arguments: Mapping[str, Any]) -> dict[str, Any]:
    """A method's arguments as request inputs: everything but ``self`` and ``dry_run``."""
    return {k: v for k, v in arguments.items() if k not in ("self", "dry_run")}


class Kinds(Generic[PromptR, CodeR, ReviewR, TestsR, DryR]):
    """``prompt``, ``code``, ``review`` and ``tests``, typed once.

    Each call validates its inputs before any network traffic (``ValidationError`` names the
    field); ``dry_run=True`` returns the exact chat request instead (:class:`DryRun`), with no
    network and nothing stored. Every call takes ``reasoning_effort``,
    ``max_completion_tokens`` and ``allow_truncated`` (see :mod:`groqgen.catalog`).
    """

    def _call(self, kind: str, inputs: dict[str, Any], dry_run: bool) -> Any:
        raise NotImplementedError

    @overload
    def prompt(
        self,
        topic: str,
        *,
        prompt_type: PromptType = ...,
        tone: Tone = ...,
        length: int = ...,
        additional_context: str | None = ...,
        model: str | None = ...,
        project_id: UUID | str | None = ...,
        reasoning_effort: ReasoningEffort | None = ...,
        max_completion_tokens: int | None = ...,
        allow_truncated: bool = ...,
        dry_run: Literal[False] = ...,
    ) -> PromptR: ...
    @overload
    def prompt(
        self,
        topic: str,
        *,
        prompt_type: PromptType = ...,
        tone: Tone = ...,
        length: int = ...,
        additional_context: str | None = ...,
        model: str | None = ...,
        project_id: UUID | str | None = ...,
        reasoning_effort: ReasoningEffort | None = ...,
        max_completion_tokens: int | None = ...,
        allow_truncated: bool = ...,
        dry_run: Literal[True],
    ) -> DryR: ...
    def prompt(
        self,
        topic: str,
        *,
        prompt_type: PromptType = "writing",
        tone: Tone = "professional",
        length: int = 50,
        additional_context: str | None = None,
        model: str | None = None,
        project_id: UUID | str | None = None,
        reasoning_effort: ReasoningEffort | None = None,
        max_completion_tokens: int | None = None,
        allow_truncated: bool = False,
        dry_run: bool = False,
    ) -> PromptR | DryR:
        """Generate a prompt about ``topic`` and record it.

        ``length`` (10..100) asks for about 4 words per point.
        """
        return self._call("prompt", _inputs(locals()), dry_run)  # type: ignore[no-any-return]

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
    ) -> CodeR: ...
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
    ) -> DryR: ...
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
    ) -> CodeR | DryR:
        """Generate code that does what ``description`` says, and record it."""
        return self._call("code", _inputs(locals()), dry_run)  # type: ignore[no-any-return]

    @overload
    def review(
        self,
        code: str,
        *,
        language: str,
        review_type: ReviewType = ...,
        model: str | None = ...,
        project_id: UUID | str | None = ...,
        reasoning_effort: ReasoningEffort | None = ...,
        max_completion_tokens: int | None = ...,
        allow_truncated: bool = ...,
        dry_run: Literal[False] = ...,
    ) -> ReviewR: ...
    @overload
    def review(
        self,
        code: str,
        *,
        language: str,
        review_type: ReviewType = ...,
        model: str | None = ...,
        project_id: UUID | str | None = ...,
        reasoning_effort: ReasoningEffort | None = ...,
        max_completion_tokens: int | None = ...,
        allow_truncated: bool = ...,
        dry_run: Literal[True],
    ) -> DryR: ...
    def review(
        self,
        code: str,
        *,
        language: str,
        review_type: ReviewType = "general",
        model: str | None = None,
        project_id: UUID | str | None = None,
        reasoning_effort: ReasoningEffort | None = None,
        max_completion_tokens: int | None = None,
        allow_truncated: bool = False,
        dry_run: bool = False,
    ) -> ReviewR | DryR:
        """Review ``code`` and record the review.

        The review is markdown: summary, strengths, issues by severity, suggested fixes.
        """
        return self._call("review", _inputs(locals()), dry_run)  # type: ignore[no-any-return]

    @overload
    def tests(
        self,
        code: str,
        *,
        language: str,
        framework: str = ...,
        test_types: Sequence[TestType] = ...,
        coverage: Coverage = ...,
        additional_context: str | None = ...,
        model: str | None = ...,
        project_id: UUID | str | None = ...,
        reasoning_effort: ReasoningEffort | None = ...,
        max_completion_tokens: int | None = ...,
        allow_truncated: bool = ...,
        dry_run: Literal[False] = ...,
    ) -> TestsR: ...
    @overload
    def tests(
        self,
        code: str,
        *,
        language: str,
        framework: str = ...,
        test_types: Sequence[TestType] = ...,
        coverage: Coverage = ...,
        additional_context: str | None = ...,
        model: str | None = ...,
        project_id: UUID | str | None = ...,
        reasoning_effort: ReasoningEffort | None = ...,
        max_completion_tokens: int | None = ...,
        allow_truncated: bool = ...,
        dry_run: Literal[True],
    ) -> DryR: ...
    def tests(
        self,
        code: str,
        *,
        language: str,
        framework: str = "none",
        test_types: Sequence[TestType] = ("unit",),
        coverage: Coverage = "moderate",
        additional_context: str | None = None,
        model: str | None = None,
        project_id: UUID | str | None = None,
        reasoning_effort: ReasoningEffort | None = None,
        max_completion_tokens: int | None = None,
        allow_truncated: bool = False,
        dry_run: bool = False,
    ) -> TestsR | DryR:
        """Generate a test suite for ``code`` in ``framework`` and record it."""
        return self._call("tests", _inputs(locals()), dry_run)  # type: ignore[no-any-return]
