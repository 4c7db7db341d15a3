"""Usage and cost reports: generations, tokens and dollars per day, model, kind and project.

``client.usage(since=, until=, by=, tz=)`` asks the store for the acting user's generation
entries in a time range, summed per day (in ``tz``), model and batch flag, and per kind and
project when ``by`` names them, in one round trip (:class:`groqgen.stores.ops.Usage`; the SQL
lives with each store). Everything else is decided here, without I/O: the range a ``since`` such
as ``"30d"`` means, pricing each day's tokens with the price in force that day
(:mod:`groqgen.prices`), and rolling the store's groups up to the ones asked for.

A figure is ``None`` where it is unknown: a row's token counts when any of its generations has
none (the web app records none), its cost when, in addition, any has a model without a price.
``unpriced_generations`` says how many generations that is, and ``priced_cost_usd`` what the
others cost.

Example:
    >>> from groqgen import Client
    >>> with Client() as client:  # doctest: +SKIP
    ...     report = client.usage(since="30d", by=("day", "model"))
    ...     report.totals.cost_usd, [(r.day, r.model, r.cost_usd) for r in report.rows]
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from decimal import Decimal
from typing import Any, Generic, TypeVar
from uuid import UUID

from .errors import ValidationError
from .prices import GROQ_PRICES, PriceTable
from .stores import ops

__all__ = [
    "BY_KEYS",
    "GENERATION_KINDS",
    "Reports",
    "UsageReport",
    "UsageRow",
    "day_segments",
    "resolve_range",
    "usage_operation",
]

BY_KEYS = ("day", "model", "kind", "project")
"""What a report can be grouped by; ``project`` groups by ``project_id``."""

GENERATION_KINDS: Mapping[str, str] = {
    "prompt_generation": "prompt",
    "code_generation": "code",
    "code_review": "review",
    "test_generation": "tests",
}
"""The activity type of each kind of generation (``models.TABLES`` holds the same pairs)."""

FIGURES = (
    "generations",
    "prompt_tokens",
    "completion_tokens",
    "reasoning_tokens",
    "cached_tokens",
    "total_tokens",
    "groq_time_s",
    "cost_usd",
)
"""A row's figures, in the order reports show them."""

_RELATIVE = re.compile(r"^\s*(\d{1,5})\s*([dh])\s*$")
_TOKENS = (
    "prompt_tokens",
    "completion_tokens",
    "reasoning_tokens",
    "cached_tokens",
    "total_tokens",
)


# -- the range ----------------------------------------------------------------------------------


def zone(tz: str | tzinfo | None) -> tuple[str, tzinfo]:
    """The IANA name and the zone of ``tz`` (default ``"UTC"``); ``ValidationError`` if unknown."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if tz is None or tz is timezone.utc:
        return "UTC", ZoneInfo("UTC")
    if isinstance(tz, ZoneInfo):
        return tz.key, tz
    if isinstance(tz, str) and tz.strip():
        try:
            return tz.strip(), ZoneInfo(tz.strip())
        except (ZoneInfoNotFoundError, ValueError):
            pass
    raise ValidationError(
        f"tz: {str(tz)[:60]!r} is not a time zone; use an IANA name such as 'Europe/Paris' or "
        "'UTC'",
        field="tz",
    )


def _midnight(day: date, local: tzinfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=local).astimezone(timezone.utc)


def _moment(value: Any, name: str, local: tzinfo, now: datetime, *, end: bool) -> datetime:
    """``value`` as a UTC instant (see :func:`resolve_range` for the forms it takes)."""
    if isinstance(value, timedelta):
        return now - value
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=local)).astimezone(timezone.utc)
    if isinstance(value, date):
        return _midnight(value + timedelta(days=1) if end else value, local)
    if isinstance(value, str):
        relative = _RELATIVE.match(value)
        if relative:
            count, unit = int(relative[1]), relative[2]
            if unit == "h":
                return now - timedelta(hours=count)
            today = now.astimezone(local).date()
            return _midnight(today - timedelta(days=max(count - 1, 0)), local)
        text = value.strip()
        try:
            if len(text) == 10:
                return _moment(date.fromisoformat(text), name, local, now, end=end)
            return _moment(datetime.fromisoformat(text), name, local, now, end=end)
        except ValueError:
            pass
    raise ValidationError(
        f"{name}: {str(value)[:40]!r} is not a moment; use a number of days such as 30d, "
        "hours such as 12h, a date (2026-11-01) or a date and time",
        field=name,
    )


def resolve_range(
    since: Any, until: Any, tz: str | tzinfo | None, now: datetime
) -> tuple[datetime, datetime, str]:
    """The UTC instants ``[since, until)`` and the zone's name.

    ``since`` and ``until`` take a ``datetime`` (naive: in ``tz``), a ``date`` (``since``: that
    day's start; ``until``: that day included), a ``timedelta`` back from ``now``, or text:
    ``"30d"`` (the last 30 days, today included: from the start of the day 29 days ago),
    ``"12h"``, ``"2026-11-01"`` or an ISO date and time. ``until`` None is ``now``.

    Example:
        >>> now = datetime(2026, 11, 30, 15, 0, tzinfo=timezone.utc)
        >>> start, end, name = resolve_range("2d", None, "UTC", now)
        >>> start.isoformat(), end.isoformat(), name
        ('2026-11-29T00:00:00+00:00', '2026-11-30T15:00:00+00:00', 'UTC')
    """
    name, local = zone(tz)
    if now.tzinfo is None:
        raise ValidationError("now: give an aware datetime (with tzinfo)", field="now")
    start = _moment(since, "since", local, now, end=False)
    stop = (
        now.astimezone(timezone.utc)
        if until is None
        else _moment(until, "until", local, now, end=True)
    )
    if start >= stop:
        raise ValidationError(
            f"since ({start.isoformat()}) must come before until ({stop.isoformat()})",
            field="since",
        )
    return start, stop, name


def day_segments(tz: str, since: datetime, until: datetime) -> list[tuple[datetime, int]]:
    """Where ``tz``'s offset from UTC changes inside ``[since, until)``.

    A list of ``(from_utc, offset_seconds)``, the first from ``since``: a row's local day is
    the UTC date of its instant plus the offset of the segment it falls in. Stores without time
    zone rules (SQLite) group by day with it.

    Example:
        >>> since = datetime(2026, 10, 20, tzinfo=timezone.utc)
        >>> until = since + timedelta(days=14)
        >>> [(t.isoformat(), s) for t, s in day_segments("Europe/Paris", since, until)]
        [('2026-10-20T00:00:00+00:00', 7200), ('2026-10-25T01:00:00+00:00', 3600)]
    """
    _, local = zone(tz)

    def offset(moment: datetime) -> int:
        shift = moment.astimezone(local).utcoffset()
        return int(shift.total_seconds()) if shift is not None else 0

    segments = [(since, offset(since))]
    step = timedelta(hours=6)  # offsets never change twice within six hours
    moment = since
    while moment < until:
        later = min(moment + step, until)
        if offset(later) != segments[-1][1]:
            low, high = moment, later  # the change lies in (low, high]: find it to the second
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                if offset(middle) == segments[-1][1]:
                    low = middle
                else:
                    high = middle
            changed = high.replace(microsecond=0)
            segments.append((changed, offset(changed)))
        moment = later
    return segments


def usage_operation(
    since: Any = "30d",
    until: Any = None,
    *,
    by: Sequence[str] = ("day", "model"),
    tz: str | tzinfo | None = "UTC",
    now: datetime | None = None,
) -> ops.Usage:
    """The store operation for a report (arguments as :meth:`groqgen.Client.usage` takes them)."""
    keys = _by(by)
    start, stop, name = resolve_range(since, until, tz, now or datetime.now(timezone.utc))
    return ops.Usage(
        since=start,
        until=stop,
        tz=name,
        by=keys,
        by_kind="kind" in keys,
        by_project="project" in keys,
        scope=ops.Scope(),
    )


def _by(by: Sequence[str] | str) -> tuple[str, ...]:
    keys = tuple(k.strip() for k in (by.split(",") if isinstance(by, str) else by) if k.strip())
    unknown = [k for k in keys if k not in BY_KEYS]
    if unknown or len(set(keys)) != len(keys):
        raise ValidationError(
            f"by: group by any of {', '.join(BY_KEYS)}, each once"
            + (f" (not {', '.join(unknown)})" if unknown else ""),
            field="by",
        )
    return keys


# -- the report ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class UsageRow:
    """One group of a report (or its totals): its keys, and what its generations add up to.

    The keys not grouped by are None. Token counts are None when any generation of the row has
    none; ``cost_usd`` is None when any generation's cost is unknown (no token counts, or a
    model without a price) — ``unpriced_generations`` of them — and ``priced_cost_usd`` is
    what the others cost.
    """

    day: date | None = None
    model: str | None = None
    kind: str | None = None
    project_id: UUID | None = None
    generations: int = 0
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    reasoning_tokens: int | None = None
    cached_tokens: int | None = None
    total_tokens: int | None = None
    groq_time_s: float | None = None
    cost_usd: float | None = None
    unpriced_generations: int = 0
    priced_cost_usd: float = 0.0

    def as_dict(self, keys: Sequence[str] = ()) -> dict[str, Any]:
        """The row as JSON-ready values: the keys named in ``keys``, then the figures."""
        data = asdict(self)
        out: dict[str, Any] = {}
        for key in keys:
            column = "project_id" if key == "project" else key
            value = data[column]
            out[column] = None if value is None else str(value)
        for name in (*FIGURES, "unpriced_generations", "priced_cost_usd"):
            out[name] = data[name]
        return out


@dataclass
class _Sum:
    """A row being summed: counts of what is known, and the sums of what is."""

    generations: int = 0
    counted: int = 0
    timed: int = 0
    unpriced: int = 0
    tokens: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_TOKENS, 0))
    seconds: float = 0.0
    cost: Decimal = Decimal(0)

    def add(self, part: Mapping[str, Any], cost: Decimal | None) -> None:
        generations, counted = int(part["generations"]), int(part["counted"] or 0)
        self.generations += generations
        self.counted += counted
        self.timed += int(part["timed"] or 0)
        self.seconds += float(part["groq_time_s"] or 0)
        for name in _TOKENS:
            self.tokens[name] += int(part[name] or 0)
        if cost is None:
            self.unpriced += generations
        else:
            self.cost += cost
            self.unpriced += generations - counted

    def row(self, **keys: Any) -> UsageRow:
        complete = self.counted == self.generations
        tokens: dict[str, Any] = {n: (self.tokens[n] if complete else None) for n in _TOKENS}
        return UsageRow(
            **keys,
            generations=self.generations,
            **tokens,
            groq_time_s=round(self.seconds, 6) if self.timed == self.generations else None,
            cost_usd=float(self.cost) if self.unpriced == 0 else None,
            unpriced_generations=self.unpriced,
            priced_cost_usd=float(self.cost),
        )


def _part(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A store's group with normalised values (SQLite answers text days and ids)."""
    part = dict(raw)
    day = part.get("day")
    if isinstance(day, str):
        part["day"] = date.fromisoformat(day[:10])
    project = part.get("project_id")
    if project is not None and not isinstance(project, UUID):
        part["project_id"] = UUID(str(project))
    part["batch"] = bool(part.get("batch"))
    return part


def _cost(part: Mapping[str, Any], prices: PriceTable) -> Decimal | None:
    """The cost of the group's counted generations, or None when its model has no price."""
    price = prices.price(part.get("model"), part.get("day"))
    if price is None:
        return None
    if not part["counted"]:
        return Decimal(0)
    return price.cost(
        int(part["prompt_tokens"] or 0),
        int(part["completion_tokens"] or 0),
        int(part["cached_tokens"] or 0),
        batch=bool(part["batch"]),
    )


def _key(part: Mapping[str, Any], keys: Sequence[str]) -> tuple[Any, ...]:
    values = []
    for key in keys:
        if key == "kind":
            values.append(GENERATION_KINDS.get(part.get("activity_type") or ""))
        elif key == "project":
            values.append(part.get("project_id"))
        else:
            values.append(part.get(key))
    return tuple(values)


def _order(value: Any) -> tuple[bool, str]:
    return (value is None, "" if value is None else str(value))


@dataclass(frozen=True)
class UsageReport:
    """What a time range of generations added up to, grouped as asked.

    ``rows`` (one per group, in key order), ``totals`` (every generation of the range),
    ``prices`` (the table the costs come from). In a notebook it renders as a table with
    totals; :meth:`to_pandas` and :meth:`plot` give a DataFrame and a chart.
    """

    rows: tuple[UsageRow, ...]
    totals: UsageRow
    by: tuple[str, ...]
    since: datetime
    until: datetime
    tz: str
    prices: PriceTable = GROQ_PRICES

    @classmethod
    def from_groups(
        cls, groups: Sequence[Mapping[str, Any]], op: ops.Usage, prices: PriceTable
    ) -> UsageReport:
        """Price the store's groups and roll them up to ``op.by``."""
        sums: dict[tuple[Any, ...], _Sum] = {}
        total = _Sum()
        for raw in groups:
            part = _part(raw)
            cost = _cost(part, prices)
            sums.setdefault(_key(part, op.by), _Sum()).add(part, cost)
            total.add(part, cost)
        names = ["project_id" if k == "project" else k for k in op.by]
        rows = [
            summed.row(**dict(zip(names, key, strict=True)))
            for key, summed in sorted(sums.items(), key=lambda kv: tuple(map(_order, kv[0])))
        ]
        return cls(tuple(rows), total.row(), op.by, op.since, op.until, op.tz, prices)

    def __iter__(self) -> Iterator[UsageRow]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON-ready values: ``rows``, ``totals``, ``prices`` and the range."""
        return {
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "tz": self.tz,
            "by": list(self.by),
            "rows": [row.as_dict(self.by) for row in self.rows],
            "totals": self.totals.as_dict(),
            "prices": self.prices.describe(),
        }

    def with_rows(self, rows: Sequence[UsageRow]) -> UsageReport:
        """The same report with other rows (the totals stay)."""
        return replace(self, rows=tuple(rows))

    def _repr_html_(self) -> str:
        from .presentation import usage_html

        return usage_html(self)

    def to_pandas(self) -> Any:
        """The rows as a tidy ``pandas.DataFrame``: one column per key and figure."""
        from .presentation import usage_frame

        return usage_frame(self)

    def plot(self, path: str | os.PathLike[str] | None = None) -> Any:
        """Cost per day, stacked by model (needs ``groqgen[plot]``); saved to ``path`` if given.

        Returns the matplotlib ``Figure``, which a notebook shows inline.
        """
        from .presentation import usage_plot

        return usage_plot(self, path)


ReportT = TypeVar("ReportT")


class Reports(Generic[ReportT]):
    """``usage()``, typed once for every flavour: the report, or an awaitable of it.

    A flavour supplies :meth:`_usage` (the sync and async activity-log repositories run the
    store operation; the clients hand the call to them).
    """

    def _usage(
        self, since: Any, until: Any, by: Sequence[str], tz: str | tzinfo | None, now: Any
    ) -> ReportT:
        raise NotImplementedError

    def usage(
        self,
        since: Any = "30d",
        until: Any = None,
        *,
        by: Sequence[str] = ("day", "model"),
        tz: str | tzinfo | None = "UTC",
        now: datetime | None = None,
    ) -> ReportT:
        """Generations, tokens and cost per day, model, kind or project, summed by the store.

        One round trip, over the acting user's generations only, priced with the client's
        price table. ``since`` / ``until`` take a date, a datetime, a ``timedelta`` or text
        (``"30d"``: the last 30 days, today included; ``"12h"``; ``"2026-11-01"``; a date as
        ``until`` includes that day; ``until`` None is now). ``by``: any of ``day``,
        ``model``, ``kind``, ``project``, in the order rows are keyed. ``tz``: the zone days
        are counted in. ``now``: the moment relative ranges count back from (default: the
        current time). On :class:`~groqgen.AsyncClient`, await it.

        Example::

            report = client.usage(since="30d", by=("day", "model"), tz="Europe/Paris")
            report.totals.cost_usd, [(r.day, r.model, r.cost_usd) for r in report.rows]
        """
        return self._usage(since, until, by, tz, now)
