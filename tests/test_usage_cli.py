"""``groqgen usage``: the table with totals, ``--json``, ``--csv`` and ``--plot``.

In-process through ``groqgen.cli.main`` on an embedded store under a temporary home, with the
data set of ``tests/test_usage.py`` and "now" frozen where ``--since 30d`` is computed.
"""

from __future__ import annotations

import csv
import io
import json
import struct
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from groqgen import Client, _usage_commands
from groqgen.cli import EXIT_OK, EXIT_USAGE, main
from tests.conftest import _sqlite_raw
from tests.test_usage import BIG, RETIRED, SMALL, data_set

NOW = datetime(2026, 11, 3, 12, 0, tzinfo=timezone.utc)


@dataclass
class Run:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Any:
    """``groqgen ARGV...`` on a home holding the data set, with now frozen at ``NOW``."""
    home = tmp_path / "home"
    monkeypatch.setenv("GROQGEN_HOME", str(home))
    monkeypatch.setattr(_usage_commands, "now", lambda: NOW)
    with Client(home=home) as client:
        _sqlite_raw(home / "groqgen.db")("activity_logs", data_set(client.profiles.me().id))

    def run(*argv: str) -> Run:
        capsys.readouterr()
        code = main(list(argv))
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


def test_usage_prints_a_table_with_totals(cli: Any) -> None:
    run = cli("usage", "--tz", "America/New_York")  # the last 30 days of NOW: from 10-05
    assert run.code == EXIT_OK, run.err
    lines = run.out.splitlines()
    assert lines[0].split()[:3] == ["DAY", "MODEL", "GENERATIONS"]
    assert [line.split()[:3] for line in lines[1:-1]] == [
        ["2026-10-20", BIG, "1"],
        ["2026-10-31", BIG, "2"],
        ["2026-11-01", RETIRED, "1"],
        ["2026-11-01", BIG, "1"],
        ["2026-11-01", SMALL, "2"],
        ["2026-11-02", "?", "1"],
    ]
    assert lines[-1].split()[:2] == ["TOTAL", "8"]
    assert lines[-1].split()[-1] == "?"  # the total cost is unknown, not zero
    assert "their cost is unknown" in run.err and "groq-2026-09" in run.err


def test_usage_json_is_one_object_with_rows_totals_and_prices(cli: Any) -> None:
    run = cli(
        "usage",
        "--since",
        "2026-10-31",
        "--until",
        "2026-11-02",
        "--by",
        "kind",
        "--tz",
        "America/New_York",
        "--json",
    )
    assert run.code == EXIT_OK, run.err
    report = json.loads(run.out)
    assert set(report) >= {"rows", "totals", "prices"}
    assert [(r["kind"], r["generations"]) for r in report["rows"]] == [
        ("code", 1),
        ("prompt", 4),
        ("review", 1),
        ("tests", 1),
    ]
    code = report["rows"][0]
    assert (code["prompt_tokens"], code["completion_tokens"], code["total_tokens"]) == (
        500,
        500,
        1000,
    )
    assert code["cost_usd"] == pytest.approx(0.000375)
    prompt = report["rows"][1]
    assert (prompt["prompt_tokens"], prompt["cost_usd"]) == (None, None)
    assert report["totals"]["generations"] == 7 and report["totals"]["cost_usd"] is None
    assert report["prices"]["name"] == "groq-2026-09" and report["prices"]["as_of"] == "2026-09-01"


def test_usage_csv_has_one_line_per_row(cli: Any) -> None:
    run = cli(
        "usage", "--since", "2026-10-31", "--until", "2026-11-02", "--by", "model,day", "--csv"
    )
    assert run.code == EXIT_OK, run.err
    rows = list(csv.DictReader(io.StringIO(run.out)))
    assert list(rows[0])[:3] == ["model", "day", "generations"]
    assert sum(int(r["generations"]) for r in rows) == 7
    retired = next(r for r in rows if r["model"] == RETIRED)
    assert (retired["prompt_tokens"], retired["cost_usd"]) == ("", "")


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_usage_plot_draws_a_chart(cli: Any, tmp_path: Path, suffix: str) -> None:
    target = tmp_path / f"cost{suffix}"
    run = cli("usage", "--since", "2026-10-31", "--until", "2026-11-02", "--plot", str(target))
    assert run.code == EXIT_OK, run.err
    data = target.read_bytes()
    assert len(data) > 5_000
    if suffix == ".png":
        assert _png_size(data) == (1000, 500)
    else:
        root = ET.fromstring(data)
        assert root.tag.endswith("svg")
        assert (root.get("width"), root.get("height")) == ("720pt", "360pt")
        assert b"openai/gpt-oss-120b" in data  # the legend names the models
    assert f"drew cost per day into {target}" in run.err


def test_usage_plot_without_matplotlib_says_which_extra_to_install(
    cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    run = cli("usage", "--plot", str(tmp_path / "cost.png"))
    assert run.code == EXIT_USAGE
    assert run.err.strip() == (
        "groqgen: error: --plot needs matplotlib: pip install 'groqgen[plot]'"
    )
    assert not (tmp_path / "cost.png").exists()


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (("--by", "week"), "--by"),
        (("--since", "last tuesday"), "--since"),
        (("--tz", "Mars/Olympus"), "--tz"),
        (("--plot", "cost.pdf"), "--plot"),
        (("--csv", "--json"), "--csv"),
    ],
)
def test_usage_bad_input_exits_2_naming_the_flag(
    cli: Any, argv: tuple[str, ...], named: str
) -> None:
    run = cli("usage", *argv)
    assert run.code == EXIT_USAGE
    assert run.err.startswith("groqgen: error: ") and named in run.err


def test_usage_on_a_terminal_with_rich_draws_a_bar_per_row(
    cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # a wide terminal
    run = cli(
        "usage",
        "--since",
        "2026-10-31",
        "--until",
        "2026-11-02",
        "--tz",
        "America/New_York",
        "--color",
        "always",
    )
    assert run.code == EXIT_OK, run.err
    lines = [line for line in run.out.splitlines() if "2026-1" in line]
    assert len(lines) == 5 and "TOTAL" in run.out
    longest = max(lines, key=lambda line: line.count("█"))
    assert "2026-10-31" in longest  # the costliest row has the longest bar
    assert len([line for line in lines if "█" not in line]) == 3  # unknown cost: no bar
