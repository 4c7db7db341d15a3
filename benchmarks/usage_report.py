"""Usage report latency over 1,000,000 activity entries, on PostgreSQL under RLS and on SQLite.

The data set: 100 users, 90 days, 4 models, 1,000,000 generation entries with the metadata
groqgen writes, appended in time order (every user's entries interleaved, as a live table
holds them). One heavy user owns every 11th entry: 30,000 of them in the last 30 days. The
report measured is that user's last 30 days by day and model::

    client.usage(since="30d", by=("day", "model"), tz="Europe/Paris")

PostgreSQL: as the user under row-level security (``Client(database_url=..., user_id=...)``),
against two baselines run in the same process on the same data: the same aggregation written
straight over ``activity_logs`` (decoding the jsonb metadata of each entry, what migration
0005's ``usage_entries`` replaces), and the bare ``usage_report`` call through psycopg (the
floor). The plan of the function's query is printed from ``auto_explain``
(``EXPLAIN ANALYZE`` of nested statements), so it shows what really ran.

SQLite: the same entries in an embedded store whose local user is the heavy user, against the
same aggregation over ``activity_logs`` with ``json_extract``; ``EXPLAIN QUERY PLAN`` printed.

Run it against a disposable PostgreSQL server (it creates, and drops, one database)::

    python benchmarks/usage_report.py [--entries 1000000] [--repeat 30] [--skip-sqlite]

Figures are printed, never asserted. Needs ``groqgen[postgres]``.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._pg import migrated_database
from groqgen import Client

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)
TZ = "Europe/Paris"
MODELS = (
    "openai/gpt-oss-120b",
    "openai/gpt-oss-20b",
    "qwen/qwen3.8-27b",
    "llama-3.3-70b-versatile",
)
KINDS = ("prompt_generation", "code_generation", "code_review", "test_generation")

# Entry g (0..N-1): user 0 (heavy) when g % 11 == 0, else one of users 1..99; created
# g/N * 90 days before NOW, so the table is in time order; metadata as groqgen writes it.
PG_USERS = """
insert into auth.users (id, email)
  select md5('user' || u)::uuid, 'u' || u || '@example.com' from generate_series(0, 99) u
"""
PG_LOAD = """
insert into activity_logs (id, user_id, activity_type, description, metadata, created_at)
select gen_random_uuid(),
  md5('user' || case when g %% 11 = 0 then 0 else 1 + g %% 99 end)::uuid,
  (array['prompt_generation','code_generation','code_review','test_generation'])[1 + g %% 4],
  'prompts recorded',
  jsonb_build_object(
    'model', (array['openai/gpt-oss-120b','openai/gpt-oss-20b','qwen/qwen3.8-27b',
                    'llama-3.3-70b-versatile'])[1 + (g / 7) %% 4],
    'prompt_tokens', 200 + g %% 300, 'completion_tokens', 400 + g %% 900,
    'total_tokens', 600 + g %% 300 + g %% 900, 'reasoning_tokens', 100 + g %% 200,
    'cached_tokens', g %% 3 * 50, 'reasoning_effort', 'medium', 'queue_time', 0.012,
    'prompt_time', 0.021, 'completion_time', 0.8, 'total_time', 0.833, 'latency_ms', 912.4,
    'request_id', 'req_' || md5(g::text), 'table', 'prompts', 'record_id', gen_random_uuid(),
    'template_version', 'prompt-2026-11-30'),
  %(now)s::timestamptz - (g::float8 / %(n)s) * interval '90 days'
from generate_series(0, %(n)s - 1) g
order by g desc;
"""

# The same report written straight over activity_logs: what usage_entries saves.
PG_BASELINE = """
select (a.created_at at time zone %(tz)s)::date as day,
  case when jsonb_typeof(a.metadata->'model') = 'string' then a.metadata->>'model' end as model,
  coalesce(a.metadata->'batch' = 'true'::jsonb, false) as batch, count(*) as generations,
  sum((a.metadata->'prompt_tokens')::numeric) filter (where jsonb_typeof(a.metadata->'prompt_tokens') = 'number') as prompt_tokens,
  sum((a.metadata->'completion_tokens')::numeric) filter (where jsonb_typeof(a.metadata->'completion_tokens') = 'number') as completion_tokens,
  sum((a.metadata->'total_tokens')::numeric) filter (where jsonb_typeof(a.metadata->'total_tokens') = 'number') as total_tokens,
  sum((a.metadata->'reasoning_tokens')::numeric) filter (where jsonb_typeof(a.metadata->'reasoning_tokens') = 'number') as reasoning_tokens,
  sum((a.metadata->'cached_tokens')::numeric) filter (where jsonb_typeof(a.metadata->'cached_tokens') = 'number') as cached_tokens,
  sum((a.metadata->'total_time')::numeric) filter (where jsonb_typeof(a.metadata->'total_time') = 'number') as groq_time_s
from public.activity_logs a
where a.user_id = %(user)s and a.created_at >= %(since)s and a.created_at < %(until)s
  and a.activity_type in ('prompt_generation', 'code_generation', 'code_review', 'test_generation')
group by 1, 2, 3
"""

SQLITE_BASELINE = """
select date(created_at, '+3600 seconds') as day, json_extract(metadata, '$.model') as model,
  count(*) as generations,
  sum(json_extract(metadata, '$.prompt_tokens')), sum(json_extract(metadata, '$.completion_tokens')),
  sum(json_extract(metadata, '$.total_tokens')), sum(json_extract(metadata, '$.reasoning_tokens')),
  sum(json_extract(metadata, '$.cached_tokens')), sum(json_extract(metadata, '$.total_time'))
from activity_logs
where user_id = ? and created_at >= ? and created_at < ?
  and activity_type in ('prompt_generation', 'code_generation', 'code_review', 'test_generation')
group by 1, 2
"""


def timed(call: Callable[[], Any], repeat: int, warmup: int = 3) -> tuple[float, float]:
    """Median and p95 of ``call`` in ms, after ``warmup`` runs."""
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.95))]


def rls(conn: Any, user: uuid.UUID) -> None:
    conn.execute(
        "select set_config('role', 'authenticated', true), "
        "set_config('request.jwt.claims', %s, true)",
        [json.dumps({"role": "authenticated", "sub": str(user)})],
    )


def postgres(entries: int, repeat: int) -> None:
    heavy = uuid.UUID(bytes=bytes.fromhex(__import__("hashlib").md5(b"user0").hexdigest()))
    with migrated_database("groqgen_bench_usage") as url:
        with psycopg.connect(url, autocommit=True) as conn:
            started = time.perf_counter()
            conn.execute(PG_USERS)
            conn.execute(PG_LOAD, {"n": entries, "now": NOW})
            loaded = time.perf_counter() - started
            conn.execute("vacuum analyze activity_logs")
            conn.execute("vacuum analyze groqgen.usage_entries")
            sizes = conn.execute(
                "select pg_size_pretty(pg_table_size('activity_logs')), "
                "pg_size_pretty(pg_table_size('groqgen.usage_entries')), "
                "pg_size_pretty(pg_relation_size('groqgen.usage_entries_user_created_idx'))"
            ).fetchone()
            settings = dict(
                conn.execute(
                    "select name, setting || coalesce(unit, '') from pg_settings "
                    "where name in ('shared_buffers', 'work_mem', 'server_version')"
                ).fetchall()
            )
        print(
            f"PostgreSQL {settings}: {entries:,} entries loaded in {loaded:.1f} s "
            "(triggers filling usage_entries included)"
        )
        print(f"  activity_logs {sizes[0]}, usage_entries {sizes[1]}, its index {sizes[2]}")

        with Client(database_url=url, user_id=heavy, home=tempfile.mkdtemp()) as client:
            report = client.usage(since="30d", by=("day", "model"), tz=TZ, now=NOW)
            since, until = report.since, report.until
            print(
                f"  heavy user's last 30 days: {report.totals.generations:,} entries in "
                f"{len(report.rows)} rows (day x model), total cost "
                f"${report.totals.cost_usd:,.4f}"
            )
            sdk = timed(
                lambda: client.usage(since="30d", by=("day", "model"), tz=TZ, now=NOW), repeat
            )

        params = {"user": heavy, "since": since, "until": until, "tz": TZ}
        with psycopg.connect(url, autocommit=True, prepare_threshold=None) as conn:

            def function() -> None:
                with conn.transaction():
                    rls(conn, heavy)
                    conn.execute(
                        "select * from public.usage_report(%(since)s, %(until)s, %(tz)s)", params
                    ).fetchall()

            def baseline() -> None:
                with conn.transaction():
                    rls(conn, heavy)
                    conn.execute(PG_BASELINE, params).fetchall()

            floor = timed(function, repeat)
            straight = timed(baseline, max(5, repeat // 3))
            plans: list[str] = []
            conn.add_notice_handler(lambda d: plans.append(d.message_primary or ""))
            conn.execute("load 'auto_explain'")
            for name, value in (
                ("log_min_duration", "0"),
                ("log_analyze", "on"),
                ("log_buffers", "on"),
                ("log_nested_statements", "on"),
                ("log_timing", "on"),
            ):
                conn.execute(f"set auto_explain.{name} = {value}")
            conn.execute("set client_min_messages = log")
            function()
            conn.execute("set client_min_messages = notice")
        print(
            f"  groqgen client.usage (RLS, one round trip): median {sdk[0]:.1f} ms, p95 {sdk[1]:.1f} ms"
        )
        print(
            f"  bare usage_report() through psycopg (floor): median {floor[0]:.1f} ms, p95 {floor[1]:.1f} ms"
        )
        print(
            f"  baseline, the same sums over activity_logs' jsonb: median {straight[0]:.1f} ms, "
            f"p95 {straight[1]:.1f} ms"
        )
        nested = [p for p in plans if "usage_entries" in p]
        print("  the plan of usage_report's query (auto_explain, EXPLAIN ANALYZE):")
        for line in (nested[0] if nested else "\n".join(plans)).splitlines():
            print("    " + line)


def sqlite(entries: int, repeat: int) -> None:
    home = Path(tempfile.mkdtemp())
    with Client(home=home) as client:
        heavy = client.profiles.me().id
    conn = sqlite3.connect(home / "groqgen.db")
    others = [str(uuid.uuid4()) for _ in range(99)]
    stamp = "2030-01-01T00:00:00.000000+00:00"  # later than the local profile: it stays local
    conn.executemany(
        "insert into profiles values (?, ?, null, null, ?, ?)",
        [(u, f"{u[:8]}@example.com", stamp, stamp) for u in others],
    )
    conn.execute("create temp table users (n integer primary key, id text)")
    conn.executemany("insert into users values (?, ?)", enumerate([str(heavy), *others]))
    start = time.perf_counter()
    conn.execute(
        """
        with recursive g(n) as (select 0 union all select n + 1 from g where n < ? - 1)
        insert into activity_logs (id, user_id, activity_type, description, metadata, created_at)
        select lower(hex(randomblob(16))), (select id from users where users.n =
                 case when g.n % 11 = 0 then 0 else 1 + g.n % 99 end),
          json_extract(?, '$[' || (g.n % 4) || ']'), 'prompts recorded',
          json_object('model', json_extract(?, '$[' || ((g.n / 7) % 4) || ']'),
            'prompt_tokens', 200 + g.n % 300, 'completion_tokens', 400 + g.n % 900,
            'total_tokens', 600 + g.n % 300 + g.n % 900, 'reasoning_tokens', 100 + g.n % 200,
            'cached_tokens', g.n % 3 * 50, 'reasoning_effort', 'medium', 'total_time', 0.833,
            'latency_ms', 912.4, 'request_id', 'req_' || g.n, 'table', 'prompts',
            'template_version', 'prompt-2026-11-30'),
          strftime('%Y-%m-%dT%H:%M:%f', ?, '-' || (g.n * 7776000.0 / ?) || ' seconds')
            || '000+00:00'
        from g order by g.n desc
        """,
        [
            entries,
            json.dumps(KINDS),
            json.dumps(MODELS),
            NOW.strftime("%Y-%m-%d %H:%M:%S"),
            entries,
        ],
    )
    conn.commit()
    loaded = time.perf_counter() - start
    conn.execute("analyze")
    print(
        f"\nSQLite {sqlite3.sqlite_version}: {entries:,} entries loaded in {loaded:.1f} s "
        "(triggers filling usage_entries included)"
    )
    with Client(home=home) as client:
        report = client.usage(since="30d", by=("day", "model"), tz=TZ, now=NOW)
        print(
            f"  heavy user's last 30 days: {report.totals.generations:,} entries in "
            f"{len(report.rows)} rows"
        )
        sdk = timed(lambda: client.usage(since="30d", by=("day", "model"), tz=TZ, now=NOW), repeat)
        op = client.activity_logs._requests.usage("30d", None, ("day", "model"), TZ, NOW).op
        (statement,) = client._store.dialect.plan(op, heavy).statements
    since = (NOW - timedelta(days=29)).strftime("%Y-%m-%dT00:00:00.000000+00:00")
    until = NOW.strftime("%Y-%m-%dT%H:%M:%S.000000+00:00")
    straight = timed(
        lambda: conn.execute(SQLITE_BASELINE, [str(heavy), since, until]).fetchall(),
        max(5, repeat // 3),
    )
    plan = conn.execute(
        "explain query plan " + statement.sql.replace("%s", "?"), list(statement.params)
    ).fetchall()
    print(f"  groqgen client.usage: median {sdk[0]:.1f} ms, p95 {sdk[1]:.1f} ms")
    print(
        f"  baseline, the same sums over activity_logs' JSON: median {straight[0]:.1f} ms, "
        f"p95 {straight[1]:.1f} ms"
    )
    print("  EXPLAIN QUERY PLAN: " + "; ".join(row[-1] for row in plan))
    conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    if not args.skip_postgres:
        postgres(args.entries, args.repeat)
    if not args.skip_sqlite:
        sqlite(args.entries, args.repeat)


if __name__ == "__main__":
    main()
