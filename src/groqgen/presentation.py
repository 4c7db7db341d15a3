r"""How groqgen shows things to a person: notebooks, pandas, terminals.

Everything here is presentation and nothing else depends on it for data: a row's markdown in
Jupyter (:func:`row_markdown`), a page of rows as an HTML table (:func:`rows_html`), rows as a
``pandas.DataFrame`` (:func:`to_pandas`), long text cut to one short line (:func:`shorten`) and
the progress of a long job (:class:`Progress`). The data modules hand their values to these
functions instead of rendering them themselves.

The module imports only the standard library at load time, so the command line can use it
without loading pydantic (models are imported where a row is rendered).

Example:
    >>> shorten("a  long\ntext", 8)
    'a long …'
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from typing import IO, TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from .models import Row

__all__ = [
    "Progress",
    "Rows",
    "is_terminal",
    "progress_shown",
    "require_pandas",
    "row_markdown",
    "rows_html",
    "shorten",
    "to_pandas",
]

T = TypeVar("T")

HTML_CELL_LIMIT = 60
"""Characters of a value shown in a cell of an HTML table."""
MARKDOWN_CELL_LIMIT = 80
"""Characters of a value shown in a markdown table or a title."""


# -- text ----------------------------------------------------------------------------------------


def shorten(text: str | None, limit: int = 60) -> str:
    r"""``text`` on one line (each run of whitespace one space), at most ``limit`` characters.

    Cut text ends in ``…``, which counts towards the limit. None is the empty string.

    Example:
        >>> shorten("release\n  notes for v2", 12)
        'release not…'
    """
    line = " ".join((text or "").split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _fence(text: str, language: str = "") -> str:
    """``text`` in a markdown code fence longer than any run of backticks inside it."""
    fence = "```"
    while fence in text:
        fence += "`"
    return f"{fence}{language.lower()}\n{text.rstrip()}\n{fence}"


def _markdown_cell(value: Any) -> str:
    text = shorten(None if value is None else str(value), MARKDOWN_CELL_LIMIT)
    return text.replace("|", "\\|")


# -- notebooks -----------------------------------------------------------------------------------


def row_markdown(row: Row) -> str:
    """Markdown for a row in Jupyter: a title, then what the row holds.

    Generated text shows as text, code highlighted in its language, a review as the markdown it
    is; any other row as a small table of its fields.
    """
    title = f"**{type(row).__name__}** `{row.id}` · {row.created_at:%Y-%m-%d %H:%M}"
    body = _markdown_body(row)
    if body is not None:
        return f"{title}\n\n{body}"
    fields = "\n".join(
        f"| {name} | {_markdown_cell(getattr(row, name))} |"
        for name in type(row).model_fields
        if name not in ("id", "created_at")
    )
    return f"{title}\n\n| field | value |\n|---|---|\n{fields}"


def _markdown_body(row: Row) -> str | None:
    from .models import CodeGeneration, CodeReview, Prompt, TestGeneration

    match row:
        case Prompt():
            return (
                f"*{_markdown_cell(row.topic)}* — {row.prompt_type}, {row.tone}, length "
                f"{row.length}, `{row.model}`\n\n{row.generated_prompt}"
            )
        case CodeGeneration():
            return (
                f"*{_markdown_cell(row.description)}* — {row.language} / {row.framework}, "
                f"`{row.model}`\n\n{_fence(row.generated_code, row.language)}"
            )
        case CodeReview():
            heading = f"*{row.review_type} review* of {row.language} code, `{row.model}`"
            return f"{heading}\n\n{row.review_result}"
        case TestGeneration():
            kinds = ", ".join(row.test_types)
            return (
                f"*{row.framework} tests* ({kinds}; {row.coverage}), `{row.model}`\n\n"
                f"{_fence(row.generated_tests, row.language)}"
            )
        case _:
            return None


def rows_html(items: Sequence[Any], *, more: bool = False) -> str:
    """An HTML table of rows, one per item, long values shortened (what a page shows).

    ``more``: say that another page follows.
    """
    from html import escape

    if not items:
        return "<p><em>no rows</em></p>"
    columns = [c for c in type(items[0]).model_fields if c not in ("user_id",)]

    def cell(value: Any) -> str:
        return escape(shorten(None if value is None else str(value), HTML_CELL_LIMIT))

    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{cell(getattr(item, c))}</td>" for c in columns) + "</tr>"
        for item in items
    )
    note = "<p><em>more rows: pass next_cursor</em></p>" if more else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{note}"


class Rows(list[T]):
    """A plain list of rows that renders as a table in notebooks and offers ``to_pandas()``."""

    def _repr_html_(self) -> str:
        """An HTML table for notebooks."""
        return rows_html(self)

    def to_pandas(self) -> Any:
        """The rows as a ``pandas.DataFrame`` (needs pandas installed)."""
        return to_pandas(self)


# -- pandas --------------------------------------------------------------------------------------


def require_pandas() -> Any:
    """The pandas module; ``ConfigurationError`` saying what to install when it is missing."""
    try:
        import pandas  # type: ignore[import-untyped, import-not-found, unused-ignore]
    except ImportError:
        from .errors import ConfigurationError

        raise ConfigurationError(
            "to_pandas() needs pandas: pip install pandas", setting="pandas"
        ) from None
    return pandas


def to_pandas(rows: Iterable[Any]) -> Any:
    """Rows as a ``pandas.DataFrame``, one column per field (ids as text, times as datetimes)."""
    pandas = require_pandas()
    records = [row.model_dump(mode="json") for row in rows]
    frame = pandas.DataFrame.from_records(records)
    for column in ("created_at", "updated_at"):
        if column in frame.columns:
            frame[column] = pandas.to_datetime(frame[column], utc=True)
    return frame


# -- progress ------------------------------------------------------------------------------------


def is_terminal(stream: IO[str]) -> bool:
    """Whether ``stream`` is a terminal (False for a stand-in stream or a closed one)."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def progress_shown(wanted: bool | None) -> bool:
    """Whether a :class:`Progress` would show: as ``wanted``, or (None) when someone watches.

    Someone watches a notebook, or a terminal on stderr.
    """
    if wanted is not None:
        return wanted
    return "ipykernel" in sys.modules or is_terminal(sys.stderr)


class Progress:
    """How far a long job has got: a bar, a line on stderr, or nothing.

    A tqdm bar when tqdm is installed (in a notebook, a widget), else a line on stderr
    rewritten in place: ``generating 3/10  failed 0``. It shows when ``wanted`` is True, or
    (None) when a notebook or terminal is attached (:func:`progress_shown`); never for an
    empty job.

    ``label`` names the job; ``unit`` its items (for the bar). ``failures``: count the items
    that failed, as :meth:`advance` reports them. ``every``: redraw the line only every so
    many items (and at the last), for jobs of many quick items.

    Example:
        >>> progress = Progress(3, False, label="exporting prompts")
        >>> for _ in range(3):
        ...     progress.advance()
        >>> progress.close()
    """

    def __init__(
        self,
        total: int,
        wanted: bool | None = None,
        *,
        label: str = "working",
        unit: str = "it",
        failures: bool = True,
        every: int = 1,
    ) -> None:
        self.total, self.done, self.failed = total, 0, 0
        self.label = label
        self._failures = failures
        self._every = max(1, every)
        self._bar: Any = None
        self._line = False
        if total == 0 or not progress_shown(wanted):
            return
        try:
            from tqdm.auto import tqdm  # type: ignore[import-untyped, import-not-found, unused-ignore]
        except ImportError:
            self._line = True
            self._draw()
        else:
            self._bar = tqdm(total=total, desc=label, unit=unit)

    @property
    def shown(self) -> bool:
        """Whether anything is shown."""
        return self._bar is not None or self._line

    def advance(self, *, failed: bool = False) -> None:
        """One more item done (``failed``: it ended in an error)."""
        self.done += 1
        self.failed += failed
        if self._bar is not None:
            self._bar.update(1)
            if self.failed and self._failures:
                self._bar.set_postfix(failed=self.failed)
        elif self._line and (self.done % self._every == 0 or self.done == self.total):
            self._draw()

    def close(self) -> None:
        """End the bar or the line."""
        if self._bar is not None:
            self._bar.close()
        elif self._line:
            sys.stderr.write("\n")
            sys.stderr.flush()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _draw(self) -> None:
        counted = f"  failed {self.failed}" if self._failures else ""
        sys.stderr.write(f"\r{self.label} {self.done}/{self.total}{counted}")
        sys.stderr.flush()


# -- usage reports -------------------------------------------------------------------------------

USAGE_HEADINGS = {
    "day": "DAY",
    "model": "MODEL",
    "kind": "KIND",
    "project": "PROJECT",
    "generations": "GENERATIONS",
    "prompt_tokens": "PROMPT",
    "completion_tokens": "COMPLETION",
    "reasoning_tokens": "REASONING",
    "cached_tokens": "CACHED",
    "total_tokens": "TOTAL TOKENS",
    "cost_usd": "COST (USD)",
}
"""The columns a usage table shows, by key or figure, and their headings."""

UNKNOWN = "?"
"""What a table shows for a figure that is not known (never zero)."""


def money(value: float | None) -> str:
    """A cost in USD for a table: 4 decimals, more for fractions of a cent; ``?`` if unknown.

    Example:
        >>> money(1.23456), money(0.0000123), money(None)
        ('$1.2346', '$0.0000123', '?')
    """
    if value is None:
        return UNKNOWN
    if value and abs(value) < 0.0001:
        return f"${value:.3g}" if abs(value) >= 1e-9 else f"${value:.2e}"
    return f"${value:,.4f}"


def _count(value: int | None) -> str:
    return UNKNOWN if value is None else f"{value:,}"


def usage_cells(report: Any) -> tuple[list[str], list[list[str]], list[str]]:
    """A usage report as text cells: the headings, one list per row, and the totals line."""
    from .usage import FIGURES

    keys = list(report.by)
    figures = [f for f in FIGURES if f != "groq_time_s"]
    headings = [USAGE_HEADINGS[k] for k in (*keys, *figures)]

    def key_cell(row: Any, key: str) -> str:
        value = row.project_id if key == "project" else getattr(row, key)
        if value is None:
            return "(none)" if key == "project" else UNKNOWN if key == "model" else ""
        return str(value)

    def figure_cells(row: Any) -> list[str]:
        cells = [_count(getattr(row, f)) for f in figures[:-1]]
        return [*cells, money(row.cost_usd)]

    rows = [[key_cell(r, k) for k in keys] + figure_cells(r) for r in report.rows]
    totals = ["TOTAL"] + [""] * (len(keys) - 1) if keys else []
    return headings, rows, totals + figure_cells(report.totals)


def usage_notes(report: Any) -> list[str]:
    """Sentences a reader needs beside the table: the range, the prices, what is unknown."""
    notes = [
        f"{report.since:%Y-%m-%d %H:%M} to {report.until:%Y-%m-%d %H:%M} UTC, days in "
        f"{report.tz}; prices: {report.prices.name}"
        + (f" (as of {report.prices.as_of:%Y-%m-%d})" if report.prices.as_of else "")
    ]
    unpriced = report.totals.unpriced_generations
    if unpriced:
        notes.append(
            f"{unpriced:,} generation{'s' if unpriced != 1 else ''} without token counts or a "
            f"price (the web app records none): their cost is unknown ({UNKNOWN}); the others "
            f"cost {money(report.totals.priced_cost_usd)}"
        )
    return notes


def usage_html(report: Any) -> str:
    """A usage report as an HTML table with a totals row (what a notebook shows)."""
    from html import escape

    headings, rows, totals = usage_cells(report)
    head = "".join(f"<th>{escape(h)}</th>" for h in headings)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    foot = "<tr>" + "".join(f"<th>{escape(c)}</th>" for c in totals) + "</tr>"
    notes = "".join(f"<p><em>{escape(n)}</em></p>" for n in usage_notes(report))
    if not rows:
        body = f'<tr><td colspan="{len(headings)}"><em>no generations</em></td></tr>'
    return (
        f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody>"
        f"<tfoot>{foot}</tfoot></table>{notes}"
    )


def usage_frame(report: Any) -> Any:
    """A usage report as a tidy ``pandas.DataFrame``, one row per group.

    One column per key and figure; unknown figures are missing values, never zero.
    """
    pandas = require_pandas()
    records = [row.as_dict(report.by) for row in report.rows]
    from .usage import FIGURES

    columns = [("project_id" if k == "project" else k) for k in report.by]
    columns += [*FIGURES, "unpriced_generations", "priced_cost_usd"]
    frame = pandas.DataFrame.from_records(records, columns=columns)
    for column in ("prompt_tokens", "completion_tokens", "reasoning_tokens", "cached_tokens"):
        frame[column] = frame[column].astype("Int64")
    frame["total_tokens"] = frame["total_tokens"].astype("Int64")
    frame["cost_usd"] = frame["cost_usd"].astype("Float64")
    if "day" in frame.columns:
        frame["day"] = pandas.to_datetime(frame["day"])
    return frame


def require_matplotlib() -> Any:
    """``matplotlib.figure``; ``ConfigurationError`` naming the extra when it is missing."""
    try:
        from matplotlib import figure  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        from .errors import ConfigurationError

        raise ConfigurationError(
            "plotting needs matplotlib: pip install 'groqgen[plot]'", setting="groqgen[plot]"
        ) from None
    return figure


PLOT_SIZE = (10.0, 5.0)
"""A usage chart's size in inches (1000 x 500 pixels as PNG, 720 x 360 points as SVG)."""


def usage_plot(report: Any, path: Any = None) -> Any:
    """Cost per day stacked by model, as a matplotlib ``Figure``; saved to ``path`` if given.

    The format follows the file's suffix (``.png``, ``.svg``). Needs a report by ``day``;
    the known part of each day's cost is drawn, and the chart says how many generations'
    cost is unknown.
    """
    from .errors import ValidationError

    if "day" not in report.by:
        raise ValidationError(
            "a cost chart needs a report by day (by=('day', 'model'))", field="by"
        )
    figure = require_matplotlib()
    by_model = "model" in report.by
    costs: dict[tuple[Any, str], float] = {}
    for row in report.rows:
        key = (row.day, (row.model or UNKNOWN) if by_model else "")
        costs[key] = costs.get(key, 0.0) + row.priced_cost_usd
    days = sorted({day for day, _ in costs if day is not None})
    models = sorted({model for _, model in costs}, key=lambda m: (m == UNKNOWN, m))
    chart = figure.Figure(figsize=PLOT_SIZE, dpi=100)
    axes = chart.subplots()
    labels = [f"{day:%m-%d}" for day in days]
    bottom = [0.0] * len(days)
    for model in models:
        heights = [costs.get((day, model), 0.0) for day in days]
        axes.bar(labels, heights, bottom=bottom, label=model or "cost")
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    axes.set_title(f"Cost per day (USD, {report.prices.name}), days in {report.tz}")
    axes.set_ylabel("USD")
    axes.set_xlabel("day")
    if by_model and models:
        axes.legend(title="model", fontsize="small")
    axes.tick_params(axis="x", labelrotation=90, labelsize="small")
    unpriced = report.totals.unpriced_generations
    if unpriced:
        axes.annotate(
            f"+ {unpriced:,} generations of unknown cost (not drawn)",
            xy=(0.01, 0.97),
            xycoords="axes fraction",
            va="top",
            fontsize="small",
        )
    chart.tight_layout()
    if path is not None:
        chart.savefig(path)
    return chart
