"""Through a transaction-mode pooler (PgBouncer), as with Supabase's pooler.

Server connections are handed from one client transaction to the next, so nothing may rely on
session state: if a role or JWT claim leaked out of a transaction, or a prepared statement were
expected to survive, another user's transaction on the same server connection would show it.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from groqgen import AsyncClient, Client
from tests.helpers import new_user

PROMPT = {"topic": "t", "model": "m", "generated_prompt": "p"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def pooled_url(migrated_url: str) -> Iterator[str]:
    binary = shutil.which("pgbouncer") or (
        "/usr/sbin/pgbouncer" if os.path.exists("/usr/sbin/pgbouncer") else None
    )
    if binary is None:
        reason = "pgbouncer is not installed (apt-get install pgbouncer)"
        if os.environ.get("GROQGEN_REQUIRE_PGBOUNCER") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    target = conninfo_to_dict(migrated_url)
    port = _free_port()
    folder = Path(tempfile.mkdtemp(prefix="groqgen-pgbouncer-"))
    folder.chmod(0o777)
    config = folder / "pgbouncer.ini"
    config.write_text(
        "[databases]\n"
        f"* = host={target.get('host', '127.0.0.1')} port={target.get('port', 5432)} "
        f"user={target.get('user', 'postgres')}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        "auth_type = any\npool_mode = transaction\ndefault_pool_size = 2\n"
        "max_client_conn = 100\nserver_reset_query =\n"
        f"logfile = {folder}/pgbouncer.log\npidfile = {folder}/pgbouncer.pid\n"
    )
    config.chmod(0o644)
    command = [binary, str(config)]
    if os.geteuid() == 0:  # pgbouncer refuses to run as root
        command = [binary, "-u", "postgres", str(config)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = make_conninfo(migrated_url, host="127.0.0.1", port=str(port))
    deadline = time.monotonic() + 10
    while True:
        try:
            psycopg.connect(url, connect_timeout=2).close()
            break
        except psycopg.OperationalError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise
            time.sleep(0.1)
    yield url
    proc.terminate()
    proc.wait(timeout=10)
    if not os.environ.get("GROQGEN_KEEP_PGBOUNCER"):
        shutil.rmtree(folder, ignore_errors=True)


def test_two_users_interleaved_through_a_transaction_pooler(
    pooled_url: str, migrated_url: str
) -> None:
    with psycopg.connect(migrated_url, autocommit=True) as conn:
        users = [new_user(conn), new_user(conn)]
    clients = [Client(database_url=pooled_url, user_id=u, pool_size=4) for u in users]
    try:
        for round_ in range(30):
            for k, client in enumerate(clients):
                client.prompts.create(**{**PROMPT, "topic": f"user{k}-{round_}"})
                assert client.prompts.count() == round_ + 1
                assert {p.topic.split("-")[0] for p in client.prompts.list(limit=100)} == {
                    f"user{k}"
                }
        project = clients[0].projects.create("pooled")
        assert clients[0].projects.resource_counts(project.id).prompt_count == 0
        assert clients[1].projects.count() == 0
    finally:
        for client in clients:
            client.close()


def test_concurrent_async_clients_through_a_transaction_pooler(
    pooled_url: str, migrated_url: str
) -> None:
    with psycopg.connect(migrated_url, autocommit=True) as conn:
        users = [new_user(conn) for _ in range(3)]

    async def main() -> list[int]:
        clients = [AsyncClient(database_url=pooled_url, user_id=u, pool_size=4) for u in users]
        try:
            await asyncio.gather(
                *(
                    c.prompts.create(**{**PROMPT, "topic": f"{i}"})
                    for i, c in enumerate(clients)
                    for _ in range(20)
                )
            )
            return [await c.prompts.count() for c in clients]
        finally:
            for c in clients:
                await c.close()

    assert asyncio.run(main()) == [20, 20, 20]
