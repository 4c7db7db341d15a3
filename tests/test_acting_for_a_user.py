"""Acting for a user with the service role stays inside that user.

A backend that serves many users with the service role acts for one of them at a time:
``Client(database_url=..., service=True, user_id=A)`` on PostgreSQL, a service-role key with
``user_id=A`` on Supabase. The service role bypasses row-level security, so the SDK and the SQL
functions scope every operation to A themselves: B's ids answer ``NotFound``, B's rows are
invisible to lists and counts, nothing lands in B's account or B's projects, and a generation
that could not be recorded is refused before Groq is paid. The service role acting for nobody
in particular (the administrator's mode) still sees every user.

The whole A/B matrix runs on PostgreSQL and Supabase, sync and async.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from groqgen import AsyncClient, Client, ConfigurationError, NotFound, PermissionDenied
from groqgen.models import TABLES
from groqgen.stores import ops
from tests.conftest import Blocking, StoreCase
from tests.helpers import new_user
from tests.postgres.samples import ROW_VALUES, insert_row
from tests.test_generator import CALLS
from tests.test_repositories import NEW_ROWS

SERVICE_STORES = ["postgres-sync", "postgres-async", "supabase-sync", "supabase-async"]
PROJECT_TABLES = ["prompts", "code_generations", "code_reviews", "tests", "activity_logs"]
ALL_TABLES = ["profiles", "projects", *PROJECT_TABLES]


@dataclass
class World:
    """User A's service-role client, an administrator's, and rows of A and B made in SQL."""

    kind: str
    a: Any  # the service role acting for A
    admin: Any  # the service role acting for nobody in particular
    user_a: uuid.UUID
    user_b: uuid.UUID
    a_rows: dict[str, uuid.UUID]  # table -> A's row (profiles: A; projects: A's project)
    b_rows: dict[str, uuid.UUID]  # the same for B; B's rows all sit in B's project
    url: str
    loop: asyncio.AbstractEventLoop | None

    def execute(self, op: ops.Operation) -> Any:
        """Hand one operation straight to A's store (what the outbox and generator do)."""
        answer = self.a._store.execute(op)
        if inspect.isawaitable(answer):
            assert self.loop is not None
            return self.loop.run_until_complete(answer)
        return answer

    def snapshot(self, user: uuid.UUID) -> dict[str, list[Any]]:
        """Every row of ``user`` in every table, to show that nothing of theirs changed."""
        with psycopg.connect(self.url) as conn:
            return {
                table: sorted(
                    conn.execute(
                        f"select to_jsonb(t)::text from public.{table} t "
                        f"where {TABLES[table].owner_column} = %s",
                        [user],
                    ).fetchall()
                )
                for table in ALL_TABLES
            }


def _rows_of(conn: Any, user: uuid.UUID) -> dict[str, uuid.UUID]:
    project = insert_row(conn, "projects", user)
    rows = {"profiles": user, "projects": project}
    for table in PROJECT_TABLES:
        rows[table] = insert_row(conn, table, user, project)
    return rows


@pytest.fixture(params=[pytest.param(s, marks=pytest.mark.postgres) for s in SERVICE_STORES])
def world(request: Any, tmp_path: Path, migrated_url: str, groq_peer: Any) -> Iterator[World]:
    kind, flavour = request.param.split("-")
    with psycopg.connect(migrated_url, autocommit=True) as conn:
        user_a, user_b = new_user(conn), new_user(conn)
        a_rows, b_rows = _rows_of(conn, user_a), _rows_of(conn, user_b)
    if kind == "postgres":
        where: dict[str, Any] = {"database_url": migrated_url, "service": True, "pool_size": 2}
    else:
        peer = request.getfixturevalue("supabase_peer")
        where = {"supabase_url": peer.url, "supabase_key": peer.service_key}
    options = {
        "groq_api_key": "gsk_test_key",
        "groq_base_url": groq_peer.base_url,
        "max_retries": 2,
        "timeout": 5,
    }
    loop = asyncio.new_event_loop() if flavour == "async" else None
    factory = AsyncClient if loop else Client
    a = factory(**where, user_id=user_a, home=tmp_path / "a", **options)
    admin = factory(**where, home=tmp_path / "admin", **options)
    clients = [a, admin]
    for client in clients:
        client.generate.policy.base, client.generate.policy.cap = 0.005, 0.02
    try:
        yield World(
            request.param,
            Blocking(a, loop) if loop else a,
            Blocking(admin, loop) if loop else admin,
            user_a,
            user_b,
            a_rows,
            b_rows,
            migrated_url,
            loop,
        )
    finally:
        for client in clients:
            if loop:
                loop.run_until_complete(client.close())
            else:
                client.close()
        if loop:
            loop.close()


# B's rows are out of reach -------------------------------------------------------------------------


@pytest.mark.parametrize("table", ALL_TABLES)
def test_another_users_row_is_not_found_by_get(world: World, table: str) -> None:
    with pytest.raises(NotFound):
        getattr(world.a, table).get(world.b_rows[table])


@pytest.mark.parametrize("table", ALL_TABLES)
def test_another_users_row_is_not_found_by_delete_and_stays(world: World, table: str) -> None:
    before = world.snapshot(world.user_b)
    with pytest.raises(NotFound):
        getattr(world.a, table).delete(world.b_rows[table])
    assert world.snapshot(world.user_b) == before


def test_another_users_project_is_not_found_by_update_and_stays(world: World) -> None:
    before, mine = world.snapshot(world.user_b), world.snapshot(world.user_a)
    with pytest.raises(NotFound):
        world.a.projects.update(world.b_rows["projects"], name="taken over")
    assert world.snapshot(world.user_b) == before
    assert world.snapshot(world.user_a) == mine  # no project_updated entry for A either


def test_another_users_profile_is_out_of_reach_of_update_me(world: World) -> None:
    before = world.snapshot(world.user_b)
    assert world.a.profiles.update_me(full_name="A").id == world.user_a
    assert world.snapshot(world.user_b) == before


def test_another_users_project_counts_are_not_found(world: World) -> None:
    with pytest.raises(NotFound):
        world.a.projects.resource_counts(world.b_rows["projects"])


@pytest.mark.parametrize("table", ALL_TABLES)
def test_list_iter_and_count_show_only_the_acting_users_rows(world: World, table: str) -> None:
    repo = getattr(world.a, table)
    mine = world.a_rows[table]
    assert [row.id for row in repo.list(limit=1000).items] == [mine]
    assert [row.id for row in repo.iter()] == [mine]
    assert repo.count() == 1


@pytest.mark.parametrize("table", PROJECT_TABLES)
def test_another_users_project_is_empty_to_list_iter_and_count(world: World, table: str) -> None:
    repo = getattr(world.a, table)
    theirs = world.b_rows["projects"]
    assert repo.list(project_id=theirs).items == []
    assert list(repo.iter(project_id=theirs)) == []
    assert repo.count(project_id=theirs) == 0


# Nothing is written into B's account or B's projects -------------------------------------------------


@pytest.mark.parametrize("table", list(NEW_ROWS))
def test_a_row_in_another_users_project_is_refused(world: World, table: str) -> None:
    before = world.snapshot(world.user_b)
    with pytest.raises(PermissionDenied, match="project"):
        getattr(world.a, table).create(**NEW_ROWS[table], project_id=world.b_rows["projects"])
    assert world.snapshot(world.user_b) == before


def test_an_activity_entry_in_another_users_project_is_refused(world: World) -> None:
    before = world.snapshot(world.user_b)
    with pytest.raises(PermissionDenied, match="project"):
        world.a.activity_logs.log("login", "x", project_id=world.b_rows["projects"])
    assert world.snapshot(world.user_b) == before


@pytest.mark.parametrize("kind", list(CALLS))
def test_a_generation_into_another_users_project_is_refused_before_groq(
    world: World, groq_peer: Any, kind: str
) -> None:
    name, inputs = CALLS[kind]
    first, *_ = inputs.values()
    rest = dict(list(inputs.items())[1:])
    with pytest.raises(PermissionDenied, match="nothing was sent"):
        getattr(world.a.generate, name)(first, **rest, project_id=world.b_rows["projects"])
    assert groq_peer.requests == []
    assert world.a.outbox.pending() == []


def _record(row_id: uuid.UUID, **values: Any) -> ops.Record:
    return ops.Record(
        "prompts", {"id": row_id, **ROW_VALUES["prompts"], **values}, {"description": "d"}
    )


def test_a_record_for_another_user_is_refused(world: World) -> None:
    before = world.snapshot(world.user_b)
    with pytest.raises(PermissionDenied):
        world.execute(_record(uuid.uuid4(), user_id=world.user_b))
    assert world.snapshot(world.user_b) == before


def test_a_record_under_another_users_row_id_is_refused_not_answered(world: World) -> None:
    # A retried record answers the row stored first, but only if it is the acting user's.
    before = world.snapshot(world.user_b)
    with pytest.raises(PermissionDenied, match="another user"):
        world.execute(_record(world.b_rows["prompts"]))
    assert world.snapshot(world.user_b) == before


def test_a_plain_insert_for_another_user_is_refused(world: World) -> None:
    with pytest.raises(PermissionDenied):
        world.execute(
            ops.Insert(
                "prompts", {"id": uuid.uuid4(), **NEW_ROWS["prompts"], "user_id": world.user_b}
            )
        )


# A's own work goes through, as A's ------------------------------------------------------------------


def test_rows_created_are_the_acting_users(world: World) -> None:
    a = world.a
    project = a.projects.create("Server-side")
    prompt = a.prompts.create(**NEW_ROWS["prompts"], project_id=project.id)
    entry = a.activity_logs.log("login", "signed in", project_id=project.id)
    assert {project.user_id, prompt.user_id, entry.user_id} == {world.user_a}
    with psycopg.connect(world.url) as conn:
        (owners,) = conn.execute(
            "select array_agg(distinct user_id) from activity_logs where project_id = %s",
            [project.id],
        ).fetchone()
    assert owners == [world.user_a]  # project_created too


def test_a_generation_is_recorded_for_the_acting_user(world: World, groq_peer: Any) -> None:
    project = world.a_rows["projects"]
    stored = world.a.generate.prompt("release notes", project_id=project)
    assert (stored.user_id, stored.project_id) == (world.user_a, project)
    assert len(groq_peer.requests) == 1
    entry = world.a.activity_logs.get(stored.id)
    assert (entry.user_id, entry.activity_type) == (world.user_a, "prompt_generation")


def test_the_acting_users_project_is_updated_counted_and_deleted(world: World) -> None:
    a = world.a
    project = world.a_rows["projects"]
    assert a.projects.update(project, name="Renamed").name == "Renamed"
    counts = a.projects.resource_counts(project)
    assert (counts.prompt_count, counts.code_generation_count) == (1, 1)
    assert (counts.code_review_count, counts.test_count) == (1, 1)
    a.projects.delete(project)
    with pytest.raises(NotFound):
        a.projects.get(project)
    assert a.prompts.get(world.a_rows["prompts"]).project_id is None  # the rows stay


def test_a_retried_record_of_the_acting_user_answers_the_first_row(world: World) -> None:
    row_id = uuid.uuid4()
    first = world.execute(_record(row_id, topic="first"))
    again = world.execute(_record(row_id, topic="again"))
    assert again["topic"] == first["topic"] == "first"
    assert str(again["user_id"]) == str(world.user_a)


# The service role for nobody in particular sees everyone ------------------------------------------


def test_the_service_role_for_nobody_sees_every_user(world: World) -> None:
    admin = world.admin
    for rows in (world.a_rows, world.b_rows):
        for table in ALL_TABLES:
            assert getattr(admin, table).get(rows[table]).id == rows[table]
        assert admin.prompts.count(project_id=rows["projects"]) == 1
        assert admin.projects.resource_counts(rows["projects"]).prompt_count == 1


def test_the_service_role_for_nobody_may_change_any_project(world: World) -> None:
    theirs = world.b_rows["projects"]
    assert world.admin.projects.update(theirs, name="moderated").user_id == world.user_b
    world.admin.projects.delete(theirs)
    with pytest.raises(NotFound):
        world.admin.projects.get(theirs)


# Every store: a project that is not the caller's has no counts ---------------------------------------


def test_resource_counts_of_an_unknown_project_is_not_found(store_case: StoreCase) -> None:
    with pytest.raises(NotFound, match="Project"):
        store_case.client.projects.resource_counts(uuid.uuid4())


# The Supabase requests: who acts is spelled out to the functions ------------------------------------

URL = "https://abcdefgh.supabase.co"
USER = uuid.UUID("5f2b8c1e-7d3a-4e6b-9c0d-1a2b3c4d5e6f")
PROJECT = {
    "id": str(uuid.uuid4()),
    "name": "Launch",
    "description": None,
    "user_id": str(USER),
    "created_at": "2026-11-26T01:02:03+00:00",
    "updated_at": "2026-11-26T01:02:03+00:00",
}
COUNTS = {"prompt_count": 0, "code_generation_count": 0, "code_review_count": 0, "test_count": 0}
RPCS = [
    ("create_project", lambda c: c.projects.create("Launch")),
    ("update_project", lambda c: c.projects.update(PROJECT["id"], name="New")),
    ("delete_project", lambda c: c.projects.delete(PROJECT["id"])),
    ("resource_counts", lambda c: c.projects.resource_counts(PROJECT["id"])),
    ("record_generation", lambda c: c._store.execute(_record(uuid.uuid4()))),
]


def _service_key() -> str:
    from tests.test_supabase_requests import SERVICE_KEY

    return SERVICE_KEY


@pytest.fixture
def sent(tmp_path: Path) -> Iterator[tuple[Client, list[httpx.Request]]]:
    requests: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        name = request.url.path.rsplit("/", 1)[-1]
        if "/rpc/" not in request.url.path:  # no row of the acting user's matched
            return httpx.Response(200, json=[], headers={"content-range": "*/0"})
        if name == "resource_counts":
            return httpx.Response(200, json=[COUNTS])
        if name == "record_generation":
            body = json.loads(request.content)
            return httpx.Response(200, json={**body["record"], "created_at": PROJECT["created_at"]})
        return httpx.Response(200, json=PROJECT)

    http = httpx.Client(transport=httpx.MockTransport(answer))
    with Client(
        supabase_url=URL, supabase_key=_service_key(), user_id=USER, home=tmp_path, http_client=http
    ) as client:
        yield client, requests


@pytest.mark.parametrize(("function", "call"), RPCS, ids=[name for name, _ in RPCS])
def test_with_the_service_key_every_function_is_told_who_acts(
    sent: tuple[Client, list[httpx.Request]], function: str, call: Any
) -> None:
    client, requests = sent
    call(client)
    (request,) = requests
    assert request.url.path == f"/rest/v1/rpc/{function}"
    assert json.loads(request.content)["acting_user"] == str(USER)


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.prompts.get(uuid.uuid4()),
        lambda c: c.prompts.list(),
        lambda c: c.prompts.count(),
        lambda c: c.prompts.delete(uuid.uuid4()),
        lambda c: c.profiles.update_me(full_name="A"),
    ],
    ids=["get", "list", "count", "delete", "update_me"],
)
def test_with_the_service_key_every_table_request_names_the_acting_user(
    sent: tuple[Client, list[httpx.Request]], call: Any
) -> None:
    client, requests = sent
    with contextlib.suppress(NotFound):
        call(client)
    (request,) = requests
    query = dict(httpx.QueryParams(request.url.query))
    owner = "id" if request.url.path.endswith("/profiles") else "user_id"
    assert query[owner] == f"eq.{USER}"


def test_the_service_role_for_nobody_has_no_profile_of_its_own(world: World) -> None:
    before = world.snapshot(world.user_b)
    with pytest.raises(ConfigurationError, match="user_id"):
        world.admin.profiles.me()
    with pytest.raises(ConfigurationError, match="user_id"):
        world.admin.profiles.update_me(full_name="everyone")
    assert world.snapshot(world.user_b) == before
