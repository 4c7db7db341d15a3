"""From `pip install` to a working `groqgen history` on the web app's database.

The stores on a database not adopted yet say so in one sentence; `groqgen db check`,
`db migrate`, `db repair` on the command line, with their exit codes and JSON.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from groqgen import Client, migrations
from groqgen.cli import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, main
from groqgen.errors import MigrationError, RecordingFailed
from tests.postgres import web_app_db as web
from tests.test_cli import Run

Maker = Callable[[], str]


@pytest.fixture
def groqgen(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> Callable[..., Run]:
    """Run the groqgen command line in-process, with a GROQGEN_HOME of its own."""

    def run(*argv: str) -> Run:
        capsys.readouterr()
        code = main(["--home", str(tmp_path / "home"), *argv])
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


@pytest.fixture(params=web.FLAVOURS)
def web_app(request: Any, make_database: Maker) -> Iterator[tuple[str, web.Filled]]:
    url = make_database()
    with psycopg.connect(url, autocommit=True) as conn:
        web.create_seed(conn, request.param)
        filled = web.fill(conn)
    yield url, filled


def one_sentence(run: Run) -> str:
    lines = run.err.strip().splitlines()
    assert len(lines) == 1, run.err
    assert lines[0].startswith("groqgen: error: ")
    return lines[0]


def test_from_the_web_apps_database_to_a_working_history(
    groqgen: Callable[..., Run], web_app: tuple[str, web.Filled]
) -> None:
    url, filled = web_app
    as_alice = ("--database-url", url, "--user-id", str(filled.alice))

    before = groqgen("db", "check", "--database-url", url, "--json")
    assert before.code == EXIT_FAILURE
    assert before.json()["state"] == "web-app"

    refused = groqgen("projects", "show", str(filled.alice_project), *as_alice)
    assert refused.code == EXIT_FAILURE
    assert "run `groqgen db migrate`" in one_sentence(refused)

    migrated = groqgen("db", "migrate", "--database-url", url)
    assert migrated.code == EXIT_OK, migrated.err
    shipped = [m.version for m in migrations.available()]
    assert migrated.out.splitlines()[0] == f"applied migrations {', '.join(shipped)}"
    assert "'groqgen db check' lists the rows" in migrated.out
    assert "adopting the web app's tables in place" in migrated.err  # progress, on stderr

    history = groqgen("history", *as_alice, "--json")
    assert history.code == EXIT_OK, history.err
    assert len(history.json()) == 5
    shown = groqgen("projects", "show", str(filled.alice_project), *as_alice, "--json")
    assert shown.code == EXIT_OK, shown.err
    assert shown.json()["resource_counts"]["prompt_count"] == 4

    after = groqgen("db", "check", "--database-url", url)
    assert after.code == EXIT_FAILURE  # the legacy rows
    assert after.out.startswith("database: groqgen's schema at version")
    for ids in filled.planted.values():
        for row in ids:
            assert f"    {row}\n" in after.out

    dry = groqgen("db", "repair", "--dry-run", "--database-url", url)
    assert (dry.code, dry.out.splitlines()[-1]) == (EXIT_OK, "nothing was changed (--dry-run)")
    repaired = groqgen("db", "repair", "--database-url", url, "--json")
    assert repaired.code == EXIT_OK, repaired.err
    assert len(repaired.json()["changes"]) == sum(len(v) for v in filled.planted.values())
    clean = groqgen("db", "check", "--database-url", url)
    assert (clean.code, clean.out.splitlines()[-1]) == (EXIT_OK, "clean: nothing to do")
    again = groqgen("db", "migrate", "--database-url", url)
    assert (again.code, again.out) == (EXIT_OK, "the database is up to date; nothing to apply\n")


def test_migrate_dry_run_prints_the_statements_and_changes_nothing(
    groqgen: Callable[..., Run], web_app: tuple[str, web.Filled]
) -> None:
    url, filled = web_app
    run = groqgen("db", "migrate", "--dry-run", "--database-url", url)
    assert run.code == EXIT_OK, run.err
    assert run.out.startswith("-- groqgen db migrate --dry-run (the web app's tables")
    assert "create index concurrently if not exists prompts_user_created_idx" in run.out
    assert "lock table public.prompts" in run.out
    (length_ids,) = [
        line for line in run.out.splitlines() if line.startswith("--   prompts_length_check")
    ]
    assert all(row in length_ids for row in filled.planted["prompts_length_check"])
    assert migrations.applied(url) == []
    as_json = groqgen("db", "migrate", "--dry-run", "--database-url", url, "--json").json()
    assert as_json["state"] == "web-app" and as_json["steps"][0]["migration"] == "0001_auth_compat"


def test_db_sql_adopt_prints_the_adoption_script(groqgen: Callable[..., Run]) -> None:
    run = groqgen("db", "sql", "--adopt")
    assert (run.code, run.out) == (EXIT_OK, migrations.sql(adopt=True))
    assert run.out != migrations.sql()


def test_db_check_input_errors_exit_2(groqgen: Callable[..., Run]) -> None:
    assert groqgen("db", "check").code == EXIT_USAGE
    bad = groqgen("db", "check", "--database-url", "postgresql://[nope")
    assert bad.code == EXIT_USAGE
    assert "not a PostgreSQL URL" in one_sentence(bad)
    assert groqgen("db", "repair").code == EXIT_USAGE


def test_db_check_of_an_empty_database_exits_1(
    groqgen: Callable[..., Run], make_database: Maker
) -> None:
    run = groqgen("db", "check", "--database-url", make_database())
    assert run.code == EXIT_FAILURE
    assert run.out.startswith("database: an empty database: `groqgen db migrate` installs")


# -- the stores on a database not adopted yet -------------------------------------------------------


def test_the_postgres_store_says_the_database_needs_db_migrate(
    web_app: tuple[str, web.Filled], tmp_path: Path
) -> None:
    url, filled = web_app
    with Client(database_url=url, user_id=filled.alice, home=tmp_path) as client:
        assert len(client.activity_logs.recent()) == 5  # plain reads work on the web app's tables
        with pytest.raises(MigrationError) as info:
            client.projects.resource_counts(filled.alice_project)
    message = str(info.value)
    assert message.startswith("this database does not have groqgen's schema yet")
    assert "run `groqgen db migrate`" in message and "\n" not in message


def test_a_generation_paid_before_adoption_is_kept_and_recorded_after(
    web_app: tuple[str, web.Filled], tmp_path: Path, groq_peer: Any
) -> None:
    url, filled = web_app
    options = {"groq_api_key": "gsk_test_key", "groq_base_url": groq_peer.base_url}
    with Client(database_url=url, user_id=filled.alice, home=tmp_path, **options) as client:
        with pytest.raises(RecordingFailed, match="run `groqgen db migrate`"):
            client.generate.prompt("release notes")
        assert len(client.outbox.pending()) == 1
        migrations.apply(url)
        client.outbox.flush()
        assert client.outbox.pending() == []
        assert client.prompts.count() == 18  # Alice's 17 legacy prompts and this one


def test_the_supabase_store_says_the_project_needs_adopting(
    web_app: tuple[str, web.Filled], tmp_path: Path
) -> None:
    from tests.supabase_peer import SupabasePeer

    url, filled = web_app
    with SupabasePeer(url) as peer:
        options = {"supabase_url": peer.url, "supabase_key": peer.service_key}
        with Client(**options, user_id=filled.alice, home=tmp_path) as client:
            with pytest.raises(MigrationError) as info:
                client.projects.resource_counts(filled.alice_project)
            message = str(info.value)
            assert message.startswith("this Supabase project does not have groqgen's schema yet")
            assert "`groqgen db sql --adopt`" in message and "SQL editor" in message
            migrations.apply(url)
            counts = client.projects.resource_counts(filled.alice_project)
            assert counts.prompt_count == 4


def test_schema_missing_names_only_groqgens_objects() -> None:
    assert migrations.schema_missing("function public.record_generation(unknown) does not exist")
    assert migrations.schema_missing('relation "public.prompts" does not exist')
    assert migrations.schema_missing(
        "Could not find the table 'public.tests' in the schema cache", supabase=True
    )
    assert migrations.schema_missing('relation "public.invoices" does not exist') is None
    assert migrations.schema_missing("function public.my_own() does not exist") is None
