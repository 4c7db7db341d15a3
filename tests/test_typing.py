"""mypy --strict proves what the public surface promises (tests/typing/surface.py)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

SURFACE = Path(__file__).parent / "typing" / "surface.py"
EXPECTED = re.compile(r"#\s*(?P<kind>[NE]):\s*(?P<text>.+)$")


def expectations(path: Path) -> set[tuple[int, str, str]]:
    found = set()
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        match = None if line.lstrip().startswith("#") else EXPECTED.search(line)
        if match:
            kind = "note" if match["kind"] == "N" else "error"
            found.add((number, kind, match["text"].strip()))
    return found


def test_mypy_proves_the_surface_file() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            "--hide-error-context",
            "--no-error-summary",
            "--show-error-codes",
            str(SURFACE),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=Path(__file__).parent.parent,
    )
    seen = set()
    for line in result.stdout.splitlines():
        match = re.match(r".*?:(\d+): (note|error): (.*?)(?:  \[[\w-]+\])?$", line)
        if match and match[2] == "note" and not match[3].startswith("Revealed type"):
            continue  # follow-up notes (possible overload variants)
        if match:
            seen.add((int(match[1]), match[2], match[3].strip()))
    expected = expectations(SURFACE)
    assert expected, "the surface file has no expectations"
    assert seen == expected, result.stdout
