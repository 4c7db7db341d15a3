"""A collecting process killed half-way (SIGKILL), then a new process collects the job again.

The child kills itself right after the store has committed its 500th record and before the
job's journal notes it: the worst moment, which a crash at random would hit only sometimes.
The next process must end with exactly one row and one activity entry per request.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from groqgen import Client
from tests.groq_peer import GroqPeer
from tests.test_batches import TABLE_OF, mixed

CHILD = r"""
import asyncio, json, os, signal, sys

from groqgen import AsyncClient, Client
from groqgen import outbox

options = json.loads(sys.argv[1])
job, flavour, kill_after = options.pop("job"), options.pop("flavour"), options.pop("kill_after")
written = 0


def count() -> None:
    global written
    written += 1
    if written == kill_after:  # committed in the store, not yet noted in the journal
        os.kill(os.getpid(), signal.SIGKILL)


if flavour == "sync":
    write = outbox.Recorder.write

    def counted(self, record, watch=None):
        row = write(self, record, watch)
        count()
        return row

    outbox.Recorder.write = counted
    with Client(**options) as client:
        done = client.batches.collect(job)
else:
    write_async = outbox.AsyncRecorder.write

    async def counted_async(self, record, watch=None):
        row = await write_async(self, record, watch)
        count()
        return row

    outbox.AsyncRecorder.write = counted_async

    async def main():
        async with AsyncClient(**options) as client:
            return await client.batches.collect(job)

    done = asyncio.run(main())
print(json.dumps({"newly": done.newly_recorded, "recorded": done.recorded}))
"""


def collect_in_a_new_process(options: dict[str, Any], kill_after: int = 0) -> Any:
    return subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps({**options, "kill_after": kill_after})],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def rows(client: Client) -> int:
    return sum(getattr(client, table).count() for table in TABLE_OF.values())


def batch_entries(client: Client) -> int:
    return sum(1 for e in client.activity_logs.iter() if e.metadata.get("batch") is True)


@pytest.mark.parametrize("flavour", ["sync", "async"])
@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_a_collect_killed_half_way_then_run_again_records_each_generation_once(
    store: str, flavour: str, tmp_path: Path, groq_peer: GroqPeer, request: Any
) -> None:
    options: dict[str, Any] = {
        "home": str(tmp_path),
        "groq_api_key": "gsk_test_key",
        "groq_base_url": groq_peer.base_url,
    }
    if store == "postgres":
        import psycopg

        from tests.helpers import new_user

        url = request.getfixturevalue("migrated_url")
        with psycopg.connect(url, autocommit=True) as conn:
            options.update(database_url=url, user_id=str(new_user(conn)))
    with Client(**options) as client:
        job = client.batches.submit(mixed(1000))

        killed = collect_in_a_new_process(
            {**options, "job": str(job.id), "flavour": flavour}, kill_after=500
        )
        assert killed.returncode == -signal.SIGKILL, killed.stderr
        half = rows(client)
        assert 500 <= half < 1000  # async: a few more may have been in flight

        again = collect_in_a_new_process({**options, "job": str(job.id), "flavour": flavour})
        assert again.returncode == 0, again.stderr
        assert json.loads(again.stdout)["recorded"] == 1000

        assert (rows(client), batch_entries(client)) == (1000, 1000)
        twice = client.batches.collect(job.id)
        assert (twice.newly_recorded, twice.recorded, twice.errors) == (0, 1000, ())
        assert (rows(client), batch_entries(client)) == (1000, 1000)
