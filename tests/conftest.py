"""Shared fixtures: real PostgreSQL databases made for the test session and dropped after it.

PostgreSQL tests skip with a reason when no server answers, unless GROQGEN_REQUIRE_POSTGRES=1
(as in CI), where they fail instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

SERVER_URL = os.environ.get(
    "GROQGEN_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def _require_postgres() -> bool:
    return os.environ.get("GROQGEN_REQUIRE_POSTGRES", "") not in ("", "0", "false", "no")


# Read once, before any test clears the environment: these two choose the test database server
# and whether its absence fails the run; they configure the suite, not groqgen.
_REQUIRE_POSTGRES = _require_postgres()
_SUITE_VARIABLES = (
    "GROQGEN_REQUIRE_POSTGRES",
    "GROQGEN_REQUIRE_PGBOUNCER",
    "GROQGEN_TEST_DATABASE_URL",
    "GROQGEN_RECORD_CASSETTES",
)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the caller's Groq, groqgen or Supabase settings.

    A ``GROQ_BASE_URL`` or ``GROQGEN_MODEL`` exported in a developer's shell must not change
    what a test exercises; tests that need a variable set it themselves.
    """
    for name in list(os.environ):
        if name.startswith(("GROQ_", "GROQGEN_", "SUPABASE_")) and name not in _SUITE_VARIABLES:
            monkeypatch.delenv(name)


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


# Clients over every store and flavour -----------------------------------------------------------

STORES = [
    "sqlite-sync",
    "sqlite-async",
    "postgres-sync",
    "postgres-async",
    "supabase-sync",
    "supabase-async",
]
PASSWORD = "correct horse battery staple"


class Blocking:
    """Drive an async client (or repository) as if it were sync, on one event loop, so that one
    test body covers both flavours. Async iterators are collected into lists."""

    def __init__(self, target: Any, loop: Any) -> None:
        self._target, self._loop = target, loop

    def __getattr__(self, name: str) -> Any:
        import inspect

        from groqgen.auth import AsyncSupabaseAuth
        from groqgen.generator import AsyncGenerator, AsyncOutboxClient
        from groqgen.repositories import AsyncRepository

        attr = getattr(self._target, name)
        if isinstance(
            attr, (AsyncRepository, AsyncGenerator, AsyncOutboxClient, AsyncSupabaseAuth)
        ):
            return Blocking(attr, self._loop)
        if inspect.isasyncgenfunction(attr):

            async def collect(*a: Any, **k: Any) -> list[Any]:
                return [item async for item in attr(*a, **k)]

            return lambda *a, **k: iter(self._loop.run_until_complete(collect(*a, **k)))
        if inspect.ismethod(attr) or inspect.isfunction(attr):
            # async def methods, and methods that return an awaitable (the generator's kinds)

            def call(*a: Any, **k: Any) -> Any:
                result = attr(*a, **k)
                if inspect.isawaitable(result):
                    return self._loop.run_until_complete(result)
                return result

            return call
        return attr


@dataclass
class StoreCase:
    """A client under test, and a way to write rows behind its back."""

    kind: str
    client: Any
    raw: Callable[[str, list[dict[str, Any]]], None]
    user_id: uuid.UUID


def _pg_raw(url: str) -> Callable[[str, list[dict[str, Any]]], None]:
    import json

    import psycopg

    def insert(table: str, rows: list[dict[str, Any]]) -> None:
        with psycopg.connect(url, autocommit=True) as conn, conn.transaction():
            for row in rows:
                values = {k: json.dumps(v) if isinstance(v, dict) else v for k, v in row.items()}
                cols = ", ".join(values)
                marks = ", ".join(["%s"] * len(values))
                conn.execute(
                    f"insert into {table} ({cols}) values ({marks})", list(values.values())
                )

    return insert


def _sqlite_raw(path: Any) -> Callable[[str, list[dict[str, Any]]], None]:
    import sqlite3

    from groqgen.stores.sqlite import SQLiteDialect

    dialect = SQLiteDialect()

    def insert(table: str, rows: list[dict[str, Any]]) -> None:
        from groqgen.models import TABLES

        conn = sqlite3.connect(path)
        with conn:
            for row in rows:
                values = {k: dialect.encode(TABLES[table], k, v) for k, v in row.items()}
                cols = ", ".join(values)
                marks = ", ".join(["?"] * len(values))
                conn.execute(
                    f"insert into {table} ({cols}) values ({marks})", list(values.values())
                )
        conn.close()

    return insert


@pytest.fixture(params=STORES)
def store_case(request: Any, tmp_path: Any) -> Iterator[StoreCase]:
    """A fresh client on each store, sync and async; on PostgreSQL a fresh user under RLS."""
    yield from _store_case(request, tmp_path)


@pytest.fixture(scope="session")
def supabase_peer(migrated_url: str) -> Iterator[Any]:
    """A local Supabase stand-in (PostgREST and Auth subsets) over the migrated database."""
    from tests.supabase_peer import SupabasePeer

    with SupabasePeer(migrated_url) as peer:
        yield peer


@pytest.fixture
def groq_peer() -> Iterator[Any]:
    """A local stand-in for Groq (tests/groq_peer.py)."""
    from tests.groq_peer import GroqPeer

    with GroqPeer() as peer:
        yield peer


@pytest.fixture(params=STORES)
def generator_case(request: Any, tmp_path: Any, groq_peer: Any) -> Iterator[StoreCase]:
    """Like ``store_case``, with the client's Groq calls going to ``groq_peer``."""
    yield from _store_case(
        request,
        tmp_path,
        groq_api_key="gsk_test_key",
        groq_base_url=groq_peer.base_url,
        max_retries=2,
        timeout=5,
    )


@pytest.fixture(params=[s for s in STORES if s.endswith("async")])
def async_generator_case(request: Any, tmp_path: Any, groq_peer: Any) -> Iterator[StoreCase]:
    """``generator_case`` for the async clients only (batches are an AsyncClient feature)."""
    yield from _store_case(
        request,
        tmp_path,
        groq_api_key="gsk_test_key",
        groq_base_url=groq_peer.base_url,
        max_retries=2,
        timeout=5,
    )


def _store_case(request: Any, tmp_path: Any, **options: Any) -> Iterator[StoreCase]:
    import asyncio

    from groqgen import AsyncClient, Client

    kind, flavour = request.param.split("-")
    loop = asyncio.new_event_loop() if flavour == "async" else None
    factory = AsyncClient if flavour == "async" else Client
    if kind == "postgres":
        import psycopg

        from tests.helpers import new_user

        url = request.getfixturevalue("migrated_url")
        with psycopg.connect(url, autocommit=True) as conn:
            user_id = new_user(conn)
        client = factory(database_url=url, user_id=user_id, pool_size=4, home=tmp_path, **options)
        raw = _pg_raw(url)
    elif kind == "sqlite":
        client = factory(home=tmp_path, **options)
        raw = _sqlite_raw(tmp_path / "groqgen.db")
    if kind == "supabase":
        url = request.getfixturevalue("migrated_url")
        peer = request.getfixturevalue("supabase_peer")
        client = factory(
            supabase_url=peer.url, supabase_key=peer.anon_key, home=tmp_path, **options
        )
        raw = _pg_raw(url)
    # Back-off waits in tests are short; a server-given wait (retry-after) is still honoured.
    client.generate.policy.base, client.generate.policy.cap = 0.005, 0.02
    driven = Blocking(client, loop) if loop else client
    if kind == "supabase":
        email = f"{uuid.uuid4().hex[:12]}@example.com"
        driven.auth.sign_up(email, PASSWORD)
        driven.auth.sign_in_with_password(email, PASSWORD)
    if kind in ("sqlite", "supabase"):
        user_id = driven.profiles.me().id
    try:
        yield StoreCase(request.param, driven, raw, user_id)
    finally:
        if loop:
            loop.run_until_complete(client.close())
            loop.close()
        else:
            client.close()


# A second local user ------------------------------------------------------------------------------

OTHER_USER = "groqgen-other"


@dataclass(frozen=True)
class LocalUser:
    """Another, unprivileged account on this machine: someone who must not reach our files."""

    name: str
    uid: int
    gid: int

    def run(self, *command: str) -> Any:
        """Run ``command`` as this user (``runuser``); returns the finished process."""
        import subprocess

        return subprocess.run(
            ["runuser", "-u", self.name, "--", *command],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )


@pytest.fixture(scope="session")
def other_user() -> LocalUser:
    """A second, unprivileged local user, made with ``useradd`` when missing.

    Needs root (CI runs as root) to create the account, make files it owns and act as it;
    otherwise the tests that use it are skipped with the reason.
    """
    import pwd
    import shutil
    import subprocess

    if os.name != "posix" or os.geteuid() != 0:
        pytest.skip("acting as a second local user needs root (CI runs as root)")
    if shutil.which("runuser") is None:
        pytest.skip("runuser is not installed: cannot act as a second local user")
    try:
        entry = pwd.getpwnam(OTHER_USER)
    except KeyError:
        if shutil.which("useradd") is None:
            pytest.skip(f"no user {OTHER_USER!r} and no useradd to create one")
        made = subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", OTHER_USER],
            capture_output=True,
            text=True,
            check=False,
        )
        if made.returncode != 0 and "already exists" not in made.stderr:
            pytest.skip(f"cannot create a second local user: {made.stderr.strip()}")
        entry = pwd.getpwnam(OTHER_USER)
    return LocalUser(entry.pw_name, entry.pw_uid, entry.pw_gid)
