"""One reading of the database's error codes, whether they come through psycopg or PostgREST."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from groqgen.errors import (
    GroqgenError,
    NotFound,
    PermissionDenied,
    StoreError,
    ValidationError,
)
from groqgen.stores import ops, sqlstate
from groqgen.stores import postgres as postgres_store
from groqgen.stores import supabase as supabase_store

CODES = [
    ("42501", 'new row violates row-level security policy for table "prompts"', PermissionDenied),
    ("42501", "permission denied for function record_generation", PermissionDenied),
    ("23503", "insert or update on table violates foreign key constraint", PermissionDenied),
    ("23514", "new row violates check constraint", ValidationError),
    ("23502", "null value in column violates not-null constraint", ValidationError),
    ("22P02", "invalid input syntax for type uuid", ValidationError),
    ("P0002", "project not found", NotFound),
    ("57014", "canceling statement due to statement timeout", StoreError),
    ("55P03", "canceling statement due to lock timeout", StoreError),
]


def _psycopg_error(code: str, message: str) -> Any:
    import psycopg.errors

    return psycopg.errors.lookup(code)(message)


def _postgrest_error(code: str, message: str) -> Any:
    from postgrest.exceptions import APIError

    return APIError({"message": message, "code": code, "hint": None, "details": None})


@pytest.mark.parametrize(("code", "message", "error"), CODES)
def test_a_code_means_the_same_error_through_postgres_and_supabase(
    code: str, message: str, error: type[GroqgenError]
) -> None:
    through_postgres = postgres_store.translate(_psycopg_error(code, message))
    through_supabase = supabase_store.translate(_postgrest_error(code, message))
    assert type(through_postgres) is type(through_supabase) is error
    assert str(through_postgres) == str(through_supabase)
    assert message in str(through_postgres)


def test_only_a_row_level_security_refusal_points_at_project_id() -> None:
    refused = sqlstate.error_for("42501", "new row violates row-level security policy")
    denied = sqlstate.error_for("42501", "permission denied for table prompts")
    assert refused is not None and "check project_id" in str(refused)
    assert denied is not None and "project_id" not in str(denied)


@pytest.mark.parametrize("code", ["57014", "55P03", "08006", "57P01", "40001", "40P01"])
def test_timeouts_lost_connections_and_conflicts_are_worth_another_try(code: str) -> None:
    known = sqlstate.error_for(code, "x")
    assert (known is not None and isinstance(known, StoreError) and known.transient) or (
        known is None and sqlstate.transient(code)
    )


def test_a_code_the_map_does_not_know_is_left_to_the_store() -> None:
    assert sqlstate.error_for("XX000", "internal error") is None
    assert not sqlstate.transient("XX000")
    through_supabase = supabase_store.translate(_postgrest_error("XX000", "internal error"))
    assert type(through_supabase) is StoreError and not through_supabase.transient


def test_postgrest_s_no_single_row_is_not_found() -> None:
    assert isinstance(supabase_store.translate(_postgrest_error("PGRST116", "0 rows")), NotFound)


# Writes logged with their activity entry go through a function named per table, never guessed.


def _activity() -> dict[str, Any]:
    return {"id": "00000000-0000-0000-0000-000000000001", "activity_type": "project_updated"}


def test_a_logged_project_write_calls_its_own_function() -> None:
    user = uuid.uuid4()
    project = uuid.uuid4()
    calls = {
        "create_project": ops.Insert("projects", {"id": project, "name": "p"}, _activity()),
        "update_project": ops.Update("projects", project, ops.Scope(), {"name": "q"}, _activity()),
        "delete_project": ops.Delete("projects", project, ops.Scope(), _activity()),
    }
    for function, op in calls.items():
        rest = _Recorder()
        supabase_store.plan(op, user).build(rest)
        assert rest.rpc_called == function


@pytest.mark.parametrize(
    "op",
    [
        ops.Insert("prompts", {"topic": "t"}, _activity()),
        ops.Update("prompts", None, ops.Scope(), {"topic": "t"}, _activity()),
        ops.Delete("prompts", uuid.UUID(int=1), ops.Scope(), _activity()),
    ],
    ids=["insert", "update", "delete"],
)
def test_a_logged_write_of_another_table_is_refused_over_postgrest(op: ops.Operation) -> None:
    with pytest.raises(StoreError, match=r"no atomic \w+-with-activity for prompts"):
        supabase_store.plan(op, uuid.uuid4())


class _Recorder:
    """Stands in for a postgrest client: notes which function a request calls."""

    rpc_called: str | None = None

    def rpc(self, function: str, params: dict[str, Any]) -> None:
        self.rpc_called = function
