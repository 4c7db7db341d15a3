"""The vocabularies shared with the web app, which writes the same tables, and the tables' names.

groqgen enforces them on write; the database does not (the web app may add a tone before
groqgen knows it), and rows with other values still load. This module imports nothing heavy,
so the command line can offer the choices without loading pydantic.
"""

from __future__ import annotations

from typing import Literal, get_args

__all__ = [
    "ACTIVITY_TYPES",
    "COVERAGES",
    "PROMPT_TYPES",
    "REVIEW_TYPES",
    "TABLE_NAMES",
    "TEST_TYPES",
    "TONES",
    "ActivityType",
    "Coverage",
    "PromptType",
    "ReviewType",
    "TestType",
    "Tone",
]

PromptType = Literal["writing", "coding", "brainstorming", "analysis", "creative"]
"""What kind of prompt to generate."""
Tone = Literal["professional", "casual", "academic", "enthusiastic", "technical"]
"""The tone a generated prompt is written in."""
ReviewType = Literal["general", "security", "performance", "readability", "bugs"]
"""What a code review concentrates on."""
Coverage = Literal["basic", "moderate", "comprehensive"]
"""How thoroughly generated tests cover the code."""
TestType = Literal["unit", "integration", "edge", "e2e", "performance", "security"]
"""A kind of test to generate."""
ActivityType = Literal[
    "prompt_generation",
    "code_generation",
    "code_review",
    "test_generation",
    "login",
    "signup",
    "project_created",
    "project_updated",
    "project_deleted",
]
"""What an activity log entry records."""

PROMPT_TYPES: tuple[str, ...] = get_args(PromptType)
TONES: tuple[str, ...] = get_args(Tone)
REVIEW_TYPES: tuple[str, ...] = get_args(ReviewType)
COVERAGES: tuple[str, ...] = get_args(Coverage)
TEST_TYPES: tuple[str, ...] = get_args(TestType)
ACTIVITY_TYPES: tuple[str, ...] = get_args(ActivityType)

TABLE_NAMES: tuple[str, ...] = (
    "profiles",
    "projects",
    "prompts",
    "code_generations",
    "code_reviews",
    "tests",
    "activity_logs",
)
"""The seven tables, in the order of :data:`groqgen.models.TABLES` (a test holds them equal)."""
