"""The migration runner against real, empty and Supabase-like PostgreSQL databases."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from groqgen import migrations
from groqgen.errors import ConfigurationError, MigrationError
from groqgen.models import TABLES
from tests.helpers import acting_as, new_user
from tests.postgres.samples import insert_row

SHIPPED = [m.version for m in migrations.available()]


def _schema_fingerprint(url: str) -> list[tuple[Any, ...]]:
    """Everything a second run could change: objects, policies, grants, triggers, history."""
    with psycopg.connect(url) as conn:
        return [
            *conn.execute(
                "select c.relname, c.relkind from pg_class c join pg_namespace n "
                "on n.oid = c.relnamespace where n.nspname in ('public', 'auth', 'groqgen') "
                "order by 1"
            ).fetchall(),
            *conn.execute("select policyname, qual, with_check from pg_policies order by 1"),
            *conn.execute(
                "select grantee, table_name, privilege_type from information_schema.role_table_grants "
                "where table_schema = 'public' order by 1, 2, 3"
            ),
            *conn.execute("select tgname from pg_trigger where not tgisinternal order by 1"),
            *conn.execute("select version, checksum, applied_at from groqgen.schema_migrations"),
        ]


def test_apply_to_an_empty_database_runs_every_migration(make_database: Callable[[], str]) -> None:
    url = make_database()
    assert migrations.apply(url) == SHIPPED == ["0001", "0002", "0003", "0004", "0005"]
    assert migrations.applied(url) == SHIPPED


def test_second_apply_changes_nothing(make_database: Callable[[], str]) -> None:
    url = make_database()
    migrations.apply(url)
    before = _schema_fingerprint(url)
    assert migrations.apply(url) == []
    assert _schema_fingerprint(url) == before


def test_concurrent_runs_apply_each_migration_once(make_database: Callable[[], str]) -> None:
    url = make_database()
    results: list[list[str]] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def run() -> None:
        barrier.wait()
        try:
            results.append(migrations.apply(url))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(results, key=len) == [[], [], [], SHIPPED]


def test_a_changed_migration_file_is_refused(make_database: Callable[[], str]) -> None:
    url = make_database()
    migrations.apply(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "update groqgen.schema_migrations set checksum = 'edited' where version = '0002'"
        )
    with pytest.raises(MigrationError, match="checksum mismatch"):
        migrations.apply(url)


def test_a_database_from_a_newer_groqgen_is_refused(make_database: Callable[[], str]) -> None:
    url = make_database()
    migrations.apply(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "insert into groqgen.schema_migrations (version, name, checksum) "
            "values ('9999', 'future', 'x')"
        )
    with pytest.raises(MigrationError, match="upgrade groqgen"):
        migrations.apply(url)


def test_a_failing_migration_leaves_nothing_behind(make_database: Callable[[], str]) -> None:
    url = make_database()
    with psycopg.connect(url, autocommit=True) as conn:
        # Something in the way of 0002: a table named like one of ours.
        conn.execute("create table public.prompts (id int)")
    with pytest.raises(MigrationError, match="0002_schema failed and was rolled back") as info:
        migrations.apply(url)
    assert info.value.code == "42P07"
    assert migrations.applied(url) == ["0001"]
    with psycopg.connect(url) as conn:
        (projects,) = conn.execute("select to_regclass('public.projects')").fetchone()
    assert projects is None


def test_unreachable_server_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="cannot connect") as info:
        migrations.apply("postgresql://postgres@127.0.0.1:1/nothing?connect_timeout=2")
    assert info.value.setting == "database_url"


def test_malformed_url_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="not valid"):
        migrations.apply("postgresql://[not a url")


SUPABASE_LIKE = """
do $$ begin
  if not exists (select 1 from pg_roles where rolname = 'anon') then create role anon nologin noinherit; end if;
  if not exists (select 1 from pg_roles where rolname = 'authenticated') then create role authenticated nologin noinherit; end if;
  if not exists (select 1 from pg_roles where rolname = 'service_role') then create role service_role nologin noinherit bypassrls; end if;
end $$;
create schema auth;
create table auth.users (
  instance_id uuid, id uuid primary key, aud varchar(255), role varchar(255), email varchar(255),
  raw_app_meta_data jsonb, raw_user_meta_data jsonb, created_at timestamptz, updated_at timestamptz
);
create function auth.uid() returns uuid language sql stable as $f$
  select coalesce(nullif(current_setting('request.jwt.claim.sub', true), ''),
                  (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub'))::uuid
$f$;
comment on function auth.uid() is 'supabase original';
grant usage on schema auth to anon, authenticated, service_role;
alter default privileges in schema public grant all on tables to anon, authenticated, service_role;
alter default privileges in schema public grant all on functions to anon, authenticated, service_role;
alter default privileges in schema public grant all on sequences to anon, authenticated, service_role;
"""


def test_supabase_like_database_keeps_its_auth_schema_and_anon_gets_nothing(
    make_database: Callable[[], str],
) -> None:
    url = make_database()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SUPABASE_LIKE)
    assert migrations.apply(url) == SHIPPED
    with psycopg.connect(url, autocommit=True) as conn:
        (comment,) = conn.execute("select obj_description('auth.uid()'::regprocedure)").fetchone()
        assert comment == "supabase original"
        (has_jwt,) = conn.execute("select to_regprocedure('auth.jwt()') is not null").fetchone()
        assert not has_jwt, "the compatibility layer must not add to Supabase's auth schema"

        user = new_user(conn)
        insert_row(conn, "prompts", user)
        for table in TABLES:
            with acting_as(conn, None, "anon"), pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"select * from {table}")
            if table != "profiles":
                with (
                    acting_as(conn, None, "anon"),
                    pytest.raises(psycopg.errors.InsufficientPrivilege),
                ):
                    insert_row(conn, table, user)
        with acting_as(conn, None, "anon"), pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(
                "select public.record_generation('prompts', %s::jsonb)",
                ['{"id": "00000000-0000-0000-0000-000000000001"}'],
            )
        with acting_as(conn, user):
            assert len(conn.execute("select * from prompts").fetchall()) == 1


def test_sql_script_applies_to_a_new_database_and_records_itself(
    make_database: Callable[[], str],
) -> None:
    url = make_database()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(migrations.sql())
    assert migrations.applied(url) == SHIPPED
    assert migrations.apply(url) == []


def test_every_migration_has_a_stable_checksum() -> None:
    first = {m.version: m.checksum for m in migrations.available()}
    again = {m.version: m.checksum for m in migrations.available()}
    assert first == again
    assert all(len(c) == 64 for c in first.values())
