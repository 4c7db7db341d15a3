"""Shared fixtures: real PostgreSQL databases made for the test session and dropped after it.

PostgreSQL tests skip with a reason when no server answers, unless GROQGEN_REQUIRE_POSTGRES=1
(as in CI), where they fail instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

SERVER_URL = os.environ.get(
    "GROQGEN_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def _require_postgres() -> bool:
    return os.environ.get("GROQGEN_REQUIRE_POSTGRES", "") not in ("", "0", "false", "no")


@pytest.fixture(scope="session")
def pg_server() -> str:
    """The URL of a maintenance database on a reachable PostgreSQL server."""
    try:
        import psycopg
    except ImportError:  # pragma: no cover - the test extra installs it
        reason = "psycopg is not installed (pip install -e '.[test]')"
        if _require_postgres():
            pytest.fail(reason)
        pytest.skip(reason)
    try:
        with psycopg.connect(SERVER_URL, connect_timeout=3) as conn:
            conn.execute("select 1")
    except psycopg.OperationalError as exc:
        reason = f"no PostgreSQL server at {SERVER_URL} ({str(exc).strip().splitlines()[0]})"
        if _require_postgres():
            pytest.fail(f"GROQGEN_REQUIRE_POSTGRES=1 but {reason}")
        pytest.skip(reason + "; set GROQGEN_TEST_DATABASE_URL to run the PostgreSQL tests")
    return SERVER_URL


def _with_db(url: str, name: str) -> str:
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    return make_conninfo(**{**conninfo_to_dict(url), "dbname": name})


@pytest.fixture(scope="session")
def make_database(pg_server: str) -> Iterator[Callable[[], str]]:
    """Create throwaway databases on demand; every one is dropped when the session ends."""
    import psycopg

    created: list[str] = []

    def make() -> str:
        name = f"groqgen_test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(pg_server, autocommit=True) as conn:
            conn.execute(f'create database "{name}"')
        created.append(name)
        return _with_db(pg_server, name)

    yield make
    with psycopg.connect(pg_server, autocommit=True) as conn:
        for name in created:
            conn.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture(scope="session")
def migrated_url(make_database: Callable[[], str]) -> str:
    """A database with every groqgen migration applied (shared by the session: use
    transactions that roll back, or make your own database, to change it)."""
    from groqgen import migrations

    url = make_database()
    migrations.apply(url)
    return url


@pytest.fixture
def db(migrated_url: str) -> Iterator[Any]:
    """An autocommit superuser connection to the migrated database."""
    import psycopg

    with psycopg.connect(migrated_url, autocommit=True) as conn:
        yield conn
