"""Peak memory of ``repository.iter()`` over 100,000 prompts, on SQLite and PostgreSQL.

Each measurement runs in a fresh subprocess and reports its peak RSS (``ru_maxrss``): once for
a baseline that only imports groqgen and opens the client, once for iterating every row. The
difference is what iterating costs; the target is a peak under 80 MB.

    python benchmarks/iter_memory.py [--rows 100000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

CHILD = """
import json, resource, sys, time, uuid
from groqgen import Client
kind, target, mode, user = sys.argv[1:5]
kwargs = {"home": target} if kind == "sqlite" else {"database_url": target, "user_id": uuid.UUID(user)}
with Client(**kwargs) as client:
    client.prompts.count()
    started = time.perf_counter()
    n = 0
    if mode == "iterate":
        for prompt in client.prompts.iter():
            n += 1
    elapsed = time.perf_counter() - started
print(json.dumps({"rows": n, "seconds": elapsed,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

TEXT = "x" * 400  # a realistic generated prompt is a few hundred characters


def fill_sqlite(home: Path, rows: int) -> str:
    from groqgen import Client

    with Client(home=home) as client:
        me = client.profiles.me().id
    import sqlite3

    conn = sqlite3.connect(home / "groqgen.db")
    with conn:
        conn.execute(
            "insert into prompts (id, topic, prompt_type, tone, length, model, generated_prompt, user_id, created_at) "
            "with recursive series(value) as (select 1 union all select value + 1 from series where value < ?) "
            "select lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-a' "
            "|| substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))), 'topic ' || value, 'writing', 'casual', 50, "
            "'m', ?, ?, strftime('%Y-%m-%dT%H:%M:%f000+00:00', 'now', '-' || value || ' seconds') "
            "from series",
            [rows, TEXT, str(me)],
        )
    conn.close()
    return str(me)


def fill_postgres(url: str, user: str, rows: int) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "insert into prompts (topic, prompt_type, tone, length, model, generated_prompt, user_id, created_at) "
            "select 'topic ' || g, 'writing', 'casual', 50, 'm', %s, %s, now() - g * interval '1 second' "
            "from generate_series(1, %s) g",
            [TEXT, user, rows],
        )
        conn.execute("vacuum analyze prompts")


def run(kind: str, target: str, mode: str, user: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, kind, target, mode, user],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def report(kind: str, target: str, user: str) -> None:
    base = run(kind, target, "baseline", user)
    it = run(kind, target, "iterate", user)
    print(
        f"{kind:9} rows={it['rows']:>7}  baseline peak {base['peak_mb']:6.1f} MB  "
        f"iter peak {it['peak_mb']:6.1f} MB  (+{it['peak_mb'] - base['peak_mb']:.1f} MB)  "
        f"{it['seconds']:.2f} s, {it['rows'] / it['seconds']:,.0f} rows/s  target < 80 MB: "
        f"{'met' if it['peak_mb'] < 80 else 'MISSED'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as home:
        me = fill_sqlite(Path(home), args.rows)
        report("sqlite", home, me)
    from benchmarks._pg import migrated_database, new_user

    with migrated_database("groqgen_bench_iter") as url:
        user = new_user(url)
        fill_postgres(url, str(user), args.rows)
        report("postgres", url, str(user))
    print(f"(total {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
