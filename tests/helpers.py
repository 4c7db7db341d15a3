"""Helpers for PostgreSQL tests: act as a user the way PostgREST does, sign users up."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def acting_as(conn: Any, user_id: uuid.UUID | None, role: str = "authenticated") -> Iterator[Any]:
    """Run the block inside a transaction the way PostgREST runs a request: role and JWT
    claims set locally in one statement. Everything done inside is rolled back."""
    claims = {"role": role} if user_id is None else {"sub": str(user_id), "role": role}
    with conn.transaction(force_rollback=True):
        conn.execute(
            "select set_config('role', %s, true), set_config('request.jwt.claims', %s, true)",
            [role, json.dumps(claims)],
        )
        yield conn


@contextmanager
def as_superuser(conn: Any) -> Iterator[Any]:
    """A transaction as the connecting superuser that is rolled back afterwards."""
    with conn.transaction(force_rollback=True):
        yield conn


def new_user(conn: Any, email: str | None = None, **metadata: Any) -> uuid.UUID:
    """Insert into auth.users the way Supabase Auth does at sign-up; returns the id."""
    user_id = uuid.uuid4()
    conn.execute(
        "insert into auth.users (id, email, raw_user_meta_data) values (%s, %s, %s)",
        [user_id, email or f"{user_id.hex[:10]}@example.com", json.dumps(metadata)],
    )
    return user_id


def swap_generation_store(client: Any, store: Any) -> None:
    """Put ``store`` under everything that records generations: the generator (its checks and
    its recorder) and the outbox client (flush)."""
    generator = client.generate
    generator._store = store
    generator._recorder.store = store
    client.outbox._recorder.store = store
