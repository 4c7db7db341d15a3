"""The database refuses bad values by itself, with the same limits the SDK enforces."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest

from groqgen.models import LIMITS, TABLES, ProfileUpdate
from tests.helpers import as_superuser, new_user
from tests.postgres.samples import insert_row


def _max_lengths(model: Any) -> dict[str, int]:
    """Each string field's maxLength, read from the model's JSON schema."""
    found = {}
    for name, prop in model.model_json_schema()["properties"].items():
        for option in [prop, *prop.get("anyOf", [])]:
            if option.get("type") == "string" and "maxLength" in option:
                found[name] = option["maxLength"]
    return found


LIMITED_COLUMNS = [
    pytest.param(table.name, column, limit, id=f"{table.name}.{column}")
    for table in TABLES.values()
    for model in [table.create or ProfileUpdate]
    for column, limit in _max_lengths(model).items()
]


@pytest.fixture(scope="module")
def owner(migrated_url: str) -> tuple[uuid.UUID, uuid.UUID]:
    with psycopg.connect(migrated_url, autocommit=True) as conn:
        user = new_user(conn)
        return user, insert_row(conn, "projects", user)


def _write(conn: Any, table: str, owner: tuple[uuid.UUID, uuid.UUID], **values: Any) -> None:
    user, project = owner
    if table == "profiles":
        column, value = next(iter(values.items()))
        conn.execute(f"update profiles set {column} = %s where id = %s", [value, user])
    else:
        insert_row(conn, table, user, None if table == "projects" else project, **values)


def test_every_limited_column_is_covered() -> None:
    assert len(LIMITED_COLUMNS) >= 20


@pytest.mark.parametrize(("table", "column", "limit"), LIMITED_COLUMNS)
def test_text_at_the_limit_is_stored_and_one_more_character_is_refused(
    db: Any, owner: tuple[uuid.UUID, uuid.UUID], table: str, column: str, limit: int
) -> None:
    with as_superuser(db):
        _write(db, table, owner, **{column: "x" * limit})
    with as_superuser(db), pytest.raises(psycopg.errors.CheckViolation):
        _write(db, table, owner, **{column: "x" * (limit + 1)})


@pytest.mark.parametrize("length", [5, 9, 101, 500])
def test_prompt_length_outside_10_to_100_is_refused(
    db: Any, owner: tuple[uuid.UUID, uuid.UUID], length: int
) -> None:
    with as_superuser(db), pytest.raises(psycopg.errors.CheckViolation):
        _write(db, "prompts", owner, length=length)


@pytest.mark.parametrize("length", [10, 100])
def test_prompt_length_bounds_are_inclusive(
    db: Any, owner: tuple[uuid.UUID, uuid.UUID], length: int
) -> None:
    with as_superuser(db):
        _write(db, "prompts", owner, length=length)


@pytest.mark.parametrize(
    "test_types",
    [[""], ["unit", ""], ["  "], ["unit", None], ["x" * 101], ["unit"] * 21],
    ids=["empty", "one-empty", "blank", "null", "too-long", "too-many"],
)
def test_bad_test_types_are_refused(
    db: Any, owner: tuple[uuid.UUID, uuid.UUID], test_types: list[Any]
) -> None:
    with as_superuser(db), pytest.raises(psycopg.errors.CheckViolation):
        _write(db, "tests", owner, test_types=test_types)


def test_oversize_metadata_is_refused(db: Any, owner: tuple[uuid.UUID, uuid.UUID]) -> None:
    big = {"blob": "x" * LIMITS["metadata_bytes"]}
    with as_superuser(db), pytest.raises(psycopg.errors.CheckViolation):
        _write(db, "activity_logs", owner, metadata=big)


def test_a_fifty_megabyte_topic_is_refused(db: Any, owner: tuple[uuid.UUID, uuid.UUID]) -> None:
    with as_superuser(db), pytest.raises(psycopg.errors.CheckViolation):
        _write(db, "prompts", owner, topic="t" * 50_000_000)
