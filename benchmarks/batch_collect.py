"""Groq's Batch API through groqgen: a 1,000-request job end to end, and the memory of
collecting 50,000 results.

The Groq stand-in (``tests/groq_peer.py``, files and batches endpoints) runs in a child
process of its own; every scripted batch completes at its first retrieval, so the times below
are groqgen's own work (building, uploading, downloading, deciding and recording), not Groq's.

1. **A 1,000-request job** of mixed kinds (prompts, code, reviews, tests): ``submit`` then
   ``collect``, wall time of each, on the chosen store; for reference, the same 1,000
   requests through ``AsyncClient.generate.many(concurrency=32)`` against the same stand-in
   answering at once.
2. **Collecting 50,000 results**: a job of ``--results`` requests is submitted, then collected
   in a fresh process that reports its peak RSS (``VmHWM``: ``ru_maxrss`` would carry the
   submitting parent's peak across ``exec`` on Linux); a baseline process opens the
   same client and looks the job up (``batches.get``), which loads everything collecting needs
   but reads no result. The same is measured for a job a tenth the size: constant memory shows
   as the same peak. Target: under 150 MB.

    python benchmarks/batch_collect.py [--results 50000] [--store sqlite|postgres]

``--store postgres`` needs ``groqgen[postgres]`` and a PostgreSQL server
(``GROQGEN_BENCH_SERVER_URL``, default ``postgresql://postgres@127.0.0.1:5432/postgres``) on
which it creates, and afterwards drops, a throwaway database.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

CHILD = """
import json, sys, time
from groqgen import Client
options, job, mode = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
with Client(**options) as client:
    started = time.perf_counter()
    if mode == "collect":
        done = client.batches.collect(job, progress=False)
        recorded, errors = done.recorded, len(done.errors)
    else:
        recorded, errors = client.batches.get(job).recorded, 0
    seconds = time.perf_counter() - started
# VmHWM: this address space's peak. (ru_maxrss would keep the parent's peak across exec.)
with open("/proc/self/status") as status:
    hwm = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
print(json.dumps({"recorded": recorded, "errors": errors, "seconds": seconds,
                  "peak_mb": hwm / 1024}))
"""


def _peer_main(conn: Any) -> None:
    """Child process: serve a GroqPeer until told to stop."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.groq_peer import GroqPeer

    with GroqPeer() as peer:
        conn.send(peer.base_url)
        conn.recv()


@contextlib.contextmanager
def groq_peer() -> Iterator[str]:
    """The stand-in in its own process (it does not compete with groqgen for the GIL)."""
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    process = context.Process(target=_peer_main, args=(theirs,), daemon=True)
    process.start()
    try:
        yield str(ours.recv())
    finally:
        ours.send("stop")
        process.join(10)


def requests(count: int) -> list[dict[str, Any]]:
    """``count`` requests of the four kinds, in turn."""
    code = "def add(a, b):\n    return a + b\n"
    kinds = [
        lambda i: {"kind": "prompt", "topic": f"release notes {i}", "tone": "casual"},
        lambda i: {"kind": "code", "description": f"add {i} numbers", "language": "python"},
        lambda i: {"kind": "review", "code": code + f"# {i}\n", "language": "python"},
        lambda i: {"kind": "tests", "code": code, "language": "python", "framework": "pytest"},
    ]
    return [kinds[i % 4](i) for i in range(count)]


@contextlib.contextmanager
def store(kind: str, home: Path) -> Iterator[dict[str, Any]]:
    """Client options for a fresh store of ``kind``."""
    if kind == "sqlite":
        yield {"home": str(home)}
        return
    from benchmarks._pg import migrated_database, new_user

    with migrated_database("groqgen_bench_batch") as url:
        yield {"home": str(home), "database_url": url, "user_id": str(new_user(url))}


def child(options: dict[str, Any], job: str, mode: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(options), job, mode],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def one_thousand(kind: str, base_url: str) -> None:
    from groqgen import AsyncClient, Client

    with tempfile.TemporaryDirectory() as tmp, store(kind, Path(tmp)) as options:
        options = {**options, "groq_api_key": "gsk_bench", "groq_base_url": base_url}
        with Client(**options) as client:
            started = time.perf_counter()
            job = client.batches.submit(requests(1000))
            submitted = time.perf_counter() - started
            started = time.perf_counter()
            done = client.batches.collect(job.id, progress=False)
            collected = time.perf_counter() - started
            assert (done.recorded, done.errors) == (1000, ()), done.errors[:3]

        async def collect_async() -> float:
            async with AsyncClient(**options) as client:
                job = await client.batches.submit(requests(1000))
                started = time.perf_counter()
                done = await client.batches.collect(job.id, progress=False)
                assert (done.recorded, done.errors) == (1000, ()), done.errors[:3]
                return time.perf_counter() - started

        async def many() -> float:
            async with AsyncClient(**options) as client:
                started = time.perf_counter()
                items = await client.generate.many(requests(1000), concurrency=32, progress=False)
                assert all(item.ok for item in items)
                return time.perf_counter() - started

        collected_async = asyncio.run(collect_async())
        synchronous = asyncio.run(many())
    print(f"1,000-request job on {kind}:")
    print(f"  submit (validate, build, journal, upload, create): {submitted:.2f} s")
    print(f"  collect (download, decide, record 1,000 rows + entries): {collected:.2f} s")
    print(f"  submit + collect: {submitted + collected:.2f} s")
    print(f"  collect with AsyncClient (8 records in flight): {collected_async:.2f} s")
    print(
        f"  for reference, generate.many(concurrency=32), stand-in answering at once: "
        f"{synchronous:.2f} s"
    )


def collect_memory(kind: str, base_url: str, results: int) -> None:
    from groqgen import Client

    print(f"\ncollecting in a fresh process, {kind} (peak RSS):")
    print("| results | baseline peak | collect peak | collect time | rows/s |")
    print("|---|---|---|---|---|")
    for count in (results // 10, results):
        with tempfile.TemporaryDirectory() as tmp, store(kind, Path(tmp)) as options:
            options = {**options, "groq_api_key": "gsk_bench", "groq_base_url": base_url}
            with Client(**options) as client:
                job = str(client.batches.submit(requests(count)).id)
            baseline = child(options, job, "get")
            collected = child(options, job, "collect")
            assert collected["recorded"] == count and collected["errors"] == 0, collected
            rate = count / collected["seconds"]
            print(
                f"| {count:,} | {baseline['peak_mb']:.1f} MB | {collected['peak_mb']:.1f} MB "
                f"| {collected['seconds']:.1f} s | {rate:,.0f} |"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=int, default=50_000)
    parser.add_argument("--store", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args()
    with groq_peer() as base_url:
        one_thousand(args.store, base_url)
        collect_memory(args.store, base_url, args.results)


if __name__ == "__main__":
    main()
