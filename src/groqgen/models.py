"""Typed rows and inputs for the seven tables of the Groq Prompt Generator.

Each table is described once here: a *row* model (what is read back), an *input* model (what
groqgen writes, validated strictly) and a :class:`Table` entry that ties them to the table name.
Everything else — stores, repositories, the generator — is generic over these descriptions.

Reading is tolerant: the web app writes the same tables, so a row with a tone outside the
vocabulary, or extra columns, still loads. Writing is strict: vocabularies, bounds and size
limits are checked before anything is sent anywhere, and the database enforces the same
bounds again (see the ``CHECK`` constraints of the shipped migrations).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, ClassVar, Generic, TypeVar, get_origin
from uuid import UUID

import pydantic
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from .errors import ValidationError
from .vocabularies import (
    ACTIVITY_TYPES,
    COVERAGES,
    PROMPT_TYPES,
    REVIEW_TYPES,
    TEST_TYPES,
    TONES,
    ActivityType,
    Coverage,
    PromptType,
    ReviewType,
    TestType,
    Tone,
)

__all__ = [
    "ACTIVITY_TYPES",
    "COVERAGES",
    "LIMITS",
    "PROMPT_TYPES",
    "REVIEW_TYPES",
    "TABLES",
    "TEST_TYPES",
    "TONES",
    "ActivityLog",
    "ActivityLogCreate",
    "ActivityType",
    "CodeFields",
    "CodeGeneration",
    "CodeGenerationCreate",
    "CodeReview",
    "CodeReviewCreate",
    "Coverage",
    "Profile",
    "ProfileUpdate",
    "Project",
    "ProjectCreate",
    "ProjectUpdate",
    "Prompt",
    "PromptCreate",
    "PromptFields",
    "PromptType",
    "ResourceCounts",
    "ReviewFields",
    "ReviewType",
    "Row",
    "Table",
    "TestGeneration",
    "TestGenerationCreate",
    "TestType",
    "TestsFields",
    "Tone",
    "validate_input",
]


# --------------------------------------------------------------------------------------------
# Size limits in characters. The migrations' CHECK constraints use the same numbers; a test
# compares the two so they cannot drift apart.

LIMITS: Mapping[str, int] = {
    "label": 100,  # vocabulary values, language, framework, model name, one test type
    "name": 200,  # project name, full name
    "email": 320,
    "url": 2048,
    "text": 10_000,  # topic, descriptions
    "context": 100_000,  # additional context
    "document": 500_000,  # code under review or test, and every generated output
    "test_types": 20,  # elements in tests.test_types
    "metadata_bytes": 65_536,  # activity_logs.metadata as JSON text
    "length_min": 10,
    "length_max": 100,
}


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty or only whitespace")
    return value


def _no_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL: refuse it here, before anything is paid for.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters (\\x00)")
    return value


def _text(limit: str) -> Any:
    # strict: bytes or numbers are not silently turned into text
    return Field(strict=True, min_length=1, max_length=LIMITS[limit])


def _optional_text(limit: str) -> Any:
    return Field(strict=True, max_length=LIMITS[limit])


Label = Annotated[str, _text("label"), AfterValidator(_not_blank), AfterValidator(_no_nul)]
NameText = Annotated[str, _text("name"), AfterValidator(_not_blank), AfterValidator(_no_nul)]
Text = Annotated[str, _text("text"), AfterValidator(_not_blank), AfterValidator(_no_nul)]
Context = Annotated[str, _optional_text("context"), AfterValidator(_no_nul)]
Document = Annotated[str, _text("document"), AfterValidator(_not_blank), AfterValidator(_no_nul)]
Length = Annotated[int, Field(strict=True, ge=LIMITS["length_min"], le=LIMITS["length_max"])]
Url = Annotated[str, _optional_text("url"), AfterValidator(_no_nul)]
OptionalText = Annotated[str, _optional_text("text"), AfterValidator(_no_nul)]


METADATA_DEPTH = 32
"""How deeply activity metadata may nest."""


def _json_value(value: Any, path: str, depth: int) -> Any:
    """``value`` as plain JSON, or ``ValueError`` naming the key that cannot be stored.

    Deliberate conversions: datetimes and dates to ISO 8601 text, UUIDs to text, tuples to
    lists. Everything else that JSON (and PostgreSQL's jsonb) cannot hold is refused: bytes,
    sets, Decimals, NaN and infinities, NUL characters, non-text keys.
    """
    import math
    from datetime import date

    if depth > METADATA_DEPTH:
        raise ValueError(f"nests deeper than {METADATA_DEPTH} levels at {path}")
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{path} is {value}, which JSON cannot hold")
        return value
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError(f"{path} contains a NUL character")
        return value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, dict):
        converted = {}
        for key, item in value.items():
            if not isinstance(key, str) or "\x00" in key:
                raise ValueError(f"{path} has a key that is not text: {key!r:.40}")
            converted[key] = _json_value(item, f"{path}.{key}", depth + 1)
        return converted
    if isinstance(value, (list, tuple)):
        return [_json_value(item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value)]
    raise ValueError(
        f"{path} is a {type(value).__name__}, which JSON cannot hold; convert it first "
        "(for example str() or float())"
    )


def _metadata_fits(value: dict[str, Any]) -> dict[str, Any]:
    import json

    converted: dict[str, Any] = _json_value(value, "metadata", 1)
    size = len(json.dumps(converted).encode())
    if size > LIMITS["metadata_bytes"]:
        raise ValueError(f"is {size} bytes as JSON; the limit is {LIMITS['metadata_bytes']}")
    return converted


def _metadata_as_dict(value: Any) -> Any:
    # The web app may store any JSON (or null) here; groqgen always hands out a dict.
    if value is None:
        return {}
    if isinstance(value, str):
        import json

        try:
            value = json.loads(value)
        except ValueError:
            return {"value": value}
    return value if isinstance(value, dict) else {"value": value}


# --------------------------------------------------------------------------------------------
# Rows: what the tables hold. Tolerant on read.


class Row(BaseModel):
    """Base of every row model: an immutable record with an ``id`` and a ``created_at``.

    In Jupyter a row renders as markdown: generated text as text, code highlighted, a review as
    the markdown it is; other rows as a small table of their fields.
    """

    model_config = ConfigDict(frozen=True, extra="ignore", from_attributes=True)

    id: UUID
    created_at: datetime

    def _repr_markdown_(self) -> str:
        """Markdown for notebooks (:func:`groqgen.presentation.row_markdown`)."""
        from .presentation import row_markdown

        return row_markdown(self)


class Profile(Row):
    """A user's profile (table ``profiles``); ``id`` is the auth user's id."""

    email: str
    full_name: str | None = None
    avatar_url: str | None = None
    updated_at: datetime


class Project(Row):
    """A project that groups generations (table ``projects``)."""

    name: str
    description: str | None = None
    user_id: UUID
    updated_at: datetime


class Prompt(Row):
    """A generated prompt (table ``prompts``)."""

    topic: str
    prompt_type: str
    tone: str
    length: int
    additional_context: str | None = None
    model: str
    generated_prompt: str
    user_id: UUID
    project_id: UUID | None = None


class CodeGeneration(Row):
    """Generated code (table ``code_generations``)."""

    description: str
    language: str
    framework: str
    model: str
    additional_context: str | None = None
    generated_code: str
    user_id: UUID
    project_id: UUID | None = None


class CodeReview(Row):
    """A code review (table ``code_reviews``); ``review_result`` is markdown."""

    code: str
    language: str
    review_type: str
    model: str
    review_result: str
    user_id: UUID
    project_id: UUID | None = None


class TestGeneration(Row):
    """A generated test suite (table ``tests``)."""

    __test__: ClassVar[bool] = False  # not a pytest test class, despite the name

    code: str
    language: str
    framework: str
    test_types: list[str]
    coverage: str
    model: str
    additional_context: str | None = None
    generated_tests: str
    user_id: UUID
    project_id: UUID | None = None


class ActivityLog(Row):
    """An entry of a user's activity log (table ``activity_logs``)."""

    user_id: UUID
    project_id: UUID | None = None
    activity_type: str
    description: str
    metadata: Annotated[dict[str, Any], BeforeValidator(_metadata_as_dict)] = Field(
        default_factory=dict
    )


class ResourceCounts(BaseModel):
    """How many prompts, code generations, code reviews and tests a project holds."""

    model_config = ConfigDict(frozen=True)

    prompt_count: int
    code_generation_count: int
    code_review_count: int
    test_count: int


# --------------------------------------------------------------------------------------------
# Inputs: what groqgen writes. Strict.


class Input(BaseModel):
    """Base of every input model: unknown fields are refused, values are checked strictly."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class ProjectCreate(Input):
    """A new project."""

    name: NameText
    description: OptionalText | None = None


class ProjectUpdate(Input):
    """Changes to a project; only the fields that were given are changed."""

    name: NameText | None = None
    description: OptionalText | None = None


class ProfileUpdate(Input):
    """Changes to the acting user's profile; only the fields that were given are changed."""

    full_name: Annotated[str, _optional_text("name"), AfterValidator(_no_nul)] | None = None
    avatar_url: Url | None = None


# What each kind of generation is asked with: shared by the request that asks Groq
# (groqgen.generation) and by the row that records the answer (below).


class PromptFields(Input):
    """What a prompt is asked with."""

    topic: Text
    prompt_type: PromptType = "writing"
    tone: Tone = "professional"
    length: Length = 50
    additional_context: Context | None = None
    project_id: UUID | None = None


class CodeFields(Input):
    """What code is asked with."""

    description: Text
    language: Label
    framework: Label = "none"
    additional_context: Context | None = None
    project_id: UUID | None = None


class ReviewFields(Input):
    """What a review is asked with."""

    code: Document
    language: Label
    review_type: ReviewType = "general"
    project_id: UUID | None = None


class TestsFields(Input):
    """What a test suite is asked with."""

    __test__: ClassVar[bool] = False  # not a pytest test class, despite the name

    code: Document
    language: Label
    framework: Label = "none"
    test_types: Annotated[list[TestType], Field(min_length=1, max_length=LIMITS["test_types"])] = (
        Field(default_factory=lambda: ["unit"])  # type: ignore[arg-type]
    )
    coverage: Coverage = "moderate"
    additional_context: Context | None = None
    project_id: UUID | None = None


class PromptCreate(PromptFields):
    """A generated prompt to record."""

    model: Label
    generated_prompt: Document


class CodeGenerationCreate(CodeFields):
    """Generated code to record."""

    model: Label
    generated_code: Document


class CodeReviewCreate(ReviewFields):
    """A code review to record."""

    model: Label
    review_result: Document


class TestGenerationCreate(TestsFields):
    """A generated test suite to record."""

    model: Label
    generated_tests: Document


class ActivityLogCreate(Input):
    """An activity log entry to write."""

    activity_type: ActivityType
    description: Text
    project_id: UUID | None = None
    metadata: Annotated[dict[str, Any], AfterValidator(_metadata_fits)] = Field(
        default_factory=dict
    )


# --------------------------------------------------------------------------------------------
# Table descriptions.

RowT = TypeVar("RowT", bound=Row)


@dataclass(frozen=True)
class Table(Generic[RowT]):
    """One table: its name, its row model and how groqgen writes to it.

    ``create`` is the input model for ``repository.create`` (None where the table has its own
    verbs). ``activity_type`` and ``output_column`` are set on the four generation tables.
    """

    name: str
    row: type[RowT]
    create: type[Input] | None = None
    project_scoped: bool = False
    owner_column: str = "user_id"
    activity_type: str | None = None
    output_column: str | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        """The table's column names, in the row model's order."""
        return tuple(self.row.model_fields)

    @property
    def json_columns(self) -> tuple[str, ...]:
        """Columns holding a list or an object (an array or JSON in the database)."""
        return tuple(
            name
            for name, field in self.row.model_fields.items()
            if get_origin(field.annotation) in (list, dict)
        )


TABLES: Mapping[str, Table[Any]] = {
    t.name: t
    for t in (
        Table("profiles", Profile, owner_column="id"),
        Table("projects", Project, ProjectCreate),
        Table(
            "prompts",
            Prompt,
            PromptCreate,
            project_scoped=True,
            activity_type="prompt_generation",
            output_column="generated_prompt",
        ),
        Table(
            "code_generations",
            CodeGeneration,
            CodeGenerationCreate,
            project_scoped=True,
            activity_type="code_generation",
            output_column="generated_code",
        ),
        Table(
            "code_reviews",
            CodeReview,
            CodeReviewCreate,
            project_scoped=True,
            activity_type="code_review",
            output_column="review_result",
        ),
        Table(
            "tests",
            TestGeneration,
            TestGenerationCreate,
            project_scoped=True,
            activity_type="test_generation",
            output_column="generated_tests",
        ),
        Table("activity_logs", ActivityLog, ActivityLogCreate, project_scoped=True),
    )
}
"""Every table groqgen knows, by name."""

InputT = TypeVar("InputT", bound=BaseModel)


def validate_input(model: type[InputT], /, **values: Any) -> InputT:
    """Build an input model, turning pydantic's error into :class:`groqgen.ValidationError`.

    The error's ``field`` names the first offending field and its message lists every problem.

    Example:
        >>> validate_input(ProjectCreate, name="Launch").name
        'Launch'
    """
    try:
        return model(**values)
    except pydantic.ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False, include_input=False):
            field = ".".join(str(part) for part in err["loc"]) or model.__name__
            problems.append({"field": field, "message": err["msg"], "type": err["type"]})
        summary = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
        raise ValidationError(
            f"invalid {model.__name__}: {summary}",
            field=problems[0]["field"] if problems else None,
            errors=problems,
        ) from None
