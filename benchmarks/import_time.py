"""How long ``import groqgen`` takes, against the interpreter starting with nothing imported.

Runs ``python -X importtime -c "import groqgen"`` several times in fresh processes and reports
the median cumulative import time of ``groqgen`` (target: under 150 ms), the median wall time
of the whole process against ``python -c pass`` as baseline, and the heavy modules that the
import pulled in (there should be none).

    python benchmarks/import_time.py [--runs 15]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

HEAVY = ("groq", "postgrest", "supabase_auth", "psycopg", "httpx", "pydantic", "sqlite3")


def import_us() -> int:
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import groqgen"],
        check=True,
        capture_output=True,
        text=True,
    )
    for line in out.stderr.splitlines():
        parts = [p.strip() for p in line.split("|")]
        if len(parts) == 3 and parts[2] == "groqgen":
            return int(parts[1])
    raise RuntimeError("groqgen not found in -X importtime output")


def wall_ms(code: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    cumulative = statistics.median(import_us() for _ in range(runs)) / 1000
    baseline = statistics.median(wall_ms("pass") for _ in range(runs))
    with_groqgen = statistics.median(wall_ms("import groqgen") for _ in range(runs))
    probe = f"import sys, groqgen; print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    heavy = subprocess.run(
        [sys.executable, "-c", probe], check=True, capture_output=True, text=True
    ).stdout.split()
    print(
        f"import groqgen (cumulative, -X importtime): {cumulative:.1f} ms   target < 150 ms: "
        f"{'met' if cumulative < 150 else 'MISSED'}"
    )
    print(
        f"process wall time: python -c pass {baseline:.1f} ms, python -c 'import groqgen' {with_groqgen:.1f} ms "
        f"(+{with_groqgen - baseline:.1f} ms, ratio {with_groqgen / baseline:.2f})"
    )
    print(f"heavy modules loaded by the import: {', '.join(heavy) or 'none'}")


if __name__ == "__main__":
    main()
