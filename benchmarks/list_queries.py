"""List-query latency: the seed schema's indexes against groqgen's migrations.

The seed schema (``DATABASE.md``, "Initial Migration") indexes ``user_id``, ``project_id`` and,
on ``activity_logs``, ``created_at`` separately. groqgen's migrations replace them with composite
indexes that end in ``created_at desc, id desc`` (the output lists the indexes and the migration
checksums actually applied, since the migrations evolve). This script builds both schemas in
two throwaway databases, loads the same rows into each and times the lists the app and the SDK
run:

* a user's 10 most recent activity_logs entries, for a user whose rows are the newest in the
  table ("recent") and for one whose rows are all older than 300 days ("old": a scan of the
  ``created_at`` index has to walk through most of the table before it finds them);
* a project's newest 50 prompts, for a project of each of those users, as the SDK asks for
  them without row-level security (the owner predicate spelled out);
* the second keyset page of the old user's prompts, with the first page's last row as cursor;
* a project's newest 50 prompts with the owner's ``user_id`` added, as row-level security adds it.

Each query runs as plain superuser SQL (row-level security plays no part, so only the indexes
differ) with server-side parameters: 10 warm-up runs, then ``--repeat`` timed runs of
execute + fetchall. Statements are not prepared (``prepare_threshold=None``), so every run is
planned for its own parameter values, exactly as the ``EXPLAIN (ANALYZE, FORMAT JSON)`` that
is reported beside the timings.

Run it against a disposable PostgreSQL server (it creates, and afterwards drops, two databases
named ``groqgen_bench_seed_<suffix>`` and ``groqgen_bench_groqgen_<suffix>``)::

    python benchmarks/list_queries.py [--rows 300000] [--repeat 200] \\
        [--server-url postgresql://postgres@127.0.0.1:5432/postgres] [--keep]

``--keep`` leaves both databases in place for a closer look. Needs ``groqgen[postgres]``.
"""

from __future__ import annotations

import argparse
import hashlib
import secrets
import statistics
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from uuid import UUID

import psycopg
from psycopg import sql

import groqgen.migrations

DEFAULT_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
USERS = 100
PROJECTS_PER_USER = 2
OLD_USER_ROWS = 500  # rows of the "old" user in each table
WARMUP_RUNS = 10

# What a Supabase project provides before the seed migration runs.
SUPABASE_PREREQUISITES = """
create extension if not exists "uuid-ossp";
create schema auth;
create table auth.users (id uuid primary key, email text, raw_user_meta_data jsonb default '{}');
"""

# DATABASE.md, "### Initial Migration", verbatim.
SEED_INITIAL_MIGRATION = """
-- Create extensions
CREATE EXTENSION IF NOT EXISTS "uuid-ossp";

-- Create tables
CREATE TABLE profiles (
  id UUID PRIMARY KEY REFERENCES auth.users(id),
  email VARCHAR NOT NULL UNIQUE,
  full_name VARCHAR,
  avatar_url VARCHAR,
  created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
  updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now()
);

CREATE TABLE projects (
  id UUID PRIMARY KEY DEFAULT uuid_generate_v4(),
  name VARCHAR NOT NULL,
  description VARCHAR,
  user_id UUID NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,
  created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
  updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now()
);

CREATE TABLE prompts (
  id UUID PRIMARY KEY DEFAULT uuid_generate_v4(),
  topic VARCHAR NOT NULL,
  prompt_type VARCHAR NOT NULL,
  tone VARCHAR NOT NULL,
  length INTEGER NOT NULL,
  additional_context VARCHAR,
  model VARCHAR NOT NULL,
  generated_prompt VARCHAR NOT NULL,
  user_id UUID NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,
  project_id UUID REFERENCES projects(id) ON DELETE SET NULL,
  created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now()
);

CREATE TABLE code_generations (
  id UUID PRIMARY KEY DEFAULT uuid_generate_v4(),
  description VARCHAR NOT NULL,
  language VARCHAR NOT NULL,
  framework VARCHAR NOT NULL,
  model VARCHAR NOT NULL,
  additional_context VARCHAR,
  generated_code VARCHAR NOT NULL,
  user_id UUID NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,
  project_id UUID REFERENCES projects(id) ON DELETE SET NULL,
  created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now()
);

CREATE TABLE code_reviews (
  id UUID PRIMARY KEY DEFAULT uuid_generate_v4(),
  code VARCHAR NOT NULL,
  language VARCHAR NOT NULL,
  review_type VARCHAR NOT NULL,
  model VARCHAR NOT NULL,
  review_result VARCHAR NOT NULL,
  user_id UUID NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,
  project_id UUID REFERENCES projects(id) ON DELETE SET NULL,
  created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now()
);

CREATE TABLE tests (
  id UUID PRIMARY KEY DEFAULT uuid_generate_v4(),
  code VARCHAR NOT NULL,
  language VARCHAR NOT NULL,
  framework VARCHAR NOT NULL,
  test_types VARCHAR[] NOT NULL,
  coverage VARCHAR NOT NULL,
  model VARCHAR NOT NULL,
  additional_context VARCHAR,
  generated_tests VARCHAR NOT NULL,
  user_id UUID NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,
  project_id UUID REFERENCES projects(id) ON DELETE SET NULL,
  created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now()
);

CREATE TABLE activity_logs (
  id UUID PRIMARY KEY DEFAULT uuid_generate_v4(),
  user_id UUID NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,
  project_id UUID REFERENCES projects(id) ON DELETE SET NULL,
  activity_type VARCHAR NOT NULL,
  description VARCHAR NOT NULL,
  metadata JSONB,
  created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now()
);

-- Create indexes
CREATE INDEX projects_user_id_idx ON projects(user_id);
CREATE INDEX prompts_user_id_idx ON prompts(user_id);
CREATE INDEX prompts_project_id_idx ON prompts(project_id);
CREATE INDEX code_generations_user_id_idx ON code_generations(user_id);
CREATE INDEX code_generations_project_id_idx ON code_generations(project_id);
CREATE INDEX code_reviews_user_id_idx ON code_reviews(user_id);
CREATE INDEX code_reviews_project_id_idx ON code_reviews(project_id);
CREATE INDEX tests_user_id_idx ON tests(user_id);
CREATE INDEX tests_project_id_idx ON tests(project_id);
CREATE INDEX activity_logs_user_id_idx ON activity_logs(user_id);
CREATE INDEX activity_logs_project_id_idx ON activity_logs(project_id);
CREATE INDEX activity_logs_activity_type_idx ON activity_logs(activity_type);
CREATE INDEX activity_logs_created_at_idx ON activity_logs(created_at);
"""

# Data -------------------------------------------------------------------------------------------
# User k (1..100) has id md5('user-k')::uuid and owns projects 2k-1 and 2k. User 1 is "recent",
# user 2 is "old". In every table, row i (1..N) belongs to
#   i <= 500                 the old user, created 300..365 days before the anchor;
#   i <= 500 + N/100         the recent user, created during the last day (the newest rows);
#   otherwise                user 3 + (i mod 98), created 1..365 days before the anchor,
# and alternates between its owner's two projects. Rows are inserted oldest first, as an app
# appends them, so the heap is in time order. Times come from random() after setseed(), so both
# databases get exactly the same rows; the anchor is fixed once per run.

RECENT_USER = 1
OLD_USER = 2

# The owner, project and creation time of row i of every table, for %(rows)s rows and the fixed
# "now" %(anchor)s. (The statements take parameters, so they use mod() rather than %.)
ROW_OWNERSHIP = f"""
select i,
       md5('user-' || u)::uuid as user_id,
       md5('project-' || (u * {PROJECTS_PER_USER} - mod(i, {PROJECTS_PER_USER})))::uuid
         as project_id,
       %(anchor)s::timestamptz - case
         when u = {OLD_USER} then interval '300 days' + random() * interval '65 days'
         when u = {RECENT_USER} then random() * interval '1 day'
         else interval '1 day' + random() * interval '364 days'
       end as created_at
from (
  select i,
         case
           when i <= {OLD_USER_ROWS} then {OLD_USER}
           when i <= {OLD_USER_ROWS} + %(rows)s::int / {USERS} then {RECENT_USER}
           else 3 + mod(i, {USERS} - 2)
         end as u
  from generate_series(1, %(rows)s::int) as i
) as owned
"""

LOAD_USERS = f"""
insert into auth.users (id, email, raw_user_meta_data)
select md5('user-' || k)::uuid, 'user' || k || '@example.com',
       jsonb_build_object('full_name', 'User ' || k)
from generate_series(1, {USERS}) as k
"""

# groqgen's trigger on auth.users has made these already; the seed schema needs them inserted.
LOAD_PROFILES = """
insert into profiles (id, email, full_name)
select id, email, raw_user_meta_data ->> 'full_name' from auth.users
on conflict (id) do nothing
"""

LOAD_PROJECTS = f"""
insert into projects (id, name, description, user_id, created_at, updated_at)
select md5('project-' || p)::uuid, 'Project ' || p, 'Benchmark project ' || p,
       md5('user-' || ((p + 1) / {PROJECTS_PER_USER}))::uuid,
       %(anchor)s::timestamptz - interval '400 days', %(anchor)s::timestamptz - interval '400 days'
from generate_series(1, {USERS * PROJECTS_PER_USER}) as p
"""

LOAD_TABLES = {
    "activity_logs": """
insert into activity_logs
  (id, user_id, project_id, activity_type, description, metadata, created_at)
select md5('activity_logs-' || i)::uuid, user_id, project_id,
       (array['prompt_generation', 'code_generation', 'code_review', 'test_generation'])
         [1 + mod(i, 4)],
       'Benchmark activity ' || i, jsonb_build_object('n', i), created_at
from rows order by created_at, i
""",
    "prompts": """
insert into prompts (id, topic, prompt_type, tone, length, additional_context, model,
                     generated_prompt, user_id, project_id, created_at)
select md5('prompts-' || i)::uuid, 'Topic ' || i,
       (array['writing', 'coding', 'marketing'])[1 + mod(i, 3)],
       (array['professional', 'casual', 'friendly'])[1 + mod(i, 3)],
       10 + mod(i, 91), null, 'llama-3.3-70b-versatile',
       'Generated prompt number ' || i || ' about a benchmark topic.',
       user_id, project_id, created_at
from rows order by created_at, i
""",
    "code_generations": """
insert into code_generations (id, description, language, framework, model, additional_context,
                              generated_code, user_id, project_id, created_at)
select md5('code_generations-' || i)::uuid, 'Generate function ' || i,
       (array['python', 'typescript', 'go'])[1 + mod(i, 3)], 'none', 'llama-3.3-70b-versatile',
       null,
       'def f' || i || '():' || chr(10) || '    return ' || i, user_id, project_id, created_at
from rows order by created_at, i
""",
    "code_reviews": """
insert into code_reviews (id, code, language, review_type, model, review_result,
                          user_id, project_id, created_at)
select md5('code_reviews-' || i)::uuid, 'def f' || i || '(): return ' || i,
       (array['python', 'typescript', 'go'])[1 + mod(i, 3)],
       (array['general', 'security', 'performance'])[1 + mod(i, 3)], 'llama-3.3-70b-versatile',
       'Looks fine: review ' || i, user_id, project_id, created_at
from rows order by created_at, i
""",
    "tests": """
insert into tests (id, code, language, framework, test_types, coverage, model, additional_context,
                   generated_tests, user_id, project_id, created_at)
select md5('tests-' || i)::uuid, 'def f' || i || '(): return ' || i, 'python', 'pytest',
       array['unit', 'integration']::varchar[], 'high', 'llama-3.3-70b-versatile', null,
       'def test_f' || i || '(): assert f' || i || '() == ' || i, user_id, project_id, created_at
from rows order by created_at, i
""",
}

# Queries ----------------------------------------------------------------------------------------

RECENT_ACTIVITY = "select * from activity_logs where user_id = %s order by created_at desc limit 10"
# A project's list as the SDK sends it for the service role (no row-level security): the
# owner predicate spelled out, which groqgen's (project_id, user_id) foreign key makes exact.
PROJECT_PROMPTS = (
    "select * from prompts where project_id = %s and user_id = "
    "(select p.user_id from projects p where p.id = %s) "
    "order by created_at desc, id desc limit 50"
)
FIRST_PROMPTS_PAGE = (
    "select * from prompts where user_id = %s order by created_at desc, id desc limit 50"
)
# Not in the brief's list: the project query as row-level security runs it for the owner (the
# policy adds user_id = auth.uid()), which an index on (project_id, user_id, ...) can order.
OWNER_PROJECT_PROMPTS = (
    "select * from prompts where project_id = %s and user_id = %s "
    "order by created_at desc, id desc limit 50"
)
# The keyset condition as the SDK sends it: the cursor through an InitPlan (docs/database.md).
NEXT_PROMPTS_PAGE = (
    "select * from prompts where user_id = %s "
    "and (created_at, id) < ((select %s::timestamptz), (select %s::uuid)) "
    "order by created_at desc, id desc limit 50"
)


@dataclass(frozen=True)
class Case:
    """One measured query: a label, the user it concerns, its SQL and its parameters."""

    query: str
    user: str
    sql: str
    params: tuple[Any, ...]


@dataclass(frozen=True)
class Plan:
    """What EXPLAIN ANALYZE showed: the node tree, whether it sorts, rows a filter threw away."""

    shape: str
    has_sort: bool
    rows_removed_by_filter: int


@dataclass(frozen=True)
class Measurement:
    """Timings (milliseconds) and the plan of one case in one database."""

    median_ms: float
    p95_ms: float
    plan: Plan


# Databases --------------------------------------------------------------------------------------


def database_url(server_url: str, dbname: str) -> str:
    """The server URL with its database replaced by ``dbname``."""
    parts = urlsplit(server_url)
    return urlunsplit(parts._replace(path="/" + dbname))


def create_database(server_url: str, dbname: str) -> None:
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(dbname)))


def drop_database(server_url: str, dbname: str) -> None:
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(dbname))
        )


def build_seed_schema(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SUPABASE_PREREQUISITES)
        conn.execute(SEED_INITIAL_MIGRATION)


def build_groqgen_schema(url: str) -> None:
    groqgen.migrations.apply(url)


def load_data(url: str, rows: int, anchor: datetime) -> None:
    """Insert the same users, projects and ``rows`` rows per table into the database at ``url``."""
    params = {"anchor": anchor, "rows": rows}
    with psycopg.connect(url) as conn:
        conn.execute(LOAD_USERS)
        conn.execute(LOAD_PROFILES)
        conn.execute(LOAD_PROJECTS, params)
        for table, insert in LOAD_TABLES.items():
            # Reseed per table: each table's times depend only on the seed, not on load order.
            conn.execute("select setseed(0.42)")
            conn.execute(f"with rows as ({ROW_OWNERSHIP}) {insert}", params)
            print(f"  {table}: {rows} rows", file=sys.stderr, flush=True)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("vacuum analyze")


# Measuring --------------------------------------------------------------------------------------


def plan_nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from plan_nodes(child)


def describe(node: dict[str, Any]) -> str:
    """A one-line plan tree: ``Limit > Index Scan [idx]``; siblings are joined by ``+``."""
    label = node["Node Type"]
    if "Index Name" in node:
        label += f" [{node['Index Name']}]"
    children = node.get("Plans", [])
    if not children:
        return label
    inner = " + ".join(describe(child) for child in children)
    return f"{label} > ({inner})" if len(children) > 1 else f"{label} > {inner}"


def explain(conn: psycopg.Connection[Any], case: Case) -> Plan:
    query = "explain (analyze, format json) " + case.sql
    root = scalar(conn, query, case.params)[0]["Plan"]
    nodes = list(plan_nodes(root))
    return Plan(
        shape=describe(root),
        has_sort=any("Sort" in node["Node Type"] for node in nodes),
        rows_removed_by_filter=sum(int(node.get("Rows Removed by Filter", 0)) for node in nodes),
    )


def measure(conn: psycopg.Connection[Any], case: Case, repeat: int) -> Measurement:
    timings: list[float] = []
    with conn.cursor() as cur:
        for run in range(WARMUP_RUNS + repeat):
            started = time.perf_counter()
            cur.execute(case.sql, case.params)
            cur.fetchall()
            elapsed_ms = (time.perf_counter() - started) * 1000
            if run >= WARMUP_RUNS:
                timings.append(elapsed_ms)
    return Measurement(
        median_ms=statistics.median(timings),
        p95_ms=percentile(timings, 95),
        plan=explain(conn, case),
    )


def percentile(values: Sequence[float], pct: int) -> float:
    """The ``pct``-th percentile, interpolated between the nearest ranks."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]


def cases(conn: psycopg.Connection[Any]) -> list[Case]:
    """The measured queries, with their parameters; the keyset cursor is read from ``conn``."""
    recent, old = user_id(RECENT_USER), user_id(OLD_USER)
    last = conn.execute(FIRST_PROMPTS_PAGE, (old,)).fetchall()[-1]
    cursor = (last[-1], last[0])  # created_at, id: the first and last columns of prompts
    return [
        Case("recent activity (limit 10)", "recent", RECENT_ACTIVITY, (recent,)),
        Case("recent activity (limit 10)", "old", RECENT_ACTIVITY, (old,)),
        Case(
            "project's newest 50 prompts",
            "recent",
            PROJECT_PROMPTS,
            (project_id(RECENT_USER),) * 2,
        ),
        Case("project's newest 50 prompts", "old", PROJECT_PROMPTS, (project_id(OLD_USER),) * 2),
        Case("prompts keyset page 2 (50)", "old", NEXT_PROMPTS_PAGE, (old, *cursor)),
        Case(
            "project prompts + user_id (50)",
            "recent",
            OWNER_PROJECT_PROMPTS,
            (project_id(RECENT_USER), recent),
        ),
        Case(
            "project prompts + user_id (50)",
            "old",
            OWNER_PROJECT_PROMPTS,
            (project_id(OLD_USER), old),
        ),
    ]


def user_id(k: int) -> UUID:
    """User k's id, as the loader derives it: ``md5('user-' || k)::uuid``."""
    return UUID(hashlib.md5(f"user-{k}".encode()).hexdigest())


def project_id(owner: int) -> UUID:
    """The id of the first of user ``owner``'s two projects."""
    number = owner * PROJECTS_PER_USER - 1
    return UUID(hashlib.md5(f"project-{number}".encode()).hexdigest())


def scalar(conn: psycopg.Connection[Any], query: str, params: Sequence[Any] = ()) -> Any:
    row = conn.execute(query, params).fetchone()
    assert row is not None
    return row[0]


def schema_summary(conn: psycopg.Connection[Any]) -> list[str]:
    """The indexes of the measured tables and, for groqgen, the migrations that were applied."""
    lines = [
        f"{name}: {definition.split(' USING ', 1)[1]}"
        for name, definition in conn.execute(
            "select indexname, indexdef from pg_indexes where schemaname = 'public' "
            "and tablename in ('activity_logs', 'prompts') order by tablename, indexname"
        )
    ]
    if scalar(conn, "select to_regclass('groqgen.schema_migrations') is not null"):
        lines += [
            f"migration {version}_{name} sha256 {checksum[:16]}"
            for version, name, checksum in conn.execute(
                "select version, name, checksum from groqgen.schema_migrations order by version"
            )
        ]
    return lines


# Output -----------------------------------------------------------------------------------------


def report(
    rows: int,
    version: str,
    schemas: dict[str, list[str]],
    results: list[tuple[Case, Measurement, Measurement]],
) -> None:
    print(f"rows per table: {rows} ({USERS} users, {USERS * PROJECTS_PER_USER} projects)")
    print(f"server: {version}")
    for side, lines in schemas.items():
        print(f"{side} schema (activity_logs, prompts):")
        for line in lines:
            print(f"  {line}")
    print()
    header = (
        f"{'query':<31} {'user':<6} {'seed med':>9} {'seed p95':>9} {'gg med':>8} {'gg p95':>8} "
        f"{'ratio':>8}  {'seed sort?':>10} {'seed removed':>12}  {'gg sort?':>8} "
        f"{'gg removed':>10}"
    )
    print(header)
    print("-" * len(header))
    for case, seed, gg in results:
        ratio = seed.median_ms / gg.median_ms
        print(
            f"{case.query:<31} {case.user:<6} {seed.median_ms:>9.3f} {seed.p95_ms:>9.3f} "
            f"{gg.median_ms:>8.3f} {gg.p95_ms:>8.3f} {ratio:>7.1f}x  "
            f"{yes_no(seed.plan.has_sort):>10} {seed.plan.rows_removed_by_filter:>12}  "
            f"{yes_no(gg.plan.has_sort):>8} {gg.plan.rows_removed_by_filter:>10}"
        )
    print("\n(ms; gg = groqgen; ratio = seed median / groqgen median)")
    print("\nplans (EXPLAIN ANALYZE):")
    for case, seed, gg in results:
        print(f"  {case.query} / {case.user}")
        print(f"    seed:    {seed.plan.shape}")
        print(f"    groqgen: {gg.plan.shape}")


def yes_no(flag: bool) -> str:
    return "yes" if flag else "no"


# Main -------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=300_000, help="rows per table (300000)")
    parser.add_argument("--repeat", type=int, default=200, help="timed runs per query (200)")
    parser.add_argument("--server-url", default=DEFAULT_SERVER_URL, help="an existing database")
    parser.add_argument("--keep", action="store_true", help="do not drop the databases")
    args = parser.parse_args(argv)
    minimum_rows = 2 * (OLD_USER_ROWS + USERS)
    if args.rows < minimum_rows:
        parser.error(f"--rows must be at least {minimum_rows}")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    suffix = secrets.token_hex(4)
    names = {"seed": f"groqgen_bench_seed_{suffix}", "groqgen": f"groqgen_bench_groqgen_{suffix}"}
    urls = {side: database_url(args.server_url, name) for side, name in names.items()}
    anchor = datetime.now(timezone.utc).replace(microsecond=0)
    created: list[str] = []
    try:
        for side, name in names.items():
            print(f"building {name}", file=sys.stderr, flush=True)
            create_database(args.server_url, name)
            created.append(name)
            if side == "seed":
                build_seed_schema(urls[side])
            else:
                build_groqgen_schema(urls[side])
            load_data(urls[side], args.rows, anchor)

        with (
            psycopg.connect(urls["seed"], autocommit=True, prepare_threshold=None) as seed,
            psycopg.connect(urls["groqgen"], autocommit=True, prepare_threshold=None) as gg,
        ):
            version = scalar(seed, "select version()")
            schemas = {"seed": schema_summary(seed), "groqgen": schema_summary(gg)}
            seed_cases, gg_cases = cases(seed), cases(gg)
            if seed_cases != gg_cases:
                raise RuntimeError("the two databases disagree on the keyset cursor")
            results = []
            for case in seed_cases:
                print(f"measuring {case.query} / {case.user}", file=sys.stderr, flush=True)
                results.append(
                    (case, measure(seed, case, args.repeat), measure(gg, case, args.repeat))
                )
        report(args.rows, version, schemas, results)
    finally:
        if args.keep:
            print(f"kept: {', '.join(created)}", file=sys.stderr)
        else:
            for name in created:
                drop_database(args.server_url, name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
