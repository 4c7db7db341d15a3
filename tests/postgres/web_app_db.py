"""A database as the Groq Prompt Generator web app has it: the seed's SQL, filled by the app.

``DATABASE.md`` (the seed) creates the tables, the single-column indexes and row-level security
with policies on ``profiles`` and ``projects`` only; "similar policies for other tables" are
written by hand, owner-only, as an app author would (and so they let a row name another
user's project). Two flavours:

* ``plain``: PostgreSQL with an ``auth`` schema of its own (``auth.users``, ``auth.uid()``) and
  grants written by hand;
* ``supabase``: Supabase's ``auth`` schema stand-in and default privileges that hand every new
  table and function to ``anon``, ``authenticated`` and ``service_role``.

:func:`fill` writes rows the way the web app does (as the signed-in user under its policies,
logins and sign-ups as the service role) plus the legacy rows a year of that leaves behind,
each of which breaks one of groqgen's rules; it returns their ids.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from benchmarks.list_queries import SEED_INITIAL_MIGRATION

from groqgen import migrations
from tests.postgres.samples import ROW_VALUES
from tests.postgres.test_migrations import SUPABASE_LIKE

FLAVOURS = ("plain", "supabase")

# DATABASE.md: its "Initial Migration" verbatim (uuid-ossp for the ids, the single-column
# indexes; kept in benchmarks/list_queries.py), then its row-level security as written.
SEED_SCHEMA = (
    SEED_INITIAL_MIGRATION
    + """
alter table profiles enable row level security;
alter table projects enable row level security;
alter table prompts enable row level security;
alter table code_generations enable row level security;
alter table code_reviews enable row level security;
alter table tests enable row level security;
alter table activity_logs enable row level security;

create policy "Users can view their own profile" on profiles for select using (auth.uid() = id);
create policy "Users can update their own profile" on profiles for update using (auth.uid() = id);
create policy "Users can view their own projects" on projects for select using (auth.uid() = user_id);
create policy "Users can insert their own projects" on projects for insert with check (auth.uid() = user_id);
create policy "Users can update their own projects" on projects for update using (auth.uid() = user_id);
create policy "Users can delete their own projects" on projects for delete using (auth.uid() = user_id);
"""
)

# "Similar policies for other tables", as an app author writes them: owner-only, which lets a
# row name somebody else's project.
HAND_WRITTEN_POLICIES = "\n".join(
    f"""
create policy "Users can view their own {t}" on {t} for select using (auth.uid() = user_id);
create policy "Users can insert their own {t}" on {t} for insert with check (auth.uid() = user_id);
create policy "Users can update their own {t}" on {t} for update using (auth.uid() = user_id);
create policy "Users can delete their own {t}" on {t} for delete using (auth.uid() = user_id);
"""
    for t in ("prompts", "code_generations", "code_reviews", "tests", "activity_logs")
)

PLAIN_GRANTS = """
grant usage on schema public to anon, authenticated, service_role;
grant select, insert, update, delete on all tables in schema public to authenticated;
grant all on all tables in schema public to service_role;
"""

SEED_COLUMNS = {
    "profiles": "id, email, full_name, avatar_url, created_at, updated_at",
    "projects": "id, name, description, user_id, created_at, updated_at",
    "prompts": "id, topic, prompt_type, tone, length, additional_context, model, "
    "generated_prompt, user_id, project_id, created_at",
    "code_generations": "id, description, language, framework, model, additional_context, "
    "generated_code, user_id, project_id, created_at",
    "code_reviews": "id, code, language, review_type, model, review_result, user_id, "
    "project_id, created_at",
    "tests": "id, code, language, framework, test_types, coverage, model, additional_context, "
    "generated_tests, user_id, project_id, created_at",
    "activity_logs": "id, user_id, project_id, activity_type, description, metadata, created_at",
}


def create_seed(conn: Any, flavour: str) -> None:
    """Build the web app's schema in an empty database, in the given flavour."""
    if flavour == "supabase":
        conn.execute(SUPABASE_LIKE)
    else:
        # An auth schema of the self-hoster's own: here the one groqgen's 0001 would make,
        # run by hand (nothing recorded).
        conn.execute(migrations.available()[0].sql)
    conn.execute(SEED_SCHEMA)
    conn.execute(HAND_WRITTEN_POLICIES)
    if flavour == "plain":
        conn.execute(PLAIN_GRANTS)


def sign_up(conn: Any, email: str, *, profile: bool = True, **metadata: Any) -> uuid.UUID:
    """A user as Supabase Auth makes one; the profile as the app (or an admin) inserted it."""
    user = uuid.uuid4()
    conn.execute(
        "insert into auth.users (id, email, raw_user_meta_data) values (%s, %s, %s)",
        [user, email, json.dumps(metadata)],
    )
    if profile:
        conn.execute(
            "insert into profiles (id, email, full_name) values (%s, %s, %s)",
            [user, email, metadata.get("full_name")],
        )
    return user


@contextmanager
def signed_in(conn: Any, user: uuid.UUID | None, role: str = "authenticated") -> Iterator[Any]:
    """A committed transaction the way PostgREST runs a request for ``user``."""
    claims = {"role": role} if user is None else {"sub": str(user), "role": role}
    with conn.transaction():
        conn.execute(
            "select set_config('role', %s, true), set_config('request.jwt.claims', %s, true)",
            [role, json.dumps(claims)],
        )
        yield conn


def insert(conn: Any, table: str, values: dict[str, Any]) -> uuid.UUID:
    """Insert as the caller's current role; the id comes from the table's default."""
    values = {
        k: json.dumps(v) if k == "metadata" and v is not None else v for k, v in values.items()
    }
    columns = ", ".join(values)
    marks = ", ".join(["%s"] * len(values))
    row = conn.execute(
        f"insert into {table} ({columns}) values ({marks}) returning id", list(values.values())
    ).fetchone()
    return uuid.UUID(str(row[0]))


def row(table: str, user: uuid.UUID, project: uuid.UUID | None = None, **o: Any) -> dict[str, Any]:
    """A valid row of ``table`` (``samples.ROW_VALUES``) for ``user``, in ``project``."""
    return {**ROW_VALUES[table], "user_id": user, "project_id": project, **o}


@dataclass
class Filled:
    """The users and projects of :func:`fill`, and the legacy rows it planted.

    ``planted`` maps each rule the rows break to the ids of the rows that break it.
    """

    alice: uuid.UUID
    bob: uuid.UUID
    carol: uuid.UUID  # signed up, no profile
    alice_project: uuid.UUID
    bob_project: uuid.UUID
    planted: dict[str, set[str]] = field(default_factory=dict)


def fill(conn: Any) -> Filled:
    """Rows as the web app writes them, and a year's worth of legacy rows."""
    alice = sign_up(conn, "alice@example.com", full_name="Alice")
    bob = sign_up(conn, "bob@example.com", full_name="B" * 250)  # a name over 200 characters
    carol = sign_up(
        conn,
        "carol@example.com",
        profile=False,
        full_name="  Carol  ",
        avatar_url="https://example.com/carol.png",
    )
    planted: dict[str, set[str]] = {"profiles_full_name_check": {str(bob)}}

    def plant(rule: str, row: uuid.UUID) -> None:
        planted.setdefault(rule, set()).add(str(row))

    with signed_in(conn, alice):
        alice_project = insert(conn, "projects", {"name": "Launch", "user_id": alice})
    with signed_in(conn, bob):
        bob_project = insert(conn, "projects", {"name": "Bob's", "user_id": bob})
        for n in range(3):
            insert(conn, "prompts", row("prompts", bob, bob_project if n % 2 else None))
    with signed_in(conn, alice):
        # Alice, signed in, under the hand-written owner-only policies.
        for n in range(12):
            insert(conn, "prompts", row("prompts", alice, alice_project if n % 3 == 0 else None))
        insert(conn, "code_generations", row("code_generations", alice, alice_project))
        insert(conn, "code_generations", row("code_generations", alice))
        insert(conn, "code_reviews", row("code_reviews", alice))
        insert(conn, "tests", row("tests", alice, alice_project))
        insert(conn, "activity_logs", row("activity_logs", alice, alice_project))
        insert(conn, "activity_logs", row("activity_logs", alice))
        # The holes the owner-only policies leave: rows in Bob's project.
        plant(
            "prompts_project_id_user_id_fkey",
            insert(conn, "prompts", row("prompts", alice, bob_project)),
        )
        plant(
            "activity_logs_project_id_user_id_fkey",
            insert(conn, "activity_logs", row("activity_logs", alice, bob_project)),
        )
        # Values the web app's forms never checked.
        plant("prompts_length_check", insert(conn, "prompts", row("prompts", alice, length=5)))
        plant("prompts_length_check", insert(conn, "prompts", row("prompts", alice, length=150)))
        plant(
            "prompts_topic_check",
            insert(conn, "prompts", row("prompts", alice, topic="t" * 10_001)),
        )
        plant("prompts_tone_check", insert(conn, "prompts", row("prompts", alice, tone="")))
        plant(
            "code_reviews_review_type_check",
            insert(conn, "code_reviews", row("code_reviews", alice, review_type="")),
        )
        plant(
            "tests_test_types_check",
            insert(conn, "tests", row("tests", alice, test_types=["unit", " "])),
        )
        plant(
            "activity_logs_metadata_check",
            insert(
                conn, "activity_logs", row("activity_logs", alice, metadata={"blob": "x" * 70_000})
            ),
        )
    with signed_in(conn, None, "service_role"):
        # lib/activity-logger.ts: logins and sign-ups with the service role key.
        login = row("activity_logs", alice, activity_type="login", description="User login")
        insert(conn, "activity_logs", {**login, "metadata": {"via": "password"}})
        signup = row("activity_logs", bob, activity_type="signup", description="User signup")
        insert(conn, "activity_logs", {**signup, "metadata": None})
    with conn.transaction():
        # A row restored with triggers off (pg_restore --disable-triggers): its project is gone.
        conn.execute("set local session_replication_role = replica")
        plant(
            "code_generations_project_id_user_id_fkey",
            insert(conn, "code_generations", row("code_generations", alice, uuid.uuid4())),
        )
    return Filled(alice, bob, carol, alice_project, bob_project, planted)


def checksums(conn: Any) -> dict[str, tuple[int, str]]:
    """Per table: the row count and an md5 over every seed column of every row."""
    found = {}
    for table, columns in SEED_COLUMNS.items():
        count, digest = conn.execute(
            f"select count(*), md5(coalesce(string_agg(row({columns})::text, '|' order by id), '')) "
            f"from public.{table}"
        ).fetchone()
        found[table] = (count, digest)
    return found


def profile_checksum(conn: Any, ids: list[uuid.UUID]) -> str:
    """The md5 over the seed columns of the given profiles."""
    (digest,) = conn.execute(
        f"select md5(coalesce(string_agg(row({SEED_COLUMNS['profiles']})::text, '|' order by id), '')) "
        "from public.profiles where id = any(%s)",
        [ids],
    ).fetchone()
    return str(digest)
