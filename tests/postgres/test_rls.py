"""Row-level security, exercised the way PostgREST runs requests.

The matrix is generated from data: every table x every operation x every kind of caller, each
cell with its expected outcome.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest

from groqgen.models import TABLES
from tests.helpers import acting_as, new_user
from tests.postgres.samples import UPDATES, insert_row


@dataclass(frozen=True)
class World:
    owner: uuid.UUID
    other: uuid.UUID
    owner_project: uuid.UUID
    other_project: uuid.UUID
    rows: dict[str, uuid.UUID]  # one row of the owner's in every table


@pytest.fixture(scope="module")
def world(migrated_url: str) -> World:
    with psycopg.connect(migrated_url, autocommit=True) as conn:
        owner, other = new_user(conn), new_user(conn)
        owner_project = insert_row(conn, "projects", owner)
        other_project = insert_row(conn, "projects", other)
        rows = {"profiles": owner, "projects": owner_project}
        for table in TABLES:
            if table not in rows:
                rows[table] = insert_row(conn, table, owner, owner_project)
    return World(owner, other, owner_project, other_project, rows)


# What each caller may do, the same on every table. Outcomes of a select: "rows", "no rows",
# "refused"; of a write: "written", "no effect", "refused".
EXPECTED = {
    "owner": {"select": "rows", "insert": "written", "update": "written", "delete": "written"},
    "other": {
        "select": "no rows",
        "insert": "refused",
        "update": "no effect",
        "delete": "no effect",
    },
    "anon": {"select": "refused", "insert": "refused", "update": "refused", "delete": "refused"},
}
CELLS = [
    pytest.param(table, op, caller, outcome, id=f"{table}-{op}-{caller}")
    for table in TABLES
    for caller, ops in EXPECTED.items()
    for op, outcome in ops.items()
]


def _caller(world: World, caller: str) -> tuple[uuid.UUID | None, str]:
    return {
        "owner": (world.owner, "authenticated"),
        "other": (world.other, "authenticated"),
        "anon": (None, "anon"),
    }[caller]


def _attempt(conn: Any, world: World, table: str, op: str) -> str:
    target = world.rows[table]
    key = "id"
    try:
        with conn.transaction():
            if op == "select":
                found = conn.execute(
                    f"select id from {table} where {key} = %s", [target]
                ).fetchall()
                return "rows" if found else "no rows"
            if op == "insert":
                if table == "profiles":
                    conn.execute(
                        "insert into profiles (id, email) values (%s, %s)",
                        [world.owner, "again@example.com"],
                    )
                else:
                    project = None if table == "projects" else world.owner_project
                    insert_row(conn, table, world.owner, project)
                return "written"
            if op == "update":
                column, value = UPDATES[table]
                cur = conn.execute(
                    f"update {table} set {column} = %s where id = %s", [value, target]
                )
            else:
                cur = conn.execute(f"delete from {table} where id = %s", [target])
            return "written" if cur.rowcount == 1 else "no effect"
    except psycopg.errors.InsufficientPrivilege:
        return "refused"


@pytest.mark.parametrize(("table", "op", "caller", "expected"), CELLS)
def test_rls_matrix(db: Any, world: World, table: str, op: str, caller: str, expected: str) -> None:
    user_id, role = _caller(world, caller)
    with db.transaction(force_rollback=True):
        if table == "profiles" and op == "insert":
            # The owner's profile exists (the sign-up trigger made it); make room for the insert.
            db.execute("delete from profiles where id = %s", [world.owner])
        with acting_as(db, user_id, role):
            assert _attempt(db, world, table, op) == expected


def test_matrix_covers_every_table_operation_and_caller() -> None:
    assert len(CELLS) == len(TABLES) * 4 * 3 == 84


PROJECT_SCOPED = [name for name, table in TABLES.items() if table.project_scoped]


@pytest.mark.parametrize("table", PROJECT_SCOPED)
def test_insert_into_another_users_project_is_refused(db: Any, world: World, table: str) -> None:
    with acting_as(db, world.owner), pytest.raises(psycopg.errors.InsufficientPrivilege):
        insert_row(db, table, world.owner, world.other_project)


@pytest.mark.parametrize("table", PROJECT_SCOPED)
def test_moving_a_row_into_another_users_project_is_refused(
    db: Any, world: World, table: str
) -> None:
    with acting_as(db, world.owner), pytest.raises(psycopg.errors.InsufficientPrivilege):
        db.execute(
            f"update {table} set project_id = %s where id = %s",
            [world.other_project, world.rows[table]],
        )


@pytest.mark.parametrize("table", PROJECT_SCOPED)
def test_rows_in_own_project_or_none_are_accepted(db: Any, world: World, table: str) -> None:
    with acting_as(db, world.owner):
        insert_row(db, table, world.owner, world.owner_project)
        insert_row(db, table, world.owner, None)


@pytest.mark.parametrize("table", [*PROJECT_SCOPED, "projects"])
def test_giving_a_row_to_another_user_is_refused(db: Any, world: World, table: str) -> None:
    with acting_as(db, world.owner), pytest.raises(psycopg.errors.InsufficientPrivilege):
        db.execute(
            f"update {table} set user_id = %s where id = %s", [world.other, world.rows[table]]
        )


def test_anon_has_no_privilege_on_any_table(db: Any) -> None:
    rows = db.execute(
        "select table_name, privilege_type from information_schema.role_table_grants "
        "where grantee = 'anon' and table_schema = 'public'"
    ).fetchall()
    assert rows == []


def test_authenticated_may_run_only_the_sdk_functions(db: Any) -> None:
    rows = db.execute(
        "select p.proname from pg_proc p join pg_namespace n on n.oid = p.pronamespace "
        "where n.nspname = 'public' and has_function_privilege('anon', p.oid, 'execute')"
    ).fetchall()
    assert rows == []
    for function in ("record_generation(text, jsonb, jsonb, uuid)", "resource_counts(uuid, uuid)"):
        (allowed,) = db.execute(
            "select has_function_privilege('authenticated', %s, 'execute')", [f"public.{function}"]
        ).fetchone()
        assert allowed, function


def test_security_definer_functions_pin_search_path(db: Any) -> None:
    rows = db.execute(
        "select p.oid::regprocedure::text, p.proconfig from pg_proc p "
        "join pg_namespace n on n.oid = p.pronamespace "
        "where p.prosecdef and n.nspname in ('public', 'groqgen')"
    ).fetchall()
    assert rows, "the sign-up trigger function is security definer"
    for name, config in rows:
        assert config and any(c.startswith("search_path=") for c in config), name


def test_sdk_functions_are_security_invoker(db: Any) -> None:
    rows = db.execute(
        "select proname, prosecdef from pg_proc "
        "where proname in ('record_generation', 'resource_counts')"
    ).fetchall()
    assert sorted(rows) == [("record_generation", False), ("resource_counts", False)]
