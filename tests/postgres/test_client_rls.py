"""Row-level security through the SDK: user A never reaches user B's rows."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from groqgen import AsyncClient, Client, ConfigurationError, NotFound, PermissionDenied
from tests.helpers import new_user

PROMPT = {"topic": "t", "model": "m", "generated_prompt": "p"}


@pytest.fixture
def clients(migrated_url: str) -> Iterator[tuple[Client, Client, Client]]:
    with psycopg.connect(migrated_url, autocommit=True) as conn:
        a, b = new_user(conn), new_user(conn)
    with (
        Client(database_url=migrated_url, user_id=a, pool_size=1) as alice,
        Client(database_url=migrated_url, user_id=b, pool_size=1) as bob,
        Client(database_url=migrated_url, service=True, pool_size=1) as service,
    ):
        yield alice, bob, service


def test_a_user_cannot_reach_another_users_rows(clients: tuple[Client, Client, Client]) -> None:
    alice, bob, _ = clients
    project = bob.projects.create("Bob's")
    prompt = bob.prompts.create(**PROMPT, project_id=project.id)
    for repo, row_id in ((alice.prompts, prompt.id), (alice.projects, project.id)):
        with pytest.raises(NotFound):
            repo.get(row_id)
        with pytest.raises(NotFound):
            repo.delete(row_id)
    with pytest.raises(NotFound):
        alice.projects.update(project.id, name="mine now")
    assert alice.prompts.list().items == []
    assert list(alice.prompts.iter()) == []
    assert alice.prompts.count() == 0
    assert alice.prompts.count(project_id=project.id) == 0
    assert alice.projects.count() == 0
    with pytest.raises(NotFound):
        alice.projects.resource_counts(project.id)
    assert bob.prompts.get(prompt.id) == prompt  # untouched
    assert bob.projects.get(project.id).name == "Bob's"


def test_attaching_a_row_to_another_users_project_is_refused(
    clients: tuple[Client, Client, Client],
) -> None:
    alice, bob, _ = clients
    theirs = bob.projects.create("Bob's")
    with pytest.raises(PermissionDenied, match="project"):
        alice.prompts.create(**PROMPT, project_id=theirs.id)
    with pytest.raises(PermissionDenied):
        alice.activity_logs.log("login", "x", project_id=theirs.id)


def test_the_service_client_sees_every_user(clients: tuple[Client, Client, Client]) -> None:
    alice, bob, service = clients
    a = alice.prompts.create(**PROMPT)
    b = bob.prompts.create(**PROMPT)
    assert service.prompts.get(a.id) == a
    assert service.prompts.get(b.id) == b
    seen = {row.id for row in service.prompts.iter()}
    assert {a.id, b.id} <= seen


def test_a_service_client_without_a_user_cannot_create_rows(
    clients: tuple[Client, Client, Client],
) -> None:
    *_, service = clients
    with pytest.raises(ConfigurationError, match="user_id"):
        service.projects.create("orphan")


def test_a_service_client_with_a_user_writes_for_that_user(migrated_url: str) -> None:
    with psycopg.connect(migrated_url, autocommit=True) as conn:
        user = new_user(conn)
    with Client(database_url=migrated_url, service=True, user_id=user) as service:
        project = service.projects.create("Server-side")
        assert project.user_id == user
        assert service.profiles.me().id == user


def test_a_user_that_does_not_exist_sees_nothing_and_writes_nothing(migrated_url: str) -> None:
    with Client(database_url=migrated_url, user_id=uuid.uuid4()) as ghost:
        assert ghost.prompts.count() == 0
        with pytest.raises(NotFound):
            ghost.profiles.me()
        with pytest.raises(PermissionDenied):
            ghost.projects.create("x")


@pytest.mark.parametrize(
    ("kwargs", "setting"),
    [
        ({"database_url": "postgresql://[broken", "user_id": uuid.uuid4()}, "GROQGEN_DATABASE_URL"),
        ({"database_url": "postgresql://postgres@127.0.0.1/postgres"}, "user_id"),
        ({"database_url": "postgresql://postgres@127.0.0.1/postgres", "user_id": "bob"}, "user_id"),
    ],
)
def test_misconfiguration_is_reported_when_the_client_is_made(
    kwargs: dict[str, Any], setting: str
) -> None:
    with pytest.raises(ConfigurationError) as info:
        Client(**kwargs)
    assert info.value.setting == setting


@pytest.mark.parametrize("factory", [Client, AsyncClient])
def test_an_unreachable_server_is_a_configuration_error(factory: Any) -> None:
    client = factory(database_url="postgresql://postgres@127.0.0.1:1/x", user_id=uuid.uuid4())

    async def use_async() -> None:
        await client.prompts.count()

    with pytest.raises(ConfigurationError, match="cannot connect") as info:
        if factory is Client:
            client.prompts.count()
        else:
            asyncio.run(use_async())
    assert info.value.setting == "GROQGEN_DATABASE_URL"


def test_a_missing_driver_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "psycopg", None)
    with pytest.raises(ConfigurationError, match=r"groqgen\[postgres\]"):
        Client(database_url="postgresql://postgres@127.0.0.1/x", user_id=uuid.uuid4())


def test_the_url_password_never_shows(migrated_url: str) -> None:
    url = "postgresql://postgres:hunter2@127.0.0.1:5432/x"
    client = Client(database_url=url, user_id=uuid.uuid4())
    assert "hunter2" not in repr(client)
    assert "hunter2" not in repr(client.settings)
    assert "hunter2" not in repr(client._store)


def test_concurrent_first_calls_open_one_pool(
    migrated_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import psycopg_pool

    made: list[object] = []

    class CountingPool(psycopg_pool.AsyncConnectionPool):  # type: ignore[type-arg]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            made.append(self)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(psycopg_pool, "AsyncConnectionPool", CountingPool)
    with psycopg.connect(migrated_url, autocommit=True) as conn:
        user = new_user(conn)

    async def main() -> None:
        async with AsyncClient(database_url=migrated_url, user_id=user, pool_size=3) as client:
            await asyncio.gather(*(client.prompts.count() for _ in range(40)))

    asyncio.run(main())
    assert len(made) == 1
