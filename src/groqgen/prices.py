"""What Groq charges per model: a dated price table in the package, and the caller's overrides.

Groq's API returns no prices, so a cost report keeps its own table. :data:`GROQ_PRICES` holds
Groq's published synchronous prices per million tokens (its models page, as checked for
``GROQ-TODAY.md``), models it no longer serves included: the rows written while they were
served still need a price. Rules every price follows:

* cached input tokens cost half the input price (unless a model's entry says otherwise);
* a generation that came through Groq's Batch API (its activity entry says ``"batch": true``)
  costs half the synchronous price, and the caching discount does not stack on it;
* a model may have several prices over time (``since``): a day's generations take the price in
  force that day.

Overrides: ``Client(prices=...)`` takes a :class:`PriceTable` or a mapping of model to
``{"input": ..., "output": ...}`` (USD per million tokens), and ``GROQGEN_PRICES`` names a TOML
file of the same shape::

    name = "acme contract"          # optional: how reports name the table
    as_of = 2026-10-01              # optional: when the figures were checked

    [models."openai/gpt-oss-120b"]
    input = 0.10
    output = 0.50
    cached_input = 0.05             # optional (default: half of input)
    since = 2026-10-01              # optional: in force from this day on

Models the overrides name replace the package's entries for them; the others keep theirs.

Example:
    >>> table = GROQ_PRICES.with_overrides({"my-model": {"input": 1.0, "output": 2.0}})
    >>> table.price("my-model").output
    Decimal('2.0')
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from .errors import ConfigurationError

__all__ = ["GROQ_PRICES", "ModelPrice", "PriceTable", "resolve_prices"]

MILLION = Decimal(1_000_000)


@dataclass(frozen=True)
class ModelPrice:
    """One model's price in USD per million tokens, in force from ``since`` (None: always)."""

    input: Decimal
    output: Decimal
    cached_input: Decimal | None = None
    since: date | None = None

    @property
    def cached(self) -> Decimal:
        """The price of a cached input token: as given, else half the input price."""
        return self.cached_input if self.cached_input is not None else self.input / 2

    def cost(
        self, prompt_tokens: int, completion_tokens: int, cached_tokens: int, *, batch: bool
    ) -> Decimal:
        """The cost in USD of these tokens (``batch``: half price, no caching discount)."""
        if batch:
            return (prompt_tokens * self.input + completion_tokens * self.output) / 2 / MILLION
        fresh = prompt_tokens - cached_tokens
        return (
            fresh * self.input + cached_tokens * self.cached + completion_tokens * self.output
        ) / MILLION


@dataclass(frozen=True)
class PriceTable:
    """Prices per model (each model's prices oldest first), named and dated.

    ``name`` and ``as_of`` say which table a report used; ``overridden`` lists the models whose
    prices came from the caller rather than the package.
    """

    name: str
    as_of: date | None
    models: Mapping[str, tuple[ModelPrice, ...]]
    source: str = "groqgen"
    overridden: tuple[str, ...] = field(default=())

    def price(self, model: str | None, day: date | None = None) -> ModelPrice | None:
        """``model``'s price on ``day`` (its latest when ``day`` is None); None if unknown."""
        prices = self.models.get(model or "")
        if not prices:
            return None
        if day is None:
            return prices[-1]
        found = None
        for candidate in prices:
            if candidate.since is None or candidate.since <= day:
                found = candidate
        return found if found is not None else prices[0]

    def with_overrides(
        self, overrides: Mapping[str, Any], *, name: str | None = None, as_of: date | None = None
    ) -> PriceTable:
        """A copy with ``overrides`` (model -> price mapping or :class:`ModelPrice`) on top."""
        models = dict(self.models)
        for model, given in overrides.items():
            if not isinstance(model, str) or not model:
                raise ConfigurationError(
                    f"prices: a model name must be text, not {model!r}", setting="prices"
                )
            models[model] = tuple(
                sorted(_model_prices(model, given), key=lambda p: p.since or date.min)
            )
        return PriceTable(
            name=name or f"{self.name} + overrides",
            as_of=as_of or self.as_of,
            models=models,
            source=self.source if name is None else "caller",
            overridden=tuple(sorted({*self.overridden, *overrides})),
        )

    def describe(self) -> dict[str, Any]:
        """Which table this is, for a report: name, date, source, overridden models."""
        return {
            "name": self.name,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "source": self.source,
            "overridden": list(self.overridden),
        }


def _decimal(value: Any, what: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        raise ConfigurationError(f"prices: {what} must be a number", setting="prices")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ConfigurationError(f"prices: {what} must be a number", setting="prices") from None
    if not number.is_finite() or number < 0:
        raise ConfigurationError(
            f"prices: {what} must be a finite number of USD per million tokens, at least 0",
            setting="prices",
        )
    return number


def _model_prices(model: str, given: Any) -> list[ModelPrice]:
    if isinstance(given, ModelPrice):
        return [given]
    if isinstance(given, (list, tuple)):
        return [p for item in given for p in _model_prices(model, item)]
    if not isinstance(given, Mapping):
        raise ConfigurationError(
            f"prices: {model} needs a table with input and output (USD per million tokens)",
            setting="prices",
        )
    unknown = set(given) - {"input", "output", "cached_input", "since"}
    if unknown or "input" not in given or "output" not in given:
        raise ConfigurationError(
            f"prices: {model} takes input, output, and optionally cached_input and since"
            + (f" (not {', '.join(sorted(map(str, unknown)))})" if unknown else ""),
            setting="prices",
        )
    since = given.get("since")
    if isinstance(since, str):
        try:
            since = date.fromisoformat(since)
        except ValueError:
            since = None if since == "" else since
    if since is not None and not isinstance(since, date):
        raise ConfigurationError(
            f"prices: {model}'s since must be a date (YYYY-MM-DD)", setting="prices"
        )
    cached = given.get("cached_input")
    return [
        ModelPrice(
            input=_decimal(given["input"], f"{model}'s input price"),
            output=_decimal(given["output"], f"{model}'s output price"),
            cached_input=None if cached is None else _decimal(cached, f"{model}'s cached price"),
            since=since,
        )
    ]


def _table(as_of: date, rows: Mapping[str, tuple[str, str]]) -> PriceTable:
    return PriceTable(
        name=f"groq-{as_of:%Y-%m}",
        as_of=as_of,
        models={
            model: (ModelPrice(Decimal(inp), Decimal(out)),) for model, (inp, out) in rows.items()
        },
    )


GROQ_PRICES = _table(
    date(2026, 9, 1),
    {
        # Served now (Groq's models page, 2026-09; GROQ-TODAY.md, checked 2026-11-30).
        "openai/gpt-oss-120b": ("0.15", "0.60"),
        "openai/gpt-oss-20b": ("0.075", "0.30"),
        "qwen/qwen3.8-27b": ("0.80", "4.00"),
        "openai/gpt-oss-safeguard-20b": ("0.075", "0.30"),
        # Retired, priced for the rows written while they were served.
        "llama-3.3-70b-versatile": ("0.59", "0.79"),
        "llama-3.1-8b-instant": ("0.05", "0.08"),
        "qwen/qwen3-32b": ("0.29", "0.59"),
        "meta-llama/llama-4-scout-17b-16e-instruct": ("0.11", "0.34"),
        "moonshotai/kimi-k2-instruct-0905": ("1.00", "3.00"),
    },
)
"""Groq's synchronous prices per million tokens as published in September 2026."""


def _load_toml(path: Path) -> dict[str, Any]:
    try:
        import tomllib  # type: ignore[import-not-found, unused-ignore]
    except ModuleNotFoundError:  # Python 3.10
        try:
            import tomli as tomllib  # type: ignore[no-redef, import-not-found, unused-ignore]
        except ModuleNotFoundError:
            raise ConfigurationError(
                "reading GROQGEN_PRICES needs Python 3.11 or the tomli package: pip install tomli",
                setting="GROQGEN_PRICES",
            ) from None
    try:
        with open(path, "rb") as handle:
            data: dict[str, Any] = tomllib.load(handle)
    except OSError as exc:
        raise ConfigurationError(
            f"GROQGEN_PRICES names {path}, which cannot be read ({exc.strerror or exc})",
            setting="GROQGEN_PRICES",
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(
            f"GROQGEN_PRICES: {path} is not valid TOML ({exc})", setting="GROQGEN_PRICES"
        ) from None
    return data


def load_prices(path: str | os.PathLike[str], base: PriceTable = GROQ_PRICES) -> PriceTable:
    """``base`` with the overrides of the TOML file at ``path`` (see the module docs)."""
    where = Path(path).expanduser()
    data = _load_toml(where)
    models = data.get("models", {})
    if not isinstance(models, Mapping) or set(data) - {"name", "as_of", "models"}:
        raise ConfigurationError(
            f'GROQGEN_PRICES: {where} holds name, as_of and [models."MODEL"] tables only',
            setting="GROQGEN_PRICES",
        )
    as_of = data.get("as_of")
    if as_of is not None and not isinstance(as_of, date):
        raise ConfigurationError(
            "GROQGEN_PRICES: as_of must be a date (as_of = 2026-10-01)", setting="GROQGEN_PRICES"
        )
    name = data.get("name")
    table = base.with_overrides(
        models, name=str(name) if name else f"{base.name} + {where.name}", as_of=as_of
    )
    return PriceTable(
        table.name, table.as_of, table.models, source=str(where), overridden=table.overridden
    )


def resolve_prices(prices: PriceTable | Mapping[str, Any] | None = None) -> PriceTable:
    """The price table a client uses: ``prices=``, else ``GROQGEN_PRICES``, else the package's.

    A mapping passed as ``prices=`` overrides the models it names on top of ``GROQGEN_PRICES``
    (when set) or the package's table.
    """
    if isinstance(prices, PriceTable):
        return prices
    variable = os.environ.get("GROQGEN_PRICES")
    base = load_prices(variable) if variable else GROQ_PRICES
    if prices is None:
        return base
    if not isinstance(prices, Mapping):
        raise ConfigurationError(
            "prices= is a PriceTable or a mapping of model to {'input': ..., 'output': ...}",
            setting="prices",
        )
    table = base.with_overrides(prices)
    return PriceTable(
        table.name, table.as_of, table.models, source="prices=", overridden=table.overridden
    )
