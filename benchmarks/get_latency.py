"""``client.prompts.get`` on PostgreSQL under row-level security, against raw psycopg.

Both sides do the same work per call: take a pooled connection, open a transaction, set the
role and JWT claims (as PostgREST does), select one prompt by id, commit. The baseline is
hand-written psycopg with a ``psycopg_pool.ConnectionPool`` and the same one-round-trip
pipeline; groqgen adds validation, plan compilation and the pydantic row model. A second
baseline, a bare ``select`` as superuser without row-level security, shows the floor.
Target: groqgen at most 1.3x the RLS baseline.

    python benchmarks/get_latency.py [--calls 3000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def timed(call: Callable[[], object], n: int) -> list[float]:
    for _ in range(200):
        call()
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1e6)
    return samples


def main() -> None:
    import psycopg
    from psycopg.rows import dict_row
    from psycopg_pool import ConnectionPool

    from benchmarks._pg import migrated_database, new_user
    from groqgen import Client

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=3000)
    n = parser.parse_args().calls

    with migrated_database("groqgen_bench_get") as url:
        user = new_user(url)
        with Client(database_url=url, user_id=user, pool_size=1) as client:
            prompt = client.prompts.create(topic="t", model="m", generated_prompt="p" * 300)
            claims = json.dumps({"sub": str(user), "role": "authenticated"})
            pool = ConnectionPool(
                url,
                min_size=1,
                max_size=1,
                open=True,
                kwargs={"autocommit": True, "prepare_threshold": None, "row_factory": dict_row},
            )

            def raw_rls() -> object:
                with pool.connection() as conn:
                    with conn.pipeline():
                        conn.execute("begin")
                        conn.execute(
                            "select set_config('role', 'authenticated', true), "
                            "set_config('request.jwt.claims', %s, true)",
                            [claims],
                        )
                        cur = conn.execute("select * from prompts where id = %s", [prompt.id])
                        conn.execute("commit")
                    return cur.fetchone()

            bare = psycopg.connect(
                url, autocommit=True, prepare_threshold=None, row_factory=dict_row
            )

            def raw_bare() -> object:
                return bare.execute("select * from prompts where id = %s", [prompt.id]).fetchone()

            def groqgen_get() -> object:
                return client.prompts.get(prompt.id)

            # Interleave the three so that machine noise hits them alike.
            results: dict[str, list[float]] = {
                "raw psycopg, bare select": [],
                "raw psycopg, RLS": [],
                "groqgen prompts.get": [],
            }
            for _ in range(3):
                results["raw psycopg, bare select"] += timed(raw_bare, n // 3)
                results["raw psycopg, RLS"] += timed(raw_rls, n // 3)
                results["groqgen prompts.get"] += timed(groqgen_get, n // 3)
            pool.close()
            bare.close()
    medians = {k: statistics.median(v) for k, v in results.items()}
    for name, samples in results.items():
        p95 = statistics.quantiles(samples, n=20)[-1]
        print(f"{name:28} median {medians[name]:7.1f} us   p95 {p95:7.1f} us")
    ratio = medians["groqgen prompts.get"] / medians["raw psycopg, RLS"]
    print(
        f"ratio groqgen / raw psycopg (same RLS transaction): {ratio:.2f}   target <= 1.3: "
        f"{'met' if ratio <= 1.3 else 'MISSED'}"
    )
    print(f"({n} calls each; PostgreSQL on localhost; id {uuid.UUID(str(prompt.id))})")


if __name__ == "__main__":
    main()
