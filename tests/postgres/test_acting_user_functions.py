"""The SQL functions scope themselves to the acting user, even where row-level security does not.

The service role bypasses row-level security. Each function the SDK calls works out who acts
(the JWT's ``sub``, else its ``acting_user`` argument, else nobody: every user) and touches only
that user's rows (migration 0004).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest

from groqgen import migrations
from tests.helpers import acting_as, new_user
from tests.postgres.samples import ROW_VALUES, insert_row

PROMPT = ROW_VALUES["prompts"]


def _one(conn: Any, sql: str, *params: Any) -> Any:
    row = conn.execute(
        sql, [json.dumps(p, default=str) if isinstance(p, dict) else p for p in params]
    ).fetchone()
    return None if row is None else row[0]


@pytest.fixture(autouse=True)
def _function_names_not_cached_across_tests() -> Iterator[None]:
    """Tests here pretend that fewer migrations shipped: the names of the functions
    ``migrations`` caches from that pretence must not outlive them (0005 adds one)."""
    migrations._function_names.cache_clear()
    yield
    migrations._function_names.cache_clear()


@pytest.fixture
def a(db: Any) -> uuid.UUID:
    return new_user(db)


@pytest.fixture
def b(db: Any) -> uuid.UUID:
    return new_user(db)


@pytest.fixture
def b_project(db: Any, b: uuid.UUID) -> uuid.UUID:
    project = insert_row(db, "projects", b)
    insert_row(db, "prompts", b, project)
    return project


# How a request can act for A with the service role: the SDK's PostgreSQL store puts A in the
# claims; a Supabase service key names nobody, so the SDK passes acting_user.
WAYS = ["claims", "argument"]


@contextmanager
def service_for(conn: Any, user: uuid.UUID, way: str) -> Iterator[str]:
    """Act as the service role for ``user``; yields the SQL for the acting_user argument."""
    with acting_as(conn, user if way == "claims" else None, "service_role"):
        yield "null" if way == "claims" else f"'{user}'::uuid"


def _project(conn: Any, project: uuid.UUID) -> Any:
    return conn.execute("select name from projects where id = %s", [project]).fetchone()


@pytest.mark.parametrize("way", WAYS)
def test_update_project_of_another_user_changes_nothing(
    db: Any, a: uuid.UUID, b_project: uuid.UUID, way: str
) -> None:
    with service_for(db, a, way) as acting:
        sql = f"select public.update_project(%s, %s::jsonb, '{{}}'::jsonb, {acting})"
        assert _one(db, sql, b_project, {"name": "taken"}) is None
        assert _project(db, b_project) == ("Launch",)
        assert _one(db, "select count(*) from activity_logs where project_id = %s", b_project) == 0


@pytest.mark.parametrize("way", WAYS)
def test_delete_project_of_another_user_changes_nothing(
    db: Any, a: uuid.UUID, b_project: uuid.UUID, way: str
) -> None:
    with service_for(db, a, way) as acting:
        sql = f"select public.delete_project(%s, '{{}}'::jsonb, {acting})"
        assert _one(db, sql, b_project) is None
        assert _project(db, b_project) == ("Launch",)


@pytest.mark.parametrize("way", WAYS)
def test_resource_counts_of_another_users_project_has_no_row(
    db: Any, a: uuid.UUID, b_project: uuid.UUID, way: str
) -> None:
    with service_for(db, a, way) as acting:
        sql = f"select * from public.resource_counts(%s, {acting})"
        assert db.execute(sql, [b_project]).fetchall() == []


@pytest.mark.parametrize("way", WAYS)
def test_record_generation_under_another_users_row_id_is_refused(
    db: Any, a: uuid.UUID, b: uuid.UUID, way: str
) -> None:
    theirs = insert_row(db, "prompts", b)
    with service_for(db, a, way) as acting, pytest.raises(psycopg.errors.InsufficientPrivilege):
        _one(
            db,
            f"select public.record_generation('prompts', %s::jsonb, '{{}}'::jsonb, {acting})",
            {"id": str(theirs), **PROMPT},
        )


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize("where", ["record", "activity"])
def test_record_generation_naming_another_user_is_refused(
    db: Any, a: uuid.UUID, b: uuid.UUID, way: str, where: str
) -> None:
    record: dict[str, Any] = {"id": str(uuid.uuid4()), **PROMPT}
    activity: dict[str, Any] = {}
    (record if where == "record" else activity)["user_id"] = str(b)
    with service_for(db, a, way) as acting, pytest.raises(psycopg.errors.InsufficientPrivilege):
        _one(
            db,
            f"select public.record_generation('prompts', %s::jsonb, %s::jsonb, {acting})",
            record,
            activity,
        )


@pytest.mark.parametrize("way", WAYS)
def test_record_generation_writes_for_the_acting_user(db: Any, a: uuid.UUID, way: str) -> None:
    row_id = uuid.uuid4()
    with service_for(db, a, way) as acting:
        stored = _one(
            db,
            f"select public.record_generation('prompts', %s::jsonb, '{{}}'::jsonb, {acting})",
            {"id": str(row_id), **PROMPT},
        )
        assert stored["user_id"] == str(a)
        assert _one(db, "select user_id from activity_logs where id = %s", row_id) == a


@pytest.mark.parametrize("way", WAYS)
def test_create_project_for_another_user_is_refused(
    db: Any, a: uuid.UUID, b: uuid.UUID, way: str
) -> None:
    with service_for(db, a, way) as acting, pytest.raises(psycopg.errors.InsufficientPrivilege):
        _one(
            db,
            f"select public.create_project(%s::jsonb, '{{}}'::jsonb, {acting})",
            {"name": "x", "user_id": str(b)},
        )


@pytest.mark.parametrize("way", WAYS)
def test_create_project_is_the_acting_users(db: Any, a: uuid.UUID, way: str) -> None:
    with service_for(db, a, way) as acting:
        stored = _one(
            db, f"select public.create_project(%s::jsonb, '{{}}'::jsonb, {acting})", {"name": "x"}
        )
        assert stored["user_id"] == str(a)


def test_a_project_entry_for_another_user_is_refused(db: Any, a: uuid.UUID, b: uuid.UUID) -> None:
    with acting_as(db, None, "service_role"), pytest.raises(psycopg.errors.InsufficientPrivilege):
        _one(
            db,
            "select public.create_project(%s::jsonb, %s::jsonb)",
            {"name": "x", "user_id": str(a)},
            {"user_id": str(b), "project_id": None},
        )


@pytest.mark.parametrize("role", ["authenticated", "service_role"])
def test_an_acting_user_that_contradicts_the_jwt_is_refused(
    db: Any, a: uuid.UUID, b_project: uuid.UUID, b: uuid.UUID, role: str
) -> None:
    with acting_as(db, a, role), pytest.raises(psycopg.errors.InsufficientPrivilege):
        db.execute("select * from public.resource_counts(%s, %s)", [b_project, b])


def test_the_service_role_for_nobody_reaches_every_project(
    db: Any, b: uuid.UUID, b_project: uuid.UUID
) -> None:
    with acting_as(db, None, "service_role"):
        counts = db.execute("select * from public.resource_counts(%s)", [b_project]).fetchall()
        assert counts == [(1, 0, 0, 0)]
        updated = _one(
            db, "select public.update_project(%s, %s::jsonb, '{}'::jsonb)", b_project, {"name": "m"}
        )
        assert (updated["name"], updated["user_id"]) == ("m", str(b))
        assert _one(db, "select user_id from activity_logs where project_id = %s", b_project) == b


def test_calls_with_the_arguments_of_0003_still_work(db: Any, a: uuid.UUID) -> None:
    with acting_as(db, a):
        made = _one(db, "select public.create_project(%s::jsonb, null)", {"name": "old"})
        project = made["id"]
        assert (
            _one(
                db, "select public.update_project(%s, %s::jsonb, null)", project, {"name": "older"}
            )["name"]
            == "older"
        )
        assert db.execute("select * from public.resource_counts(%s)", [project]).fetchall() == [
            (0, 0, 0, 0)
        ]
        stored = _one(
            db,
            "select public.record_generation('prompts', %s::jsonb)",
            {"id": str(uuid.uuid4()), "project_id": project, **PROMPT},
        )
        assert stored["user_id"] == str(a)
        assert _one(db, "select public.delete_project(%s, null)", project)["id"] == project


def test_0004_applies_over_a_database_in_use(
    make_database: Callable[[], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = make_database()
    shipped = migrations.available()
    monkeypatch.setattr(migrations, "available", lambda: shipped[:3])
    assert migrations.apply(url) == ["0001", "0002", "0003"]
    with psycopg.connect(url, autocommit=True) as conn:
        user = new_user(conn)
        project = insert_row(conn, "projects", user)
        insert_row(conn, "prompts", user, project)
    monkeypatch.setattr(migrations, "available", lambda: shipped[:4])
    assert migrations.apply(url) == ["0004"]
    with psycopg.connect(url, autocommit=True) as conn, acting_as(conn, user):
        assert conn.execute("select * from public.resource_counts(%s)", [project]).fetchall() == [
            (1, 0, 0, 0)
        ]


def test_acting_for_a_user_fails_closed_on_a_database_without_0004(
    make_database: Callable[[], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from groqgen import Client, StoreError

    url = make_database()
    shipped = migrations.available()
    monkeypatch.setattr(migrations, "available", lambda: shipped[:3])
    migrations.apply(url)
    with psycopg.connect(url, autocommit=True) as conn:
        a, b = new_user(conn), new_user(conn)
        theirs = insert_row(conn, "projects", b)
    with (
        Client(database_url=url, service=True, user_id=a, pool_size=1) as client,
        pytest.raises(StoreError, match="resource_counts"),
    ):
        client.projects.resource_counts(theirs)
