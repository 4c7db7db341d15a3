"""create_project, update_project, delete_project: a project write and its entry, one call."""

from __future__ import annotations

import json
import uuid
from typing import Any

import psycopg
import pytest

from tests.helpers import acting_as, new_user
from tests.postgres.samples import insert_row


def _call(conn: Any, sql: str, *params: Any) -> Any:
    return conn.execute(
        sql, [json.dumps(p) if isinstance(p, dict) else p for p in params]
    ).fetchone()[0]


@pytest.fixture
def user(db: Any) -> uuid.UUID:
    return new_user(db)


def _entries(conn: Any, user: uuid.UUID) -> list[tuple[Any, ...]]:
    return conn.execute(
        "select activity_type, project_id, metadata ->> 'k' from activity_logs where user_id = %s order by created_at",
        [user],
    ).fetchall()


def test_create_project_writes_the_project_and_its_entry(db: Any, user: uuid.UUID) -> None:
    project_id = uuid.uuid4()
    with acting_as(db, user):
        stored = _call(
            db,
            "select public.create_project(%s::jsonb, %s::jsonb)",
            {"id": str(project_id), "name": "Launch", "description": "plan"},
            {"description": "Created project 'Launch'", "metadata": {"k": "v"}},
        )
        assert (stored["id"], stored["name"], stored["user_id"]) == (
            str(project_id),
            "Launch",
            str(user),
        )
        assert _entries(db, user) == [("project_created", project_id, "v")]


def test_create_project_for_someone_else_is_refused_and_leaves_nothing(
    db: Any, user: uuid.UUID
) -> None:
    other = new_user(db)
    with acting_as(db, user):
        with pytest.raises(psycopg.errors.InsufficientPrivilege), db.transaction():
            _call(
                db,
                "select public.create_project(%s::jsonb, null)",
                {"name": "x", "user_id": str(other)},
            )
        assert db.execute("select count(*) from projects").fetchone() == (0,)
        assert _entries(db, user) == []


def test_a_failing_entry_rolls_the_project_back(db: Any, user: uuid.UUID) -> None:
    with acting_as(db, user):
        with pytest.raises(psycopg.errors.CheckViolation), db.transaction():
            _call(
                db,
                "select public.create_project(%s::jsonb, %s::jsonb)",
                {"name": "x"},
                {"description": "d" * 10_001},
            )
        assert db.execute("select count(*) from projects").fetchone() == (0,)


def test_update_project_changes_only_the_given_fields_and_logs(db: Any, user: uuid.UUID) -> None:
    project = insert_row(db, "projects", user, description="keep")
    with acting_as(db, user):
        stored = _call(
            db, "select public.update_project(%s, %s::jsonb, null)", project, {"name": "Renamed"}
        )
        assert (stored["name"], stored["description"]) == ("Renamed", "keep")
        cleared = _call(
            db, "select public.update_project(%s, %s::jsonb, null)", project, {"description": None}
        )
        assert cleared["description"] is None
        assert [e[0] for e in _entries(db, user)] == ["project_updated", "project_updated"]


def test_update_or_delete_of_another_users_project_is_null_and_logs_nothing(
    db: Any, user: uuid.UUID
) -> None:
    theirs = insert_row(db, "projects", new_user(db))
    with acting_as(db, user):
        assert (
            _call(db, "select public.update_project(%s, %s::jsonb, null)", theirs, {"name": "mine"})
            is None
        )
        assert _call(db, "select public.delete_project(%s, null)", theirs) is None
        assert _entries(db, user) == []
    assert db.execute("select name from projects where id = %s", [theirs]).fetchone() == ("Launch",)


def test_delete_project_logs_then_deletes(db: Any, user: uuid.UUID) -> None:
    project = insert_row(db, "projects", user)
    row = insert_row(db, "prompts", user, project)
    with acting_as(db, user):
        stored = _call(
            db, "select public.delete_project(%s, %s::jsonb)", project, {"metadata": {"k": "gone"}}
        )
        assert stored["id"] == str(project)
        assert _entries(db, user) == [("project_deleted", None, "gone")]
        assert db.execute("select project_id from prompts where id = %s", [row]).fetchone() == (
            None,
        )


def test_anon_may_not_call_them(db: Any) -> None:
    for signature in (
        "create_project(jsonb, jsonb, uuid)",
        "update_project(uuid, jsonb, jsonb, uuid)",
        "delete_project(uuid, jsonb, uuid)",
    ):
        (allowed,) = db.execute(
            "select has_function_privilege('anon', %s, 'execute')", [f"public.{signature}"]
        ).fetchone()
        assert not allowed, signature
