"""Rows load tolerantly; inputs are checked strictly and refused with a typed error."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

import pytest

import groqgen
from groqgen.models import (
    LIMITS,
    TABLES,
    ActivityLog,
    ActivityLogCreate,
    CodeReviewCreate,
    ProjectCreate,
    ProjectUpdate,
    Prompt,
    PromptCreate,
    TestGenerationCreate,
    validate_input,
)

NOW = datetime(2026, 11, 26, tzinfo=timezone.utc)
PROMPT = {"topic": "release notes", "model": "llama-3.3-70b-versatile", "generated_prompt": "Write"}


def _prompt_row(**changes: Any) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "created_at": NOW,
        "user_id": uuid.uuid4(),
        "project_id": None,
        "prompt_type": "writing",
        "tone": "casual",
        "length": 50,
        "additional_context": None,
        **PROMPT,
        **changes,
    }


def test_a_row_from_the_web_app_with_an_unknown_tone_still_loads() -> None:
    row = Prompt.model_validate(_prompt_row(tone="sarcastic", prompt_type="poetry"))
    assert row.tone == "sarcastic"


def test_a_row_with_columns_groqgen_does_not_know_still_loads() -> None:
    row = Prompt.model_validate(_prompt_row(rating=5))
    assert not hasattr(row, "rating")


def test_rows_are_immutable() -> None:
    row = Prompt.model_validate(_prompt_row())
    with pytest.raises(Exception, match="frozen"):
        row.topic = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("stored", "loaded"),
    [
        (None, {}),
        ({"model": "m"}, {"model": "m"}),
        ([1, 2], {"value": [1, 2]}),
        ('{"a": 1}', {"a": 1}),
    ],
)
def test_activity_metadata_is_always_a_dict(stored: Any, loaded: dict[str, Any]) -> None:
    row = ActivityLog.model_validate(
        {
            "id": uuid.uuid4(),
            "created_at": NOW,
            "user_id": uuid.uuid4(),
            "activity_type": "login",
            "description": "d",
            "metadata": stored,
        }
    )
    assert row.metadata == loaded


def test_valid_input_gets_the_documented_defaults() -> None:
    prompt = validate_input(PromptCreate, **PROMPT)
    assert (prompt.prompt_type, prompt.tone, prompt.length) == ("writing", "professional", 50)
    tests = validate_input(
        TestGenerationCreate,
        code="x",
        language="python",
        framework="pytest",
        model="m",
        generated_tests="t",
    )
    assert (tests.test_types, tests.coverage) == (["unit"], "moderate")


@pytest.mark.parametrize(
    ("model", "changes", "field"),
    [
        (PromptCreate, {"prompt_type": "poetry"}, "prompt_type"),
        (PromptCreate, {"tone": "sarcastic"}, "tone"),
        (PromptCreate, {"length": 7}, "length"),
        (PromptCreate, {"length": 101}, "length"),
        (PromptCreate, {"length": "50"}, "length"),
        (PromptCreate, {"length": 50.5}, "length"),
        (PromptCreate, {"topic": ""}, "topic"),
        (PromptCreate, {"topic": "   \n"}, "topic"),
        (PromptCreate, {"topic": "t" * (LIMITS["text"] + 1)}, "topic"),
        (PromptCreate, {"project_id": "not-a-uuid"}, "project_id"),
        (PromptCreate, {"surprise": 1}, "surprise"),
        (CodeReviewCreate, {"review_type": "style"}, "review_type"),
        (TestGenerationCreate, {"test_types": ["unit", "smoke"]}, "test_types.1"),
        (TestGenerationCreate, {"test_types": []}, "test_types"),
        (TestGenerationCreate, {"coverage": "total"}, "coverage"),
        (ProjectCreate, {"name": ""}, "name"),
        (ActivityLogCreate, {"activity_type": "hacked"}, "activity_type"),
    ],
)
def test_bad_input_is_refused_naming_the_field(
    model: Any, changes: dict[str, Any], field: str
) -> None:
    base: dict[str, Any] = {
        PromptCreate: PROMPT,
        CodeReviewCreate: {"code": "x", "language": "python", "model": "m", "review_result": "r"},
        TestGenerationCreate: {
            "code": "x",
            "language": "py",
            "framework": "pytest",
            "model": "m",
            "generated_tests": "t",
        },
        ProjectCreate: {"name": "p"},
        ActivityLogCreate: {"activity_type": "login", "description": "d"},
    }[model]
    with pytest.raises(groqgen.ValidationError) as info:
        validate_input(model, **{**base, **changes})
    assert info.value.field == field
    assert field.split(".")[0] in str(info.value)
    assert isinstance(info.value, ValueError)  # also catchable as a plain ValueError


def test_the_error_lists_every_problem() -> None:
    with pytest.raises(groqgen.ValidationError) as info:
        validate_input(PromptCreate, **{**PROMPT, "tone": "x", "length": 1})
    assert {e["field"] for e in info.value.errors} == {"tone", "length"}


def test_the_error_does_not_echo_huge_inputs() -> None:
    with pytest.raises(groqgen.ValidationError) as info:
        validate_input(PromptCreate, **{**PROMPT, "topic": "secret" * 10_000})
    assert "secret" not in str(info.value)


def test_oversize_metadata_is_refused() -> None:
    with pytest.raises(groqgen.ValidationError, match="metadata"):
        validate_input(
            ActivityLogCreate, activity_type="login", description="d", metadata={"x": "y" * 70_000}
        )


def test_a_project_update_knows_which_fields_were_given() -> None:
    update = validate_input(ProjectUpdate, description=None)
    assert update.model_fields_set == {"description"}


def test_the_light_list_of_table_names_is_the_tables() -> None:
    from groqgen.vocabularies import TABLE_NAMES

    assert tuple(TABLES) == TABLE_NAMES


def test_every_table_is_described_once() -> None:
    assert list(TABLES) == [
        "profiles",
        "projects",
        "prompts",
        "code_generations",
        "code_reviews",
        "tests",
        "activity_logs",
    ]
    assert TABLES["tests"].columns[:2] == ("id", "created_at")
    assert {t.activity_type for t in TABLES.values() if t.activity_type} == {
        "prompt_generation",
        "code_generation",
        "code_review",
        "test_generation",
    }
