"""``public.usage_report`` (migration 0005): one index range of the caller's rows, and theirs only.

The plan is read with ``auto_explain`` (``EXPLAIN ANALYZE`` of the statement inside the
function, as it really ran under row-level security), over 40,000 entries of 20 users.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any

import psycopg
import pytest

from groqgen import Client, migrations
from tests.helpers import acting_as, new_user

pytestmark = pytest.mark.slow  # 40,000 entries through the triggers

USERS = 20
ENTRIES = 40_000
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def usage_db(make_database: Callable[[], str]) -> Iterator[tuple[str, list[uuid.UUID]]]:
    url = make_database()
    migrations.apply(url)
    with psycopg.connect(url, autocommit=True) as conn:
        users = [new_user(conn) for _ in range(USERS)]
        conn.execute(
            """
            insert into activity_logs (user_id, activity_type, description, metadata, created_at)
            select (%(users)s::uuid[])[1 + g %% %(n)s], 'prompt_generation', 'p',
              jsonb_build_object('model', 'openai/gpt-oss-120b', 'prompt_tokens', 100,
                                 'completion_tokens', 200),
              %(now)s::timestamptz - g * interval '3 minutes'
            from generate_series(0, %(entries)s - 1) g
            """,
            {"users": users, "n": USERS, "now": NOW, "entries": ENTRIES},
        )
        conn.execute("vacuum analyze groqgen.usage_entries")
    yield url, users


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def test_the_report_reads_one_index_range_of_the_callers_rows(
    usage_db: tuple[str, list[uuid.UUID]],
) -> None:
    url, users = usage_db
    plans: list[dict[str, Any]] = []
    with psycopg.connect(url, autocommit=True) as conn:
        conn.add_notice_handler(
            lambda d: (
                plans.append(json.loads(d.message_primary.split("\n", 1)[1]))
                if d.message_primary and "usage_entries" in d.message_primary
                else None
            )
        )
        conn.execute("load 'auto_explain'")
        for setting in (
            "log_min_duration = 0",
            "log_analyze = on",
            "log_nested_statements = on",
            "log_format = json",
        ):
            conn.execute(f"set auto_explain.{setting}")
        conn.execute("set client_min_messages = log")
        with acting_as(conn, users[0]):
            rows = conn.execute(
                "select * from public.usage_report(%s, %s, 'Europe/Paris')",
                [datetime(2026, 11, 1, tzinfo=timezone.utc), NOW],
            ).fetchall()
    # One entry in 20 is the user's: one an hour, from Nov 1 00:00 to before Nov 30 12:00.
    assert sum(r[5] for r in rows) == 29 * 24 + 12
    (doc,) = plans
    nodes = list(_nodes(doc["Plan"]))
    scans = [n for n in nodes if n.get("Relation Name") == "usage_entries"]
    assert [(n["Node Type"], n["Index Name"]) for n in scans] == [
        ("Index Only Scan", "usage_entries_user_created_idx")
    ], json.dumps(doc, indent=1)
    assert "user_id" in scans[0]["Index Cond"] and "created_at" in scans[0]["Index Cond"]
    assert scans[0]["Actual Rows"] == sum(r[5] for r in rows)  # nobody else's row was read
    assert sum(n.get("Rows Removed by Filter", 0) for n in nodes) == 0


def test_the_service_role_acting_for_a_user_sees_that_users_usage_only(
    usage_db: tuple[str, list[uuid.UUID]], tmp_path: Any
) -> None:
    url, users = usage_db
    window = {"since": datetime(2026, 11, 1, tzinfo=timezone.utc), "until": NOW, "by": ()}
    with Client(database_url=url, user_id=users[1], home=tmp_path) as as_user:
        own = as_user.usage(**window).totals.generations
    with Client(database_url=url, service=True, user_id=users[1], home=tmp_path) as acting:
        assert acting.usage(**window).totals.generations == own
    with Client(database_url=url, service=True, home=tmp_path) as everyone:
        assert everyone.usage(**window).totals.generations == own * USERS
