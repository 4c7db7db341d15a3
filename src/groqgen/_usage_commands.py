"""``groqgen usage``: generations, tokens and cost per day, model, kind and project.

One call of ``client.usage`` (:mod:`groqgen.usage`), printed as a table with totals (on a
terminal with ``rich``, a bar per row), as one JSON object (``--json``: ``rows``, ``totals``,
``prices``), as CSV (``--csv``), and optionally drawn (``--plot FILE.png|FILE.svg``: cost per
day stacked by model; needs ``groqgen[plot]``). Like the rest of the command line it loads
nothing heavy until it runs.
"""

from __future__ import annotations

import argparse
import csv
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ConfigurationError, ValidationError
from .presentation import usage_cells, usage_notes

if TYPE_CHECKING:
    from .cli import _Output
    from .usage import UsageReport

__all__ = ["add_usage_command", "now"]

BAR_WIDTH = 24
"""Characters of the longest bar on a terminal."""


def now() -> datetime:
    """The moment ``--since 30d`` counts back from (tests replace it with a fixed one)."""
    return datetime.now(timezone.utc)


def add_usage_command(commands: Any) -> None:
    """Add ``groqgen usage`` to the command line's subcommands."""
    from .cli import _leaf

    usage = _leaf(
        commands,
        "usage",
        _usage,
        help="generations, tokens and cost per day, model, kind or project",
    )
    usage.add_argument(
        "--since",
        default="30d",
        metavar="WHEN",
        help="from: a number of days (30d: the last 30 days, today included), hours (12h), "
        "or a date (2026-11-01) (default: 30d)",
    )
    usage.add_argument(
        "--until",
        metavar="WHEN",
        help="up to, as --since (a date: that day included; default: now)",
    )
    usage.add_argument(
        "--by",
        default="day,model",
        metavar="KEYS",
        help="group by any of day, model, kind, project, comma-separated (default: day,model)",
    )
    usage.add_argument(
        "--tz", default="UTC", metavar="ZONE", help="count days in this time zone (default: UTC)"
    )
    usage.add_argument("--csv", action="store_true", help="print the rows as CSV")
    usage.add_argument(
        "--plot",
        metavar="FILE",
        help="also draw cost per day stacked by model into FILE.png or FILE.svg "
        "(needs groqgen[plot])",
    )


def _plot_target(args: argparse.Namespace) -> Path | None:
    """Where ``--plot`` draws, checked before anything is asked of the store."""
    if not args.plot:
        return None
    target = Path(args.plot)
    if target.suffix.lower() not in (".png", ".svg"):
        raise ValidationError("--plot draws a .png or .svg file", field="plot")
    from .presentation import require_matplotlib

    try:
        require_matplotlib()
    except ConfigurationError:
        raise ValidationError(
            "--plot needs matplotlib: pip install 'groqgen[plot]'", field="plot"
        ) from None
    return target


def _usage(args: argparse.Namespace, out: _Output) -> int:
    from .cli import _client

    if args.csv and out.json_mode:
        raise ValidationError("choose one of --csv and --json", field="csv")
    target = _plot_target(args)
    with _client(args) as client:
        report = client.usage(
            since=args.since, until=args.until, by=args.by.split(","), tz=args.tz, now=now()
        )
    if target is not None:
        report.plot(target)
        out.note(f"drew cost per day into {target}")
    if out.json_mode:
        out.json(report.as_dict())
    elif args.csv:
        _csv(report)
    else:
        _table(report, out)
    return 0


def _csv(report: UsageReport) -> None:
    writer = csv.writer(sys.stdout)
    rows = [row.as_dict(report.by) for row in report.rows]
    columns = list(rows[0]) if rows else list(report.totals.as_dict(report.by))
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row[c] is None else row[c] for c in columns])
    sys.stdout.flush()


def _table(report: UsageReport, out: _Output) -> None:
    headings, rows, totals = usage_cells(report)
    console = out._console()
    if console is None:
        out.table(headings, [*rows, totals])
    else:
        _rich_table(console, report, headings, rows, totals)
    if not report.rows:
        out.note("no generations in this range")
    for note in usage_notes(report):
        out.note(note)


def _rich_table(
    console: Any,
    report: UsageReport,
    headings: list[str],
    rows: list[list[str]],
    totals: list[str],
) -> None:
    """The table on a terminal: a bar per row, as long as its known cost."""
    from rich.table import Table  # type: ignore[import-not-found, unused-ignore]

    table = Table(show_footer=True, box=None, pad_edge=False)
    numeric = len(headings) - len(report.by)
    for index, heading in enumerate(headings):
        right = index >= len(headings) - numeric
        table.add_column(
            heading, footer=totals[index], justify="right" if right else "left", no_wrap=True
        )
    table.add_column("", footer="")
    largest = max((row.priced_cost_usd for row in report.rows), default=0.0)
    for cells, row in zip(rows, report.rows, strict=True):
        length = round(BAR_WIDTH * row.priced_cost_usd / largest) if largest > 0 else 0
        table.add_row(*cells, "█" * length)
    console.print(table)
