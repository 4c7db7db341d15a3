"""Adopting a big web-app database: total time, and how long writers wait.

Builds the web app's database as the tests do (``tests/postgres/web_app_db.py``: the seed's SQL,
hand-written owner-only policies, Supabase's default privileges) with ``--rows`` prompts and as
many activity entries (1,000 users, 2,000 projects, a few legacy rows breaking groqgen's rules),
then adopts copies of it while the web app keeps writing:

* two writers, as PostgREST runs the web app's requests (one transaction each, as
  ``authenticated`` with the user's claims, straight to the database): one inserts a prompt
  every 10 ms, the other an activity entry every 10 ms. Each insert's latency is recorded;
  the writers run for a few seconds before the migration starts, which gives the baseline of
  the same run;
* a sampler polls ``pg_locks`` every 5 ms for locks the migrating session holds on the seven
  tables in a mode that blocks writes (SHARE and stronger), and reports the longest stretch
  any one table was held;
* the migration itself, timed per step, through ``groqgen.migrations.apply`` (``db migrate``)
  and, for comparison, the one-transaction script of ``sql(adopt=True)`` (the SQL-editor
  route).

``--delay-ms`` runs ``db migrate`` again through the local TCP proxy of
``generate_throughput.py``, which holds every packet for half that long in each direction (a
round trip of that many milliseconds, as to a hosted database); the writers stay next to the
database, as PostgREST is.

Run it against a disposable PostgreSQL server from the repository's root::

    python benchmarks/adopt_big_tables.py [--rows 1000000] [--delay-ms 20] [--no-script] \\
        [--server-url postgresql://postgres@127.0.0.1:5432/postgres]

It creates databases named ``groqgen_bench_adopt_*`` and drops them afterwards. Nothing here is
asserted: the figures go to ``docs/database.md``.
"""

from __future__ import annotations

import argparse
import json
import re
import secrets
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository's root

from tests.postgres import web_app_db as web

from benchmarks.generate_throughput import DelayProxy
from groqgen import migrations

DEFAULT_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
USERS = 1000
PROJECTS_PER_USER = 2
WRITE_EVERY = 0.010  # seconds between a writer's inserts
BASELINE_SECONDS = 5.0
SEVEN = ("profiles", "projects", "prompts", "code_generations", "code_reviews", "tests",
         "activity_logs")  # fmt: skip
WRITE_BLOCKING = ("ShareLock", "ShareRowExclusiveLock", "ExclusiveLock", "AccessExclusiveLock")

LOAD = """
insert into auth.users (id, email, raw_user_meta_data)
  select gen_random_uuid(), 'user' || g || '@example.com', '{{}}'::jsonb
  from generate_series(1, {users}) g;
insert into profiles (id, email, full_name) select id, email, 'User' from auth.users;
insert into projects (name, user_id)
  select 'project ' || n, id from auth.users, generate_series(1, {per_user}) n;
create temporary table numbered_projects as
  select id, user_id, (row_number() over (order by id)) - 1 as n from projects;
insert into prompts (topic, prompt_type, tone, length, model, generated_prompt, user_id,
                     project_id, created_at)
  select 'topic ' || g, 'writing', 'casual', 50, 'llama-3.3-70b-versatile',
         repeat('Write release notes for the launch. ', 6), p.user_id,
         case when g % 3 = 0 then null else p.id end,
         now() - make_interval(secs => g)
  from generate_series(1, {rows}) g
  join numbered_projects p on p.n = g % {projects};
insert into activity_logs (user_id, project_id, activity_type, description, metadata, created_at)
  select p.user_id, case when g % 3 = 0 then null else p.id end, 'prompt_generation',
         'Generated a prompt', jsonb_build_object('model', 'llama-3.3-70b-versatile', 'tokens', g),
         now() - make_interval(secs => g)
  from generate_series(1, {rows}) g
  join numbered_projects p on p.n = g % {projects};
-- A year's legacy rows: out-of-range lengths, a blank tone, a row in another user's project.
update prompts set length = 5 where id in (select id from prompts order by id limit 3);
update prompts set tone = '' where id in (select id from prompts order by id desc limit 2);
update activity_logs a set project_id = (select p.id from projects p where p.user_id <> a.user_id limit 1)
  where a.id in (select id from activity_logs order by id limit 2);
"""


def url_for(server_url: str, dbname: str) -> str:
    return make_conninfo(**{**conninfo_to_dict(server_url), "dbname": dbname})


def build_template(server_url: str, rows: int) -> str:
    """The web app's database with ``rows`` prompts and activity entries; returns its name."""
    name = f"groqgen_bench_adopt_template_{secrets.token_hex(4)}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    started = time.perf_counter()
    with psycopg.connect(url_for(server_url, name), autocommit=True) as conn:
        web.create_seed(conn, "supabase")
        indexes = re.findall(r"^create index .*;$", web.SEED_SCHEMA, re.MULTILINE | re.IGNORECASE)
        for statement in indexes:  # loaded without, built after: the same end state, sooner
            conn.execute("drop index " + statement.split()[2])
        conn.execute(
            LOAD.format(
                users=USERS,
                per_user=PROJECTS_PER_USER,
                projects=USERS * PROJECTS_PER_USER,
                rows=rows,
            )
        )
        for statement in indexes:
            conn.execute(statement)
        conn.execute("vacuum analyze")
        size = conn.execute("select pg_size_pretty(pg_database_size(current_database()))")
        print(f"built {name}: {rows:,} prompts and activity entries, {size.fetchone()[0]}, "
              f"in {time.perf_counter() - started:.1f} s")  # fmt: skip
    return name


@contextmanager
def copy_of(server_url: str, template: str) -> Iterator[str]:
    name = f"groqgen_bench_adopt_{secrets.token_hex(4)}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'create database "{name}" template "{template}"')
    try:
        yield url_for(server_url, name)
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')


def through(url: str, proxy: DelayProxy) -> str:
    return make_conninfo(**{**conninfo_to_dict(url), "host": "127.0.0.1", "port": proxy.port})


# -- the web app writing, and who holds which lock ----------------------------------------------


@dataclass
class Writer:
    """Inserts into ``table`` every 10 ms as a signed-in user, one transaction per request."""

    url: str
    table: str
    user: uuid.UUID
    project: uuid.UUID
    latencies: list[tuple[float, float]] = field(default_factory=list)  # (start, seconds)
    written: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def run(self, stop: threading.Event) -> None:
        claims = json.dumps({"sub": str(self.user), "role": "authenticated"})
        with psycopg.connect(self.url, autocommit=True) as conn:
            n = 0
            while not stop.is_set():
                n += 1
                row = str(uuid.uuid4())
                project = f"'{self.project}'" if n % 2 else "null"
                if self.table == "prompts":
                    insert = (
                        "insert into prompts (id, topic, prompt_type, tone, length, model, "
                        "generated_prompt, user_id, project_id) values "
                        f"('{row}', 'live', 'writing', 'casual', 50, 'm', 'text', "
                        f"'{self.user}', {project})"
                    )
                else:
                    insert = (
                        "insert into activity_logs (id, user_id, project_id, activity_type, "
                        f"description) values ('{row}', '{self.user}', {project}, 'login', 'live')"
                    )
                script = (
                    "begin; select set_config('role', 'authenticated', true), "
                    f"set_config('request.jwt.claims', '{claims}', true); {insert}; commit"
                )
                started = time.perf_counter()
                try:
                    conn.execute(script)
                except psycopg.Error as exc:
                    self.errors.append(str(exc).splitlines()[0])
                    if conn.info.transaction_status != 0:
                        conn.execute("rollback")
                else:
                    self.written.append(row)
                self.latencies.append((started, time.perf_counter() - started))
                time.sleep(max(0.0, started + WRITE_EVERY - time.perf_counter()))


class LockSampler:
    """Samples, every 5 ms, which of the seven tables the migrating session holds in a mode
    that blocks writes; keeps each stretch as (table, start, end)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.spans: list[tuple[str, float, float]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        held_since: dict[str, float] = {}
        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self.stop.is_set():
                now = time.perf_counter()
                rows = conn.execute(
                    "select c.relname from pg_locks l join pg_class c on c.oid = l.relation "
                    "join pg_stat_activity a on a.pid = l.pid "
                    "where a.application_name in ('groqgen migrations', 'groqgen bench script') "
                    "and a.datname = current_database() "
                    "and l.granted and l.mode = any(%s) and c.relname = any(%s)",
                    [list(WRITE_BLOCKING), list(SEVEN)],
                ).fetchall()
                held = {name for (name,) in rows}
                for name in held - held_since.keys():
                    held_since[name] = now
                for name in set(held_since) - held:
                    self.spans.append((name, held_since.pop(name), now))
                time.sleep(0.005)
            now = time.perf_counter()
            self.spans += [(name, since, now) for name, since in held_since.items()]


@dataclass
class Window:
    """One stretch of the migration: how long, the longest hold of a table against writes,
    and the slowest insert that started in it."""

    label: str
    seconds: float
    longest_hold: float
    held_table: str
    slowest_insert: float
    inserts_over_100ms: int


@dataclass
class Outcome:
    label: str
    total: float
    steps: list[tuple[str, float]]
    baseline_max: float
    baseline_p99: float
    windows: list[Window]
    switch_max: float  # the slowest insert that overlapped the switch
    inserts: int
    lost: int
    errors: list[str]
    slow: list[tuple[float, str, str]]  # inserts over 50 ms: seconds, table, step running


def pick_writer_user(url: str) -> tuple[uuid.UUID, uuid.UUID]:
    with psycopg.connect(url) as conn:
        row = conn.execute("select user_id, id from projects order by id limit 1").fetchone()
    assert row is not None
    return row[0], row[1]


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct))] if ordered else 0.0


def measured(label: str, url: str, migrate: Callable[[Callable[[str], None]], None]) -> Outcome:
    user, project = pick_writer_user(url)
    writers = [Writer(url, "prompts", user, project), Writer(url, "activity_logs", user, project)]
    stop = threading.Event()
    threads = [threading.Thread(target=w.run, args=(stop,), daemon=True) for w in writers]
    for t in threads:
        t.start()
    time.sleep(BASELINE_SECONDS)
    sampler = LockSampler(url)
    sampler.thread.start()
    steps: list[tuple[str, float]] = []  # (what started, seconds until the next line)
    started = last = time.perf_counter()
    current = "connecting"
    boundaries: list[tuple[float, str]] = [(started, current)]

    def progress(line: str) -> None:
        nonlocal last, current
        now = time.perf_counter()
        steps.append((current, now - last))
        current, last = line, now
        boundaries.append((now, line))

    migrate(progress)
    finished = time.perf_counter()
    steps.append((current, finished - last))
    time.sleep(1.0)
    stop.set()
    sampler.stop.set()
    for t in threads:
        t.join(30)
    sampler.thread.join(5)
    inserts = [(t, s, w.table) for w in writers for t, s in w.latencies]
    baseline = [s for t, s, _ in inserts if t < started]

    def window(name: str, start: float, end: float) -> Window:
        spans = [(e - b, n) for n, b, e in sampler.spans if b < end and e > start]
        hold, table = max(spans, default=(0.0, ""))
        waits = [s for t, s, _ in inserts if start <= t <= end]
        return Window(
            name, end - start, hold, table, max(waits, default=0.0), sum(w > 0.1 for w in waits)
        )

    adopted = next((at for at, line in boundaries if line == "applied 0002_schema"), None)
    if adopted is None:
        windows = [window("all of it", started, finished)]
    else:
        windows = [
            window("adoption: 0001 and the adoption in place of 0002", started, adopted),
            window("the migrations after 0002", adopted, finished),
        ]
    switch = [at for at, line in boundaries if line.startswith("switching")]
    switch_end = next((at for at, _ in boundaries if switch and at > switch[0]), finished)
    overlapping = [s for t, s, _ in inserts if switch and t <= switch_end and t + s >= switch[0]]
    slow = [
        (s, table, next(line for at, line in reversed(boundaries) if at <= t))
        for t, s, table in inserts
        if started <= t <= finished and s > 0.05
    ]
    lost = 0
    with psycopg.connect(url) as conn:
        for w in writers:
            found = conn.execute(
                f"select count(*) from {w.table} where id = any(%s::uuid[])", [w.written]
            ).fetchone()
            lost += len(w.written) - (found[0] if found else 0)
    return Outcome(
        label,
        finished - started,
        steps,
        max(baseline),
        percentile(baseline, 0.99),
        windows,
        max(overlapping, default=0.0),
        sum(len(w.written) for w in writers),
        lost,
        [e for w in writers for e in w.errors],
        sorted(slow, reverse=True),
    )


def run_migrate(url: str) -> Callable[[Callable[[str], None]], None]:
    def migrate(progress: Callable[[str], None]) -> None:
        migrations.apply(url, progress=progress)

    return migrate


def run_bare_index_build(url: str) -> Callable[[Callable[[str], None]], None]:
    """The control: PostgreSQL's own concurrent build of one of the indexes, nothing else."""

    def migrate(progress: Callable[[str], None]) -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                "create index concurrently control_idx "
                "on public.activity_logs (project_id, user_id, created_at desc, id desc)"
            )
        progress("index built")

    return migrate


def run_script(url: str) -> Callable[[Callable[[str], None]], None]:
    def migrate(progress: Callable[[str], None]) -> None:
        script = migrations.sql(adopt=True)
        with psycopg.connect(url, autocommit=True, application_name="groqgen bench script") as c:
            c.execute(script)
        progress("script committed")

    return migrate


# Progress lines of migrations.apply, by what the step after them does.
PHASES = {
    "building": "index builds (concurrently)",
    "switching": "the switch",
    "created": "validating rules",  # the line before the first validation
    "validated": "validating rules",
    "dropping": "dropping the seed's indexes",
    "analysing": "analysing",
    "applied 0002": "the migrations after 0002",
    "applied 0003": "the migrations after 0002",
    "applied 0004": "the migrations after 0002",
}


def report(outcome: Outcome) -> None:
    print(f"\n== {outcome.label}")
    print(f"total {outcome.total:.2f} s; {outcome.inserts:,} inserts, {outcome.lost} lost, "
          f"{len(outcome.errors)} failed {sorted(set(outcome.errors))[:3]}")  # fmt: skip
    print(f"writer latency before the migration: max {outcome.baseline_max * 1000:.1f} ms "
          f"(p99 {outcome.baseline_p99 * 1000:.1f})")  # fmt: skip
    for w in outcome.windows:
        held = f"{w.longest_hold * 1000:.0f} ms ({w.held_table})" if w.held_table else "none"
        print(f"{w.label}: {w.seconds:.2f} s; longest hold against writes {held}; slowest "
              f"insert {w.slowest_insert * 1000:.1f} ms, {w.inserts_over_100ms} over 100 ms")  # fmt: skip
    if outcome.switch_max:
        print(f"slowest insert overlapping the switch: {outcome.switch_max * 1000:.1f} ms")
    for seconds, table, step in outcome.slow[:6]:
        print(f"  insert into {table} took {seconds * 1000:.0f} ms, started during: {step}")
    phases: dict[str, float] = {}
    for line, seconds in outcome.steps:
        phase = PHASES.get(next((p for p in PHASES if line.startswith(p)), ""), "other")
        phases[phase] = phases.get(phase, 0.0) + seconds
    print("  " + "; ".join(f"{name} {seconds:.2f} s" for name, seconds in phases.items()))
    for line, seconds in sorted(outcome.steps, key=lambda s: -s[1])[:6]:
        print(f"  {seconds:7.2f} s  {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--delay-ms", type=float, action="append", default=[])
    parser.add_argument("--no-script", action="store_true", help="skip the SQL-editor route")
    parser.add_argument("--server-url", default=DEFAULT_SERVER_URL)
    args = parser.parse_args()

    template = build_template(args.server_url, args.rows)
    try:
        with copy_of(args.server_url, template) as url:
            label = "control: a bare CREATE INDEX CONCURRENTLY on activity_logs, no groqgen"
            report(measured(label, url, run_bare_index_build(url)))
        with copy_of(args.server_url, template) as url:
            report(measured("db migrate (no delay)", url, run_migrate(url)))
        for delay in args.delay_ms:
            with copy_of(args.server_url, template) as url:
                info = conninfo_to_dict(url)
                host, port = str(info.get("host", "127.0.0.1")), int(str(info.get("port", 5432)))
                with DelayProxy(host, port, delay / 1000) as proxy:
                    label = f"db migrate through a {delay:g} ms round trip"
                    report(measured(label, url, run_migrate(through(url, proxy))))
        if not args.no_script:
            with copy_of(args.server_url, template) as url:
                report(measured("sql(adopt=True), the SQL-editor script", url, run_script(url)))
    finally:
        with psycopg.connect(args.server_url, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{template}" with (force)')
    print(f"\nthe switch waits at most {migrations.LOCK_WAIT_MS} ms for its locks per try")


if __name__ == "__main__":
    main()
