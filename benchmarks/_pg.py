"""Throwaway PostgreSQL databases for benchmarks (created, migrated, dropped)."""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from groqgen import migrations

SERVER_URL = os.environ.get(
    "GROQGEN_BENCH_SERVER_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


@contextmanager
def migrated_database(prefix: str) -> Iterator[str]:
    """A new database with groqgen's migrations applied; dropped afterwards."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    with psycopg.connect(SERVER_URL, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    url = make_conninfo(**{**conninfo_to_dict(SERVER_URL), "dbname": name})
    try:
        migrations.apply(url)
        yield url
    finally:
        with psycopg.connect(SERVER_URL, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')


def new_user(url: str) -> uuid.UUID:
    """Sign a user up (the trigger creates the profile)."""
    user = uuid.uuid4()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "insert into auth.users (id, email) values (%s, %s)",
            [user, f"{user.hex[:12]}@example.com"],
        )
    return user
