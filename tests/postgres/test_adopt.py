"""Adopting the web app's database in place: `groqgen db migrate` on the seed's schema.

Every database here is built from the seed's SQL plus hand-written owner-only policies and
filled the way the web app fills it, with a year's worth of legacy rows
(``tests/postgres/web_app_db.py``), in a plain and in a Supabase-like flavour. "A fresh
install" is always a database migrated from nothing, at test time, with whatever migrations
this groqgen ships.
"""

from __future__ import annotations

import inspect
import json
import re
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from groqgen import migrations
from groqgen.errors import MigrationError
from groqgen.migrations import _catalog
from tests.helpers import acting_as, new_user
from tests.postgres import test_rls, test_web_app
from tests.postgres import web_app_db as web
from tests.postgres.samples import insert_row

SHIPPED = [m.version for m in migrations.available()]
Maker = Callable[[], str]


def seeded(make_database: Maker, flavour: str) -> tuple[str, web.Filled]:
    """A new database with the web app's schema and rows."""
    url = make_database()
    with psycopg.connect(url, autocommit=True) as conn:
        web.create_seed(conn, flavour)
        filled = web.fill(conn)
    return url, filled


def fresh_install(make_database: Maker, flavour: str) -> str:
    """A new database of the same flavour with every shipped migration applied."""
    url = make_database()
    if flavour == "supabase":
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(web.SUPABASE_LIKE)
    migrations.apply(url)
    return url


def catalog(url: str) -> dict[str, str]:
    with psycopg.connect(url) as conn:
        return _catalog(conn)


def unvalidated(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "select conname from pg_constraint k join pg_class c on c.oid = k.conrelid "
            "join pg_namespace n on n.oid = c.relnamespace "
            "where n.nspname = 'public' and not k.convalidated"
        ).fetchall()
    return {name for (name,) in rows}


def found_violations(report: Any) -> dict[str, set[str]]:
    return {v.rule: set(v.ids) for v in report.violations if v.count}


def history(url: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select version, name, checksum, applied_at from groqgen.schema_migrations order by 1"
        ).fetchall()


@dataclass
class Adopted:
    url: str
    fresh: str
    filled: web.Filled
    before: dict[str, tuple[int, str]]
    profiles_before: list[uuid.UUID]
    applied: list[str]
    check_before: migrations.CheckReport


@pytest.fixture(scope="module", params=web.FLAVOURS)
def adopted(request: Any, make_database: Maker) -> Adopted:
    """The web app's database after `groqgen db migrate` (shared: tests roll back or read)."""
    flavour = request.param
    url, filled = seeded(make_database, flavour)
    check_before = migrations.check(url)
    with psycopg.connect(url) as conn:
        before = web.checksums(conn)
        profiles = [row[0] for row in conn.execute("select id from profiles").fetchall()]
    applied = migrations.apply(url)
    return Adopted(
        url,
        fresh_install(make_database, flavour),
        filled,
        before,
        profiles,
        applied,
        check_before,
    )


@pytest.fixture
def db(adopted: Adopted) -> Iterator[Any]:
    with psycopg.connect(adopted.url, autocommit=True) as conn:
        yield conn


# -- before: what db check sees in the web app's database ----------------------------------------


def test_check_recognises_the_web_app_schema_not_adopted_yet(adopted: Adopted) -> None:
    report = adopted.check_before
    assert (report.state, report.version, report.pending) == ("web-app", None, SHIPPED)
    assert report.drift is None
    assert not report.clean
    assert any("db migrate` adopts" in note for note in report.notes)


def test_check_lists_each_planted_violation_by_row_id_before_adoption(adopted: Adopted) -> None:
    found = found_violations(adopted.check_before)
    assert found.pop("profiles_for_every_user") == {str(adopted.filled.carol)}
    assert found == adopted.filled.planted


# -- after db migrate ------------------------------------------------------------------------------


def test_migrate_adopts_and_applies_every_migration(adopted: Adopted) -> None:
    assert adopted.applied == SHIPPED
    assert migrations.applied(adopted.url) == SHIPPED


def test_every_row_and_every_seed_value_is_kept(adopted: Adopted, db: Any) -> None:
    after = web.checksums(db)
    for table, (count, digest) in adopted.before.items():
        if table == "profiles":
            assert after[table][0] == count + 1  # Carol's, made by adoption
            # Before adoption the table held exactly these profiles.
            assert web.profile_checksum(db, adopted.profiles_before) == digest
        else:
            assert after[table] == (count, digest), table


def test_a_user_without_a_profile_gets_the_one_the_sign_up_trigger_makes(
    db: Any, adopted: Adopted
) -> None:
    row = db.execute(
        "select email, full_name, avatar_url from profiles where id = %s", [adopted.filled.carol]
    ).fetchone()
    assert row == ("carol@example.com", "Carol", "https://example.com/carol.png")


def test_the_catalog_equals_a_fresh_install(adopted: Adopted) -> None:
    assert catalog(adopted.url) == catalog(adopted.fresh)


def test_only_the_rules_legacy_rows_break_are_left_unvalidated(adopted: Adopted) -> None:
    assert unvalidated(adopted.url) == set(adopted.filled.planted)
    assert set(migrations.unvalidated(adopted.url)) == set(adopted.filled.planted)
    assert unvalidated(adopted.fresh) == set()


def test_the_seed_indexes_are_gone_and_the_composite_ones_are_valid(db: Any) -> None:
    names = {
        name
        for (name,) in db.execute(
            "select indexrelid::regclass::text from pg_index i join pg_class c on c.oid = i.indrelid "
            "join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'public' and i.indisvalid"
        ).fetchall()
    }
    assert "prompts_user_id_idx" not in names and "activity_logs_created_at_idx" not in names
    assert {"prompts_user_created_idx", "activity_logs_user_created_idx"} <= names


def test_check_after_adoption_lists_each_planted_violation_and_no_drift(adopted: Adopted) -> None:
    report = migrations.check(adopted.url)
    assert (report.state, report.version, report.pending, report.drift) == (
        "groqgen",
        SHIPPED[-1],
        [],
        [],
    )
    assert found_violations(report) == adopted.filled.planted
    assert not report.clean
    by_rule = {v.rule: v for v in report.violations}
    assert by_rule["prompts_length_check"].count == 2
    assert by_rule["prompts_length_check"].description == "length must be 10 to 100"


def test_migrate_again_changes_nothing(adopted: Adopted, db: Any) -> None:
    before = (catalog(adopted.url), history(adopted.url), web.checksums(db))
    assert migrations.apply(adopted.url) == []
    assert (catalog(adopted.url), history(adopted.url), web.checksums(db)) == before


@pytest.fixture(scope="module")
def world(adopted: Adopted) -> test_rls.World:
    with psycopg.connect(adopted.url, autocommit=True) as conn:
        owner, other = new_user(conn), new_user(conn)
        owner_project = insert_row(conn, "projects", owner)
        other_project = insert_row(conn, "projects", other)
        rows = {"profiles": owner, "projects": owner_project}
        for table in web.SEED_COLUMNS:
            if table not in rows:
                rows[table] = insert_row(conn, table, owner, owner_project)
    return test_rls.World(owner, other, owner_project, other_project, rows)


@pytest.mark.parametrize(("table", "op", "caller", "expected"), test_rls.CELLS)
def test_the_rls_matrix_holds_on_the_adopted_database(
    db: Any, world: test_rls.World, table: str, op: str, caller: str, expected: str
) -> None:
    user_id, role = test_rls._caller(world, caller)
    with db.transaction(force_rollback=True):
        if table == "profiles" and op == "insert":
            db.execute("delete from profiles where id = %s", [world.owner])
        with acting_as(db, user_id, role):
            assert test_rls._attempt(db, world, table, op) == expected


WEB_APP_QUERIES = [
    pytest.param(function, id=name)
    for name, function in inspect.getmembers(test_web_app, inspect.isfunction)
    if name.startswith("test_")
]


@pytest.mark.parametrize("query", WEB_APP_QUERIES)
def test_the_web_apps_own_queries_still_work(db: Any, query: Callable[..., None]) -> None:
    # The user test_web_app's fixture makes, in the adopted database.
    user = new_user(db, full_name="Web User")
    for table, rows in (("prompts", 12), ("activity_logs", 7), ("code_generations", 1)):
        for _ in range(rows):
            insert_row(db, table, user)
    insert_row(db, "code_reviews", user)
    arguments = {"db": db, "user": user}
    query(**{name: arguments[name] for name in inspect.signature(query).parameters})


def test_the_web_app_reads_its_legacy_rows(db: Any, adopted: Adopted) -> None:
    alice = adopted.filled.alice
    with acting_as(db, alice):
        rows = db.execute(
            "select id, topic, prompt_type, tone, generated_prompt, created_at from prompts "
            "where user_id = %s order by created_at desc limit 10",
            [alice],
        ).fetchall()
        assert len(rows) == 10
        (count,) = db.execute(
            "select count(*) from activity_logs where user_id = %s", [alice]
        ).fetchone()
        assert count == 5


# A new write that breaks each planted rule, as the signed-in user (or the service role).
BREAKING_WRITES: dict[str, tuple[str, str, Callable[[web.Filled], dict[str, Any]]]] = {
    "prompts_length_check": (
        "prompts",
        "authenticated",
        lambda f: web.row("prompts", f.alice, length=9),
    ),
    "prompts_topic_check": (
        "prompts",
        "authenticated",
        lambda f: web.row("prompts", f.alice, topic="t" * 10_001),
    ),
    "prompts_tone_check": (
        "prompts",
        "authenticated",
        lambda f: web.row("prompts", f.alice, tone=""),
    ),
    "prompts_project_id_user_id_fkey": (
        "prompts",
        "authenticated",
        lambda f: web.row("prompts", f.alice, f.bob_project),
    ),
    "activity_logs_project_id_user_id_fkey": (
        "activity_logs",
        "service_role",
        lambda f: web.row("activity_logs", f.alice, f.bob_project),
    ),
    "code_generations_project_id_user_id_fkey": (
        "code_generations",
        "service_role",
        lambda f: web.row("code_generations", f.alice, uuid.uuid4()),
    ),
    "code_reviews_review_type_check": (
        "code_reviews",
        "authenticated",
        lambda f: web.row("code_reviews", f.alice, review_type=""),
    ),
    "tests_test_types_check": (
        "tests",
        "authenticated",
        lambda f: web.row("tests", f.alice, test_types=["unit", ""]),
    ),
    "activity_logs_metadata_check": (
        "activity_logs",
        "authenticated",
        lambda f: web.row("activity_logs", f.alice, metadata={"blob": "x" * 70_000}),
    ),
}


def test_every_planted_rule_has_a_breaking_write(adopted: Adopted) -> None:
    # profiles_full_name_check: see the next test but one (an update, not an insert).
    assert set(BREAKING_WRITES) | {"profiles_full_name_check"} == set(adopted.filled.planted)


@pytest.mark.parametrize("rule", sorted(BREAKING_WRITES))
def test_a_new_write_breaking_a_rule_is_refused(db: Any, adopted: Adopted, rule: str) -> None:
    table, role, values = BREAKING_WRITES[rule]
    user = adopted.filled.alice if role == "authenticated" else None
    refused = (
        psycopg.errors.CheckViolation,
        psycopg.errors.ForeignKeyViolation,
        psycopg.errors.InsufficientPrivilege,
    )
    with acting_as(db, user, role), pytest.raises(refused) as info:
        web.insert(db, table, values(adopted.filled))
    diag = info.value.diag
    assert diag.constraint_name == rule or "row-level security" in (diag.message_primary or "")


def test_a_new_profile_name_over_the_limit_is_refused(db: Any, adopted: Adopted) -> None:
    with (
        acting_as(db, adopted.filled.alice),
        pytest.raises(psycopg.errors.CheckViolation, match="profiles_full_name_check"),
    ):
        db.execute(
            "update profiles set full_name = %s where id = %s", ["A" * 201, adopted.filled.alice]
        )


# -- repair ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("flavour", web.FLAVOURS)
def test_repair_then_check_is_clean_and_equals_a_fresh_install(
    make_database: Maker, flavour: str
) -> None:
    url, filled = seeded(make_database, flavour)
    migrations.apply(url)
    planned = migrations.repair(url, dry_run=True)
    assert unvalidated(url) == set(filled.planted)  # the dry run changed nothing
    report = migrations.repair(url)
    assert [c.to_dict() for c in report.changes] == [c.to_dict() for c in planned.changes]
    assert {c.rule for c in report.changes} == set(filled.planted)
    assert {(c.rule, c.id) for c in report.changes} == {
        (rule, row) for rule, rows in filled.planted.items() for row in rows
    }
    assert sorted(report.validated) == sorted(filled.planted)
    assert report.unrepaired == []
    after = migrations.check(url)
    assert (after.state, after.clean, after.violations) == ("groqgen", True, [])
    assert catalog(url) == catalog(fresh_install(make_database, flavour))
    assert unvalidated(url) == set()


def test_repair_records_every_change_so_it_can_be_undone(make_database: Maker) -> None:
    url, filled = seeded(make_database, "plain")
    migrations.apply(url)
    report = migrations.repair(url)
    changes = {(c.table, c.id, c.column): c for c in report.changes}
    length_row = next(iter(filled.planted["prompts_length_check"]))
    with psycopg.connect(url) as conn:
        logged = conn.execute(
            "select table_name, row_id::text, column_name, rule, before, after "
            "from groqgen.repair_log order by id"
        ).fetchall()
        (moved,) = filled.planted["prompts_project_id_user_id_fkey"]
        (project,) = conn.execute(
            "select project_id from prompts where id = %s", [moved]
        ).fetchone()
    assert len(logged) == len(report.changes)
    for table, row_id, column, rule, before, after in logged:
        change = changes[(table, row_id, column)]
        assert (change.rule, change.before, change.after) == (rule, before, after)
    assert changes[("prompts", moved, "project_id")].before == str(filled.bob_project)
    assert project is None  # detached
    assert changes[("prompts", length_row, "length")].after in (10, 100)


def test_repair_leaves_rows_of_an_owner_who_does_not_exist_to_a_person(
    make_database: Maker,
) -> None:
    url, _filled = seeded(make_database, "plain")
    with psycopg.connect(url, autocommit=True) as conn, conn.transaction():
        conn.execute("set local session_replication_role = replica")
        orphan = web.insert(conn, "prompts", web.row("prompts", uuid.uuid4()))
    migrations.apply(url)
    assert found_violations(migrations.check(url))["prompts_user_id_fkey"] == {str(orphan)}
    report = migrations.repair(url)
    assert [(v.rule, v.ids) for v in report.unrepaired] == [("prompts_user_id_fkey", [str(orphan)])]
    assert "prompts_user_id_fkey" not in report.validated
    assert found_violations(migrations.check(url)) == {"prompts_user_id_fkey": {str(orphan)}}


def test_repair_before_adoption_is_refused(make_database: Maker) -> None:
    url, _filled = seeded(make_database, "plain")
    with pytest.raises(MigrationError, match="db migrate"):
        migrations.repair(url)


# -- dry run and the SQL-editor script ---------------------------------------------------------------


def test_migrate_dry_run_shows_each_statement_and_the_rows_left_unvalidated(
    make_database: Maker,
) -> None:
    url, filled = seeded(make_database, "supabase")
    before = (catalog(url), web_checksums(url))
    plan = migrations.plan(url)
    assert (catalog(url), web_checksums(url)) == before
    assert migrations.applied(url) == []
    assert plan.state == "web-app"
    actions = [s.action for s in plan.steps]
    assert actions[0] == "apply 0001_auth_compat"
    assert any(s.sql.startswith("create index concurrently") for s in plan.steps)
    switch = next(s for s in plan.steps if s.action.startswith("switch"))
    assert "lock table public.prompts" in switch.sql and "create policy" in switch.sql
    for rule in filled.planted:
        assert any(a.startswith(f"leave {rule} unvalidated") for a in actions), rule
    assert found_violations(plan) == filled.planted
    assert actions[-1] == f"apply {migrations.available()[-1].label}"


def web_checksums(url: str) -> dict[str, tuple[int, str]]:
    with psycopg.connect(url) as conn:
        return web.checksums(conn)


@pytest.mark.parametrize("flavour", web.FLAVOURS)
def test_the_sql_editor_script_adopts_as_db_migrate_does(
    make_database: Maker, flavour: str
) -> None:
    url, filled = seeded(make_database, flavour)
    before = web_checksums(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(migrations.sql(adopt=True))
    assert migrations.applied(url) == SHIPPED
    assert catalog(url) == catalog(fresh_install(make_database, flavour))
    assert unvalidated(url) == set(filled.planted)
    after = web_checksums(url)
    assert {t: v for t, v in after.items() if t != "profiles"} == {
        t: v for t, v in before.items() if t != "profiles"
    }
    assert migrations.apply(url) == []
    assert found_violations(migrations.check(url)) == filled.planted


def test_the_sql_editor_script_refuses_a_database_that_is_not_the_web_apps(
    make_database: Maker,
) -> None:
    url = make_database()
    migrations.apply(url)
    with (
        psycopg.connect(url, autocommit=True) as conn,
        pytest.raises(psycopg.errors.RaiseException, match="has groqgen's schema already"),
    ):
        conn.execute(migrations.sql(adopt=True))
    empty = make_database()
    with (
        psycopg.connect(empty, autocommit=True) as conn,
        pytest.raises(psycopg.errors.RaiseException, match="not the web app's tables"),
    ):
        conn.execute(migrations.sql(adopt=True))
    assert migrations.applied(empty) == []


# -- atomicity: an interruption leaves it as it was, or for the next migrate to finish ---------------


def _tables_catalog(url: str) -> dict[str, str]:
    """The policies, constraints, triggers and grants on the seven tables."""
    return {
        k: v
        for k, v in catalog(url).items()
        if k.startswith(("policy", "constraint", "trigger", "grant", "column", "table"))
    }


def test_a_failure_in_the_switch_leaves_the_tables_as_they_were(make_database: Maker) -> None:
    url, filled = seeded(make_database, "supabase")
    with psycopg.connect(url, autocommit=True) as conn:
        # Something in the switch's way: a function of the same name, another return type.
        conn.execute(
            "create function public.resource_counts(project_id uuid) returns int "
            "language sql as 'select 1'"
        )
    before = (_tables_catalog(url), web_checksums(url))
    with pytest.raises(MigrationError, match="switching the tables over and was rolled back"):
        migrations.apply(url)
    assert (_tables_catalog(url), web_checksums(url)) == before
    assert migrations.applied(url) == ["0001"]
    assert migrations.check(url).state == "web-app"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("drop function public.resource_counts(uuid)")
    assert migrations.apply(url) == SHIPPED[1:]
    assert catalog(url) == catalog(fresh_install(make_database, "supabase"))
    assert unvalidated(url) == set(filled.planted)


def _migrator_pid(conn: Any, query_prefix: str, timeout: float = 20.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = conn.execute(
            "select pid from pg_stat_activity where application_name = 'groqgen migrations' "
            "and datname = current_database() and query ilike %s and wait_event_type = 'Lock'",
            [query_prefix + "%"],
        ).fetchone()
        if row:
            return int(row[0])
        time.sleep(0.02)
    raise AssertionError(f"no migration waiting in {query_prefix!r}")


def test_an_index_build_cut_off_is_finished_by_the_next_migrate(make_database: Maker) -> None:
    url, filled = seeded(make_database, "plain")
    failures: list[BaseException] = []

    def migrate() -> None:
        try:
            migrations.apply(url)
        except BaseException as exc:
            failures.append(exc)

    with psycopg.connect(url) as blocker, psycopg.connect(url, autocommit=True) as admin:
        # An open write on projects: the concurrent build of the first index waits for it,
        # with its index already in the catalog, unfinished.
        blocker.execute("lock table public.projects in row exclusive mode")
        runner = threading.Thread(target=migrate)
        runner.start()
        pid = _migrator_pid(admin, "create unique index concurrently")
        admin.execute("select pg_terminate_backend(%s)", [pid])
        runner.join(30)
        blocker.rollback()
        (valid,) = admin.execute(
            "select indisvalid from pg_index where indexrelid = 'public.projects_id_user_id_key'::regclass"
        ).fetchone()
    assert valid is False
    assert len(failures) == 1 and isinstance(failures[0], MigrationError)
    assert migrations.check(url).state == "web-app"
    assert migrations.apply(url) == SHIPPED[1:]
    assert catalog(url) == catalog(fresh_install(make_database, "plain"))
    assert unvalidated(url) == set(filled.planted)


def test_a_migrate_cut_off_after_the_switch_is_finished_by_the_next(make_database: Maker) -> None:
    url, filled = seeded(make_database, "supabase")
    before = web_checksums(url)

    def cut_off(line: str) -> None:
        if line.startswith("validated "):
            with psycopg.connect(url, autocommit=True) as admin:
                # This database's migration only: the server is shared.
                admin.execute(
                    "select pg_terminate_backend(pid) from pg_stat_activity "
                    "where application_name = 'groqgen migrations' "
                    "and datname = current_database()"
                )

    with pytest.raises(MigrationError, match="next `groqgen db migrate` completes it"):
        migrations.apply(url, progress=cut_off)
    assert migrations.applied(url) == ["0001"]
    report = migrations.check(url)
    assert report.state == "web-app"
    assert any("interrupted" in note for note in report.notes)
    assert migrations.apply(url) == SHIPPED[1:]
    assert catalog(url) == catalog(fresh_install(make_database, "supabase"))
    assert unvalidated(url) == set(filled.planted)
    after = web_checksums(url)
    assert {t: v for t, v in after.items() if t != "profiles"} == {
        t: v for t, v in before.items() if t != "profiles"
    }


def test_tables_unlike_the_web_apps_are_left_as_they_are(
    make_database: Maker,
) -> None:
    url, _filled = seeded(make_database, "plain")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("alter table prompts alter column topic type text")
        conn.execute("alter table tests add column notes varchar")
    before = (_tables_catalog(url), web_checksums(url))
    with pytest.raises(MigrationError, match=r"prompts\.topic is text, not character varying"):
        migrations.apply(url)
    # 0001 (roles and auth, which stands aside here) ran; 0002 rolled back.
    assert (_tables_catalog(url), web_checksums(url)) == before
    assert migrations.applied(url) == ["0001"]
    report = migrations.check(url)
    assert report.state == "unrecognised"
    assert "tests.notes column not in the web app's schema" in report.notes[0]


# -- concurrency ------------------------------------------------------------------------------------


def test_migrate_while_the_web_app_writes_loses_no_write(make_database: Maker) -> None:
    url, filled = seeded(make_database, "supabase")
    written: list[tuple[str, uuid.UUID]] = []
    failures: list[BaseException] = []
    stop = threading.Event()

    def web_app() -> None:
        # Signed in as Alice, each request its own transaction, as PostgREST runs it.
        with psycopg.connect(url, autocommit=True) as conn:
            n = 0
            while not stop.is_set():
                n += 1
                project = filled.alice_project if n % 2 else None
                try:
                    with web.signed_in(conn, filled.alice):
                        row = web.insert(conn, "prompts", web.row("prompts", filled.alice, project))
                    written.append(("prompts", row))
                    with web.signed_in(conn, filled.alice):
                        entry = web.insert(
                            conn, "activity_logs", web.row("activity_logs", filled.alice, project)
                        )
                    written.append(("activity_logs", entry))
                except BaseException as exc:  # pragma: no cover - reported below
                    failures.append(exc)
                    return
                time.sleep(0.002)

    writer = threading.Thread(target=web_app)
    writer.start()
    try:
        while len(written) < 20:
            time.sleep(0.01)
        migrations.apply(url)
        during = len(written)
        time.sleep(0.1)
    finally:
        stop.set()
        writer.join(30)
    assert failures == []
    assert during > 20
    with psycopg.connect(url) as conn:
        for table in ("prompts", "activity_logs"):
            ids = [row for t, row in written if t == table]
            (present,) = conn.execute(
                f"select count(*) from {table} where id = any(%s)", [ids]
            ).fetchone()
            assert present == len(ids), table
    assert catalog(url) == catalog(fresh_install(make_database, "supabase"))


def test_two_migrates_at_once_adopt_once(make_database: Maker) -> None:
    url, _filled = seeded(make_database, "plain")
    results: list[list[str]] = []
    barrier = threading.Barrier(2)

    def run() -> None:
        barrier.wait()
        results.append(migrations.apply(url))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results, key=len) == [[], SHIPPED]


# -- db check on other databases ---------------------------------------------------------------------


def test_check_of_an_empty_database(make_database: Maker) -> None:
    report = migrations.check(make_database())
    assert (report.state, report.pending, report.violations, report.clean) == (
        "empty",
        SHIPPED,
        [],
        False,
    )


def test_check_of_a_fresh_install_is_clean(make_database: Maker) -> None:
    report = migrations.check(fresh_install(make_database, "plain"))
    assert (report.state, report.version, report.drift, report.clean) == (
        "groqgen",
        SHIPPED[-1],
        [],
        True,
    )


def test_check_reports_what_differs_from_a_fresh_install(make_database: Maker) -> None:
    url = fresh_install(make_database, "supabase")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            'create policy "Anyone can insert" on prompts for insert to authenticated '
            "with check (true)"
        )
        conn.execute("grant select on activity_logs to anon")
        conn.execute("drop index prompts_user_created_idx")
    report = migrations.check(url)
    assert report.state == "drifted" and not report.clean
    assert report.drift == [
        "grant SELECT on table activity_logs to anon: not in a fresh install",
        "index prompts_user_created_idx on prompts: missing",
        'policy "Anyone can insert" on prompts: not in a fresh install',
    ]


def test_check_without_comparing_says_so(make_database: Maker) -> None:
    report = migrations.check(fresh_install(make_database, "plain"), compare=False)
    assert (report.state, report.drift) == ("groqgen", None)
    assert report.notes == ["not compared with a fresh install (compare=False)"]


def test_check_as_json_is_plain_values(adopted: Adopted) -> None:
    data = json.loads(json.dumps(migrations.check(adopted.url).to_dict()))
    assert data["state"] == "groqgen" and data["clean"] is False
    # (test_web_app's sign-up test leaves a user without a profile: the last rule.)
    rules = {v["rule"] for v in data["violations"]} - {"profiles_for_every_user"}
    assert rules == set(adopted.filled.planted)


# -- rolling back, as docs/adopting.md says ------------------------------------------------------------


@pytest.mark.skipif(not shutil.which("pg_dump"), reason="needs pg_dump and pg_restore")
def test_the_documented_rollback_restores_the_web_apps_database(
    make_database: Maker, tmp_path: Path
) -> None:
    url, filled = seeded(make_database, "supabase")
    with psycopg.connect(url, autocommit=True) as conn:
        # A row that breaks one of the seed's own keys cannot be restored by pg_restore either.
        (dangling,) = filled.planted["code_generations_project_id_user_id_fkey"]
        conn.execute("delete from code_generations where id = %s", [dangling])
    before = (seed_catalog(url), web_checksums(url))
    dump = tmp_path / "before-groqgen.dump"
    tables = [f"--table=public.{t}" for t in web.SEED_COLUMNS]
    subprocess.run(["pg_dump", url, "--format=custom", f"--file={dump}", *tables], check=True)
    migrations.apply(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(documented_rollback())
    subprocess.run(["pg_restore", "--no-owner", "--dbname", url, str(dump)], check=True)
    assert (seed_catalog(url), web_checksums(url)) == before


def documented_rollback() -> str:
    """The SQL of docs/adopting.md's "Rolling back" (the psql here-document)."""
    page = (Path(__file__).parents[2] / "docs" / "adopting.md").read_text(encoding="utf-8")
    section = page[page.index("## Rolling back") :]
    return section.split("<<'SQL'\n", 1)[1].split("\nSQL\n", 1)[0]


def test_the_documented_rollback_drops_every_function_groqgen_adds_to_public() -> None:
    from groqgen.migrations import _function_names

    dropped = set(re.findall(r"public\.(\w+)", documented_rollback().split("drop table")[0]))
    assert dropped == set(_function_names()), "docs/adopting.md, Rolling back: drop function"


def seed_catalog(url: str) -> list[Any]:
    """Everything adoption changes, as the seed's catalog has it."""
    with psycopg.connect(url) as conn:
        return [
            conn.execute(query).fetchall()
            for query in (
                "select tablename, policyname, cmd, roles, qual, with_check from pg_policies "
                "order by 1, 2",
                "select indexdef from pg_indexes where schemaname = 'public' order by 1",
                "select conrelid::regclass::text, conname, pg_get_constraintdef(oid), convalidated "
                "from pg_constraint where connamespace = 'public'::regnamespace order by 1, 2",
                "select tgrelid::regclass::text, tgname from pg_trigger where not tgisinternal "
                "order by 1, 2",
                "select p.oid::regprocedure::text from pg_proc p where pronamespace = "
                "'public'::regnamespace and not exists (select 1 from pg_depend d "
                "where d.objid = p.oid and d.deptype = 'e') order by 1",
                "select table_name, grantee, privilege_type from "
                "information_schema.role_table_grants where table_schema = 'public' order by 1, 2, 3",
                "select attrelid::regclass::text, attname, pg_get_expr(adbin, adrelid) from "
                "pg_attrdef join pg_attribute on attrelid = adrelid and attnum = adnum "
                "where attrelid::regclass::text not like 'auth.%' order by 1, 2",
                "select nspname from pg_namespace where nspname = 'groqgen'",
            )
        ]


# -- the adoption's pieces, without a database ---------------------------------------------------------


def test_adoption_replaces_only_0002s_tables_and_indexes_sections() -> None:
    from groqgen.migrations import _sections, _switch_sql

    schema = next(m for m in migrations.available() if m.version == "0002")
    titles = [title for title, _text in _sections(schema.sql)]
    assert titles == [
        "",
        "Size limits (characters)",
        "Tables",
        "Indexes (gap 12)",
        "updated_at (gap 7)",
        "A profile for every new user (gap 3)",
        "Row-level security (gaps 1, 2)",
        "Atomic, idempotent recording (gap 10)",
        "One round trip for a project's counts (gap 11)",
        "Grants (gaps 4, 5)",
    ]
    switch = _switch_sql()
    statements = [line for line in switch.splitlines() if not line.lstrip().startswith("--")]
    assert not any(line.startswith(("create table", "create index")) for line in statements)
    for title, text in _sections(schema.sql):
        if title not in (
            "Tables",
            "Indexes (gap 12)",
            "updated_at (gap 7)",
        ) and not title.startswith("A profile"):
            assert text.strip() in switch, title


def test_every_rule_has_words_and_a_repair_or_a_reason() -> None:
    from groqgen.migrations import _rules

    rules = _rules()
    assert len(rules) == 46
    for rule in rules:
        assert rule.description != rule.definition, rule.name
        owner_key = rule.definition.startswith("FOREIGN KEY") and "projects" not in rule.definition
        assert (rule.fix is None) == owner_key, rule.name
