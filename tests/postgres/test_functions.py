"""record_generation, resource_counts and the sign-up trigger."""

from __future__ import annotations

import json
import uuid
from typing import Any

import psycopg
import pytest

from groqgen.models import TABLES, Prompt
from tests.helpers import acting_as, as_superuser, new_user
from tests.postgres.samples import ROW_VALUES, insert_row

GENERATION_TABLES = [name for name, t in TABLES.items() if t.activity_type]


def _record(conn: Any, kind: str, record: dict[str, Any], activity: dict[str, Any]) -> Any:
    (stored,) = conn.execute(
        "select public.record_generation(%s, %s::jsonb, %s::jsonb)",
        [kind, json.dumps(record, default=str), json.dumps(activity)],
    ).fetchone()
    return stored


def _count(conn: Any, table: str, row_id: uuid.UUID) -> int:
    (n,) = conn.execute(f"select count(*) from {table} where id = %s", [row_id]).fetchone()
    return int(n)


@pytest.fixture
def user(db: Any) -> uuid.UUID:
    return new_user(db)


@pytest.mark.parametrize("kind", GENERATION_TABLES)
def test_record_generation_writes_row_and_activity_together(
    db: Any, user: uuid.UUID, kind: str
) -> None:
    project = insert_row(db, "projects", user)
    row_id = uuid.uuid4()
    activity = {"description": f"recorded {kind}", "metadata": {"model": "m", "total_tokens": 42}}
    with acting_as(db, user):
        stored = _record(
            db, kind, {"id": row_id, "project_id": project, **ROW_VALUES[kind]}, activity
        )
        assert stored["id"] == str(row_id)
        assert stored["user_id"] == str(user)
        TABLES[kind].row.model_validate(stored)
        entry = db.execute(
            "select activity_type, description, metadata, project_id, user_id "
            "from activity_logs where id = %s",
            [row_id],
        ).fetchone()
        assert entry == (
            TABLES[kind].activity_type,
            f"recorded {kind}",
            {"model": "m", "total_tokens": 42},
            project,
            user,
        )


def test_record_generation_twice_with_one_id_leaves_one_row_and_one_entry(
    db: Any, user: uuid.UUID
) -> None:
    row_id = uuid.uuid4()
    values = {"id": row_id, **ROW_VALUES["prompts"]}
    with acting_as(db, user):
        first = _record(db, "prompts", values, {"description": "first"})
        again = _record(db, "prompts", {**values, "topic": "retried"}, {"description": "again"})
        assert again == first
        assert _count(db, "prompts", row_id) == 1
        assert _count(db, "activity_logs", row_id) == 1
        (description,) = db.execute(
            "select description from activity_logs where id = %s", [row_id]
        ).fetchone()
        assert description == "first"


def test_a_failing_activity_insert_leaves_no_row(db: Any, user: uuid.UUID) -> None:
    row_id = uuid.uuid4()
    with acting_as(db, user):
        with pytest.raises(psycopg.errors.CheckViolation), db.transaction():
            _record(
                db,
                "prompts",
                {"id": row_id, **ROW_VALUES["prompts"]},
                {"description": "x" * 10_001},  # over the activity description limit
            )
        assert _count(db, "prompts", row_id) == 0
        assert _count(db, "activity_logs", row_id) == 0


def test_record_generation_refuses_an_unknown_kind(db: Any, user: uuid.UUID) -> None:
    with acting_as(db, user), pytest.raises(psycopg.errors.InvalidParameterValue, match="kind"):
        _record(db, "profiles", {"id": uuid.uuid4()}, {})


def test_record_generation_requires_a_client_id(db: Any, user: uuid.UUID) -> None:
    with acting_as(db, user), pytest.raises(psycopg.errors.InvalidParameterValue, match="id"):
        _record(db, "prompts", ROW_VALUES["prompts"], {})


def test_record_generation_into_another_users_project_is_refused(db: Any, user: uuid.UUID) -> None:
    other = new_user(db)
    theirs = insert_row(db, "projects", other)
    with acting_as(db, user), pytest.raises(psycopg.errors.InsufficientPrivilege):
        _record(
            db, "prompts", {"id": uuid.uuid4(), "project_id": theirs, **ROW_VALUES["prompts"]}, {}
        )


def test_record_generation_for_someone_else_is_refused(db: Any, user: uuid.UUID) -> None:
    other = new_user(db)
    with acting_as(db, user), pytest.raises(psycopg.errors.InsufficientPrivilege):
        _record(db, "prompts", {"id": uuid.uuid4(), "user_id": other, **ROW_VALUES["prompts"]}, {})


def test_reusing_another_users_id_is_refused_not_silently_ignored(db: Any, user: uuid.UUID) -> None:
    other = new_user(db)
    theirs = insert_row(db, "prompts", other)
    with acting_as(db, user), pytest.raises(psycopg.errors.InsufficientPrivilege, match="another"):
        _record(db, "prompts", {"id": theirs, **ROW_VALUES["prompts"]}, {})


def test_service_role_records_for_a_named_user(db: Any, user: uuid.UUID) -> None:
    row_id = uuid.uuid4()
    with acting_as(db, None, "service_role"):
        stored = _record(
            db, "prompts", {"id": row_id, "user_id": user, **ROW_VALUES["prompts"]}, {}
        )
        assert Prompt.model_validate(stored).user_id == user
        assert _count(db, "activity_logs", row_id) == 1


def test_resource_counts_in_one_call_respects_rls(db: Any, user: uuid.UUID) -> None:
    project = insert_row(db, "projects", user)
    expected = {"prompts": 3, "code_generations": 2, "code_reviews": 1, "tests": 0}
    for table, n in expected.items():
        for _ in range(n):
            insert_row(db, table, user, project)
    insert_row(db, "prompts", user, None)  # not in the project
    query = "select * from public.resource_counts(%s)"
    with acting_as(db, user):
        cur = db.execute(query, [project])
        assert [c.name for c in cur.description] == [
            "prompt_count",
            "code_generation_count",
            "code_review_count",
            "test_count",
        ]
        assert cur.fetchall() == [(3, 2, 1, 0)]
    with acting_as(db, new_user(db)):  # somebody else's project: no row at all
        assert db.execute(query, [project]).fetchall() == []


# The sign-up trigger and cascades -------------------------------------------------------------


def test_signing_up_creates_the_profile_from_user_metadata(db: Any) -> None:
    user = new_user(db, "ann@example.com", full_name="Ann Lee", avatar_url="https://a.io/ann.png")
    row = db.execute(
        "select email, full_name, avatar_url from profiles where id = %s", [user]
    ).fetchone()
    assert row == ("ann@example.com", "Ann Lee", "https://a.io/ann.png")


def test_signing_up_with_over_long_metadata_still_succeeds(db: Any) -> None:
    user = new_user(db, full_name="N" * 5000)
    (full_name,) = db.execute("select full_name from profiles where id = %s", [user]).fetchone()
    assert full_name == "N" * 200


def test_signing_up_without_an_email_gets_a_reserved_address(db: Any) -> None:
    user_id = uuid.uuid4()
    db.execute("insert into auth.users (id) values (%s)", [user_id])
    (email,) = db.execute("select email from profiles where id = %s", [user_id]).fetchone()
    assert email == f"{user_id}@users.invalid"


def test_deleting_a_user_removes_their_data(db: Any) -> None:
    user, other = new_user(db), new_user(db)
    project = insert_row(db, "projects", user)
    for table in [*GENERATION_TABLES, "activity_logs"]:
        insert_row(db, table, user, project)
    kept = insert_row(db, "prompts", other)
    with as_superuser(db):
        db.execute("delete from auth.users where id = %s", [user])
        for table in TABLES:
            column = TABLES[table].owner_column
            (n,) = db.execute(
                f"select count(*) from {table} where {column} = %s", [user]
            ).fetchone()
            assert n == 0, table
        assert _count(db, "prompts", kept) == 1


@pytest.mark.parametrize(("table", "column"), [("projects", "name"), ("profiles", "full_name")])
def test_updating_bumps_updated_at(db: Any, user: uuid.UUID, table: str, column: str) -> None:
    row = user if table == "profiles" else insert_row(db, "projects", user)
    with db.transaction():
        db.execute("set local session_replication_role = replica")  # the trigger stays out
        db.execute(f"update {table} set updated_at = now() - interval '1 day' where id = %s", [row])
    stale = f"select now() - updated_at > interval '1 hour' from {table} where id = %s"
    assert db.execute(stale, [row]).fetchone() == (True,)
    with acting_as(db, user):
        db.execute(f"update {table} set {column} = 'Renamed' where id = %s", [row])
        assert db.execute(stale, [row]).fetchone() == (False,)


# A row's project belongs to the row's owner: a foreign key, so it binds everyone ---------------

PROJECT_SCOPED = [name for name, t in TABLES.items() if t.project_scoped]


@pytest.mark.parametrize("table", PROJECT_SCOPED)
def test_even_the_service_role_cannot_file_a_row_under_a_stranger_project(
    db: Any, user: uuid.UUID, table: str
) -> None:
    theirs = insert_row(db, "projects", new_user(db))
    with acting_as(db, None, "service_role"), pytest.raises(psycopg.errors.ForeignKeyViolation):
        insert_row(db, table, user, theirs)


@pytest.mark.parametrize("table", PROJECT_SCOPED)
def test_deleting_a_project_keeps_its_rows_outside_any_project(
    db: Any, user: uuid.UUID, table: str
) -> None:
    project = insert_row(db, "projects", user)
    row = insert_row(db, table, user, project)
    with acting_as(db, user):
        assert db.execute("delete from projects where id = %s", [project]).rowcount == 1
        assert db.execute(
            f"select user_id, project_id from {table} where id = %s", [row]
        ).fetchone() == (
            user,
            None,
        )
