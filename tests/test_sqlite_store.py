"""The embedded SQLite store: zero set-up, safe with threads and with two processes at once."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from groqgen import AsyncClient, Client

PROMPT = {"topic": "t", "model": "m", "generated_prompt": "p"}


def test_the_store_is_one_file_under_groqgen_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GROQGEN_HOME", str(tmp_path / "home"))
    with Client() as client:
        client.projects.create("P")
    db = tmp_path / "home" / "groqgen.db"
    assert db.exists()
    conn = sqlite3.connect(db)
    assert conn.execute("pragma journal_mode").fetchone() == ("wal",)
    assert conn.execute("pragma user_version").fetchone() == (2,)  # migrations/sqlite/0002
    conn.close()


def test_one_local_profile_is_made_on_first_use_and_kept(tmp_path: Path) -> None:
    with Client(home=tmp_path) as first:
        me = first.profiles.me()
    with Client(home=tmp_path) as again:
        assert again.profiles.me() == me
        assert again.profiles.count() == 1


def test_creating_a_client_touches_no_file(tmp_path: Path) -> None:
    Client(home=tmp_path / "never").close()
    assert not (tmp_path / "never").exists()


WRITER = textwrap.dedent(
    """
    import sys
    from groqgen import Client
    home, label, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with Client(home=home) as client:
        for i in range(n):
            client.prompts.create(topic=f"{label}-{i}", model="m", generated_prompt="p")
            client.activity_logs.log("login", f"{label}-{i}")
    print("done")
    """
)


LABELS = ("cli", "notebook", "script", "server")


def test_processes_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    """Four processes start together on a home with no database yet: they race to create the
    file, its schema and the local profile, then write 100 rows and 100 entries each."""
    n = 100
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(tmp_path), label, str(n)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for label in LABELS
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        assert "locked" not in err
        assert out.strip() == "done"
    with Client(home=tmp_path) as client:
        assert client.profiles.count() == 1
        assert client.prompts.count() == len(LABELS) * n
        assert client.activity_logs.count() == len(LABELS) * n
        topics = {p.topic for p in client.prompts.iter()}
    assert topics == {f"{label}-{i}" for label in LABELS for i in range(n)}


def test_many_threads_share_one_client(tmp_path: Path) -> None:
    errors: list[BaseException] = []
    with Client(home=tmp_path) as client:

        def work(k: int) -> None:
            try:
                for i in range(25):
                    client.prompts.create(topic=f"{k}-{i}", model="m", generated_prompt="p")
                    client.prompts.count()
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert client.prompts.count() == 200


def test_the_async_store_never_blocks_the_event_loop(tmp_path: Path) -> None:
    async def main() -> tuple[float, int]:
        async with AsyncClient(home=tmp_path) as client:
            await client.profiles.me()
            worst = 0.0
            stop = False

            async def heartbeat() -> None:
                nonlocal worst
                while not stop:
                    started = time.perf_counter()
                    await asyncio.sleep(0.001)
                    worst = max(worst, time.perf_counter() - started)

            beat = asyncio.create_task(heartbeat())
            await asyncio.gather(*(client.prompts.create(**PROMPT) for _ in range(100)))
            stop = True
            await beat
            return worst, await client.prompts.count()

    worst, count = asyncio.run(main())
    assert count == 100
    # Each write fsyncs (synchronous=full); run on the loop thread, 100 of them would stall it
    # for far longer than this. Generous bound: the machines are shared.
    assert worst < 0.5


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_the_sync_client_works_inside_a_running_event_loop(
    store: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """As in Jupyter, where a loop is already running in the thread."""
    if store == "postgres":
        import uuid

        import psycopg

        from tests.helpers import new_user

        url = request.getfixturevalue("migrated_url")
        with psycopg.connect(url, autocommit=True) as conn:
            user: uuid.UUID = new_user(conn)
        make = lambda: Client(database_url=url, user_id=user)  # noqa: E731
    else:
        make = lambda: Client(home=tmp_path)  # noqa: E731

    async def notebook_cell() -> int:
        assert asyncio.get_running_loop().is_running()
        with make() as client:
            project = client.projects.create("from a notebook")
            client.prompts.create(**PROMPT, project_id=project.id)
            return client.projects.resource_counts(project.id).prompt_count

    assert asyncio.run(notebook_cell()) == 1
