"""``client.usage``: figures against a hand computation, on every store, sync and async.

The data set is written behind the client's back (``raw``) with fixed dates: two models and a
retired one, entries on both sides of the October/November boundary, a time zone
(America/New_York, which also leaves daylight saving time on 2026-11-01) that moves late
evening entries to the previous day, cached tokens, a batch entry, and entries the web app
wrote (no token counts, or other metadata shapes). Nothing depends on the clock: ranges are
dates, or relative to a fixed ``now``.
"""

from __future__ import annotations

import sqlite3
import uuid
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from groqgen import Client, ValidationError
from groqgen.prices import GROQ_PRICES, ModelPrice, PriceTable
from groqgen.usage import day_segments, resolve_range
from tests.conftest import StoreCase

NY = "America/New_York"
BIG, SMALL, RETIRED = "openai/gpt-oss-120b", "openai/gpt-oss-20b", "llama-3.3-70b-versatile"
NOW = datetime(2026, 11, 30, 15, 0, tzinfo=timezone.utc)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def entry(
    user: uuid.UUID,
    at: str,
    metadata: dict[str, Any] | None,
    activity_type: str = "prompt_generation",
    project: uuid.UUID | None = None,
) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "user_id": user,
        "project_id": project,
        "activity_type": activity_type,
        "description": "written behind the client's back",
        "metadata": metadata,
        "created_at": utc(at),
    }


def tokens(model: str, prompt: int, completion: int, **more: Any) -> dict[str, Any]:
    return {"model": model, "prompt_tokens": prompt, "completion_tokens": completion, **more}


def data_set(user: uuid.UUID, project: uuid.UUID | None = None) -> list[dict[str, Any]]:
    return [
        # 10-31 in New York (and in UTC)
        entry(
            user,
            "2026-10-31T12:00:00",
            tokens(BIG, 1000, 2000, cached_tokens=400, total_tokens=3000, total_time=0.5),
            project=project,
        ),
        # 23:30 on 10-31 in New York (EDT), 11-01 in UTC
        entry(
            user, "2026-11-01T03:30:00", tokens(BIG, 500, 500, total_time=0.25), "code_generation"
        ),
        # 11-01 in New York: a batch entry (half price, no caching discount)
        entry(
            user,
            "2026-11-01T12:00:00",
            tokens(SMALL, 2000, 1000, cached_tokens=1000, batch=True, total_time=1.0),
            "code_review",
            project=project,
        ),
        # 23:30 on 11-01 in New York (EST now), 11-02 in UTC
        entry(
            user,
            "2026-11-02T04:30:00",
            tokens(SMALL, 100, 100, reasoning_tokens=60, total_time=0.125),
            "test_generation",
        ),
        # the web app: a retired model, no token counts
        entry(user, "2026-11-01T15:00:00", {"model": RETIRED}),
        # another shape: a count given as text is not a count
        entry(
            user,
            "2026-11-01T16:00:00",
            {"model": BIG, "prompt_tokens": "12", "completion_tokens": 5},
        ),
        # the web app: no metadata at all
        entry(user, "2026-11-02T12:00:00", None),
        # outside the range, and not a generation
        entry(user, "2026-10-20T12:00:00", tokens(BIG, 9, 9)),
        entry(user, "2026-11-01T13:00:00", {"model": BIG}, "login"),
    ]


COST_A = Decimal(600 * 15 + 400 * 75 // 10 + 2000 * 60) / Decimal(100) / 10**6  # 0.00132
COST_B = Decimal(500 * 15 + 500 * 60) / Decimal(100) / 10**6  # 0.000375
COST_C = Decimal("0.075") * 2000 / 2 / 10**6 + Decimal("0.30") * 1000 / 2 / 10**6  # 0.000225
COST_D = (Decimal("0.075") * 100 + Decimal("0.30") * 100) / 10**6  # 0.0000375


def as_tuples(report: Any, *names: str) -> list[tuple[Any, ...]]:
    return [tuple(getattr(row, n) for n in names) for row in report.rows]


def load(case: StoreCase, project: uuid.UUID | None = None) -> None:
    case.raw("activity_logs", data_set(case.user_id, project))


def test_the_figures_match_a_hand_computation(store_case: StoreCase) -> None:
    load(store_case)
    report = store_case.client.usage(
        since=date(2026, 10, 31), until=date(2026, 11, 2), by=("day", "model"), tz=NY
    )
    assert as_tuples(report, "day", "model", "generations") == [
        (date(2026, 10, 31), BIG, 2),
        (date(2026, 11, 1), RETIRED, 1),
        (date(2026, 11, 1), BIG, 1),
        (date(2026, 11, 1), SMALL, 2),
        (date(2026, 11, 2), None, 1),
    ]
    rows = {(r.day, r.model): r for r in report.rows}
    assert set(rows) == {
        (date(2026, 10, 31), BIG),
        (date(2026, 11, 1), BIG),
        (date(2026, 11, 1), SMALL),
        (date(2026, 11, 1), RETIRED),
        (date(2026, 11, 2), None),
    }
    october = rows[date(2026, 10, 31), BIG]
    assert (october.generations, october.prompt_tokens, october.completion_tokens) == (
        2,
        1500,
        2500,
    )
    assert (october.cached_tokens, october.reasoning_tokens, october.total_tokens) == (400, 0, 4000)
    assert october.groq_time_s == pytest.approx(0.75)
    assert october.cost_usd == pytest.approx(float(COST_A + COST_B), rel=1e-12)
    assert october.unpriced_generations == 0

    small = rows[date(2026, 11, 1), SMALL]
    assert (small.generations, small.prompt_tokens, small.completion_tokens) == (2, 2100, 1100)
    assert (small.cached_tokens, small.reasoning_tokens, small.total_tokens) == (1000, 60, 3200)
    assert small.cost_usd == pytest.approx(float(COST_C + COST_D), rel=1e-12)

    for key in ((date(2026, 11, 1), BIG), (date(2026, 11, 1), RETIRED), (date(2026, 11, 2), None)):
        unknown = rows[key]
        assert (unknown.generations, unknown.prompt_tokens, unknown.total_tokens) == (1, None, None)
        assert (unknown.cost_usd, unknown.unpriced_generations) == (None, 1)

    totals = report.totals
    assert (totals.generations, totals.unpriced_generations) == (7, 3)
    assert (totals.prompt_tokens, totals.cost_usd) == (None, None)  # unknown, never zero
    assert totals.priced_cost_usd == pytest.approx(float(COST_A + COST_B + COST_C + COST_D))
    assert report.prices.name == "groq-2026-09"


def test_the_time_zone_decides_the_day(store_case: StoreCase) -> None:
    load(store_case)
    in_utc = store_case.client.usage(
        since=date(2026, 10, 31), until=date(2026, 11, 2), by=("day",), tz="UTC"
    )
    in_ny = store_case.client.usage(
        since=date(2026, 10, 31), until=date(2026, 11, 2), by=("day",), tz=NY
    )
    assert as_tuples(in_utc, "day", "generations") == [
        (date(2026, 10, 31), 1),
        (date(2026, 11, 1), 4),
        (date(2026, 11, 2), 2),
    ]
    assert as_tuples(in_ny, "day", "generations") == [
        (date(2026, 10, 31), 2),
        (date(2026, 11, 1), 4),
        (date(2026, 11, 2), 1),
    ]


def test_by_kind_and_project_and_no_grouping(store_case: StoreCase) -> None:
    project = store_case.client.projects.create("Usage")
    load(store_case, project.id)
    window = {"since": date(2026, 10, 31), "until": date(2026, 11, 2), "tz": NY}
    kinds = store_case.client.usage(**window, by=("kind",))
    assert as_tuples(kinds, "kind", "generations") == [
        ("code", 1),
        ("prompt", 4),
        ("review", 1),
        ("tests", 1),
    ]
    projects = store_case.client.usage(**window, by=("project", "model"))
    filed = [r for r in projects.rows if r.project_id == project.id]
    assert [(r.model, r.generations) for r in filed] == [(BIG, 1), (SMALL, 1)]
    assert sum(r.generations for r in projects.rows) == 7
    everything = store_case.client.usage(**window, by=())
    assert [r.generations for r in everything.rows] == [7] == [everything.totals.generations]


def test_another_users_usage_is_invisible(store_case: StoreCase) -> None:
    other = uuid.uuid4()
    if store_case.kind.startswith("sqlite"):
        store_case.raw(
            "profiles",
            [
                {
                    "id": other,
                    "email": "b@example.com",
                    "created_at": utc("2030-01-01T00:00:00"),
                    "updated_at": utc("2030-01-01T00:00:00"),
                }
            ],
        )
    else:
        import psycopg

        from tests.helpers import new_user

        with psycopg.connect(_database_of(store_case), autocommit=True) as conn:
            other = new_user(conn)
    store_case.raw("activity_logs", data_set(other))
    load(store_case)
    report = store_case.client.usage(since=date(2026, 10, 1), until=date(2026, 11, 30), tz=NY)
    assert report.totals.generations == 8  # the caller's own, the 10-20 one included


def _database_of(case: StoreCase) -> str:
    import inspect

    return str(inspect.getclosurevars(case.raw).nonlocals["url"])


def test_deleting_a_project_moves_its_usage_to_no_project(store_case: StoreCase) -> None:
    project = store_case.client.projects.create("Short-lived")
    load(store_case, project.id)
    window = {"since": date(2026, 10, 31), "until": date(2026, 11, 2), "tz": NY, "by": ("project",)}
    before = store_case.client.usage(**window)
    assert [r.generations for r in before.rows if r.project_id == project.id] == [2]
    store_case.client.projects.delete(project.id)
    after = store_case.client.usage(**window)
    assert as_tuples(after, "project_id", "generations") == [(None, 7)]


def test_a_recorded_generation_is_counted_at_once(generator_case: StoreCase) -> None:
    client = generator_case.client
    client.generate.prompt("release notes")
    # A wide range: the database server's clock, not this process's, stamps the row.
    report = client.usage(since="400d", by=("kind", "model"))
    (row,) = report.rows
    assert (row.kind, row.model, row.generations) == ("prompt", client.model, 1)
    assert row.prompt_tokens and row.completion_tokens and row.cost_usd and row.cost_usd > 0


# -- ranges, time zones, arguments ---------------------------------------------------------------


def test_relative_ranges_count_back_from_now() -> None:
    start, end, name = resolve_range("30d", None, NY, NOW)
    assert (start, end, name) == (utc("2026-11-01T04:00:00"), NOW, NY)  # 11-01 00:00 EDT
    assert resolve_range("12h", "2h", "UTC", NOW)[:2] == (
        NOW - timedelta(hours=12),
        NOW - timedelta(hours=2),
    )
    assert resolve_range(date(2026, 11, 1), date(2026, 11, 1), "UTC", NOW)[:2] == (
        utc("2026-11-01T00:00:00"),
        utc("2026-11-02T00:00:00"),
    )


def test_day_segments_follow_daylight_saving_time() -> None:
    segments = day_segments(NY, utc("2026-10-31T04:00:00"), utc("2026-11-03T05:00:00"))
    assert segments == [
        (utc("2026-10-31T04:00:00"), -4 * 3600),
        (utc("2026-11-01T06:00:00"), -5 * 3600),
    ]
    assert day_segments("UTC", NOW - timedelta(days=90), NOW) == [(NOW - timedelta(days=90), 0)]


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"by": ("week",)}, "by"),
        ({"by": ("day", "day")}, "by"),
        ({"tz": "Mars/Olympus"}, "tz"),
        ({"since": "yesterday"}, "since"),
        ({"since": date(2026, 11, 2), "until": date(2026, 11, 1)}, "since"),
    ],
)
def test_bad_arguments_are_refused_naming_the_field(
    tmp_path: Path, arguments: dict[str, Any], field: str
) -> None:
    with Client(home=tmp_path) as client, pytest.raises(ValidationError) as caught:
        client.usage(**arguments, now=NOW)
    assert caught.value.field == field


# -- prices ----------------------------------------------------------------------------------------


def test_prices_can_be_overridden_per_client(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Client(home=tmp_path, prices={BIG: {"input": 1, "output": 2}}) as client:
        client.activity_logs.log("prompt_generation", "x", metadata=tokens(BIG, 10**6, 10**6))
        report = client.usage(since="1d", by=("model",))
    assert report.rows[0].cost_usd == pytest.approx(3.0)
    assert report.prices.overridden == (BIG,) and report.prices.source == "prices="


def test_prices_from_a_toml_file_named_by_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = tmp_path / "prices.toml"
    table.write_text(
        'name = "acme contract"\nas_of = 2026-10-01\n\n'
        f'[models."{BIG}"]\ninput = 0.10\noutput = 0.50\ncached_input = 0.01\n'
    )
    monkeypatch.setenv("GROQGEN_PRICES", str(table))
    with Client(home=tmp_path) as client:
        client.activity_logs.log(
            "prompt_generation", "x", metadata=tokens(BIG, 10**6, 10**6, cached_tokens=10**6)
        )
        report = client.usage(since="1d", by=("model",))
    assert report.rows[0].cost_usd == pytest.approx(0.01 + 0.50)
    assert report.as_dict()["prices"] == {
        "name": "acme contract",
        "as_of": "2026-10-01",
        "source": str(table),
        "overridden": [BIG],
    }


def test_a_bad_price_file_is_a_configuration_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from groqgen import ConfigurationError

    table = tmp_path / "prices.toml"
    table.write_text(f'[models."{BIG}"]\ninput = "cheap"\noutput = 1\n')
    monkeypatch.setenv("GROQGEN_PRICES", str(table))
    with pytest.raises(ConfigurationError) as caught:
        Client(home=tmp_path)
    assert "input price must be a number" in str(caught.value)


def test_a_days_price_is_the_one_in_force_that_day() -> None:
    dated = PriceTable(
        "dated",
        None,
        {
            BIG: (
                ModelPrice(Decimal(1), Decimal(1)),
                ModelPrice(Decimal(2), Decimal(2), since=date(2026, 11, 1)),
            )
        },
    )
    assert dated.price(BIG, date(2026, 10, 31)).input == 1  # type: ignore[union-attr]
    assert dated.price(BIG, date(2026, 11, 1)).input == 2  # type: ignore[union-attr]
    assert dated.price("unknown/model") is None


def test_the_package_prices_retired_models_and_halves_batches() -> None:
    retired = GROQ_PRICES.price(RETIRED)
    assert retired is not None and (retired.input, retired.output) == (
        Decimal("0.59"),
        Decimal("0.79"),
    )
    big = GROQ_PRICES.price(BIG)
    assert big is not None
    assert big.cost(10**6, 0, 10**6, batch=False) == Decimal("0.075")  # cached: half price
    assert big.cost(10**6, 10**6, 10**6, batch=True) == Decimal("0.375")  # batch: no stacking


# -- an existing embedded store gains the report ---------------------------------------------------


def test_entries_written_before_the_upgrade_are_counted(tmp_path: Path) -> None:
    from importlib import resources

    from groqgen.stores.sqlite import _statements, timestamp

    database = tmp_path / "groqgen.db"
    conn = sqlite3.connect(database)
    version_1 = resources.files("groqgen.migrations").joinpath("sqlite/0001_schema.sql")
    for statement in _statements(version_1.read_text()):
        conn.execute(statement)
    conn.execute("pragma user_version = 1")
    user, at = str(uuid.uuid4()), timestamp(utc("2026-11-01T12:00:00"))
    conn.execute(
        "insert into profiles values (?, 'me@localhost', 'me', null, ?, ?)", [user, at, at]
    )
    conn.execute(
        "insert into activity_logs values (?, ?, null, 'prompt_generation', 'old', ?, ?)",
        [
            str(uuid.uuid4()),
            user,
            '{"model": "openai/gpt-oss-120b", "prompt_tokens": 10, "completion_tokens": 20}',
            at,
        ],
    )
    conn.commit()
    conn.close()
    database.chmod(0o600)
    with Client(home=tmp_path) as client:
        report = client.usage(since=date(2026, 11, 1), until=date(2026, 11, 1), by=("model",))
    assert as_tuples(report, "model", "generations", "total_tokens") == [(BIG, 1, 30)]


# -- notebooks -------------------------------------------------------------------------------------


def test_a_report_renders_as_html_and_a_tidy_dataframe(tmp_path: Path) -> None:
    from tests.conftest import _sqlite_raw

    with Client(home=tmp_path) as client:
        _sqlite_raw(tmp_path / "groqgen.db")("activity_logs", data_set(client.profiles.me().id))
        report = client.usage(
            since=date(2026, 10, 31), until=date(2026, 11, 2), by=("day", "model"), tz=NY
        )
    html = report._repr_html_()
    assert html.count("<tr>") == 1 + 5 + 1  # heading, rows, totals
    assert "TOTAL" in html and "?" in html and "groq-2026-09" in html
    frame = report.to_pandas()
    assert list(frame.columns[:4]) == ["day", "model", "generations", "prompt_tokens"]
    assert len(frame) == 5 and int(frame["generations"].sum()) == 7
    assert frame["prompt_tokens"].isna().sum() == 3  # unknown stays unknown
    assert str(frame["day"].dtype).startswith("datetime64")
    chart = report.plot()  # a notebook shows the figure inline
    assert tuple(chart.get_size_inches()) == (10.0, 5.0)
    legend = [t.get_text() for t in chart.axes[0].get_legend().get_texts()]
    assert legend == [RETIRED, BIG, SMALL, "?"]  # the unknown model last
