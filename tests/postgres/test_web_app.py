"""The web app (Next.js + supabase-js, the seed's own app) keeps working on groqgen's schema.

Each test performs one of the app's queries the way PostgREST runs it for supabase-js: in a
transaction, as the role of the JWT, with the claims set locally.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from tests.helpers import acting_as, new_user
from tests.postgres.samples import insert_row


@pytest.fixture
def user(db: Any) -> uuid.UUID:
    user = new_user(db, full_name="Web User")
    for _ in range(12):
        insert_row(db, "prompts", user)
    for _ in range(7):
        insert_row(db, "activity_logs", user)
    insert_row(db, "code_generations", user)
    insert_row(db, "code_reviews", user)
    return user


def test_reads_its_profile_by_id(db: Any, user: uuid.UUID) -> None:
    # supabase.from("profiles").select("*").eq("id", userId).single()
    with acting_as(db, user):
        rows = db.execute("select * from public.profiles where id = %s", [user]).fetchall()
        assert len(rows) == 1


def test_sign_up_finds_the_trigger_made_profile_and_skips_its_insert(db: Any) -> None:
    # auth.signUp (Supabase Auth inserts into auth.users), then the app checks for the profile
    # and inserts one only when none is found.
    user = new_user(db, full_name="New Person")
    with acting_as(db, user):
        existing = db.execute("select id from public.profiles where id = %s", [user]).fetchall()
        assert existing == [(user,)]


def test_sign_up_insert_works_when_the_profile_is_missing(db: Any) -> None:
    user = new_user(db)
    db.execute("delete from public.profiles where id = %s", [user])
    with acting_as(db, user):
        assert db.execute("select id from public.profiles where id = %s", [user]).fetchall() == []
        db.execute(
            "insert into public.profiles (id, email, full_name, avatar_url) values (%s, %s, %s, null)",
            [user, f"{user.hex[:8]}@example.com", "Late Profile"],
        )
        assert db.execute(
            "select full_name from public.profiles where id = %s", [user]
        ).fetchone() == ("Late Profile",)


def test_updates_full_name_avatar_and_updated_at(db: Any, user: uuid.UUID) -> None:
    with acting_as(db, user):
        cur = db.execute(
            "update public.profiles set full_name = %s, avatar_url = %s, updated_at = %s "
            "where id = %s",
            ["Renamed", None, "2026-01-01T00:00:00Z", user],
        )
        assert cur.rowcount == 1
        row = db.execute(
            "select full_name, avatar_url, updated_at > '2026-01-01' from public.profiles where id = %s",
            [user],
        ).fetchone()
        # The trigger keeps updated_at honest whatever the client sends.
        assert row == ("Renamed", None, True)


def test_lists_its_ten_newest_prompts(db: Any, user: uuid.UUID) -> None:
    with acting_as(db, user):
        rows = db.execute(
            "select id, topic, prompt_type, tone, generated_prompt, created_at from public.prompts "
            "where user_id = %s order by created_at desc limit 10",
            [user],
        ).fetchall()
        assert len(rows) == 10
        assert [r[5] for r in rows] == sorted((r[5] for r in rows), reverse=True)


def test_lists_its_five_newest_activities(db: Any, user: uuid.UUID) -> None:
    with acting_as(db, user):
        rows = db.execute(
            "select id, activity_type, description, created_at from public.activity_logs "
            "where user_id = %s order by created_at desc limit 5",
            [user],
        ).fetchall()
        assert len(rows) == 5


def test_counts_its_rows_exactly(db: Any, user: uuid.UUID) -> None:
    # select("*", { count: "exact", head: true }).eq("user_id", user.id) on four tables
    expected = {"prompts": 12, "code_generations": 1, "code_reviews": 1, "tests": 0}
    with acting_as(db, user):
        for table, n in expected.items():
            (count,) = db.execute(
                f"select pg_catalog.count(*) from (select 1 from public.{table} "
                "where user_id = %s) as pgrst_source",
                [user],
            ).fetchone()
            assert count == n, table


def test_service_role_logs_activity_without_a_project(db: Any, user: uuid.UUID) -> None:
    # lib/activity-logger.ts, with the service role key
    with acting_as(db, None, "service_role"):
        for activity_type, metadata in [("login", None), ("signup", json.dumps({"via": "email"}))]:
            cur = db.execute(
                "insert into public.activity_logs (user_id, activity_type, description, metadata) "
                "values (%s, %s, %s, %s) returning project_id",
                [user, activity_type, f"User {activity_type}", metadata],
            )
            assert cur.fetchone() == (None,)
