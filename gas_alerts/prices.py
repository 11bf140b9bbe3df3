"""Validates source rows into weeks of Decimal prices, naming the row and field of anything wrong."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from gas_publisher.contract import MAX_PLAUSIBLE_PRICE, MIN_PLAUSIBLE_PRICE, REGIONS


class SourceDataError(ValueError):
    """The source answered with something that is not a valid list of weekly prices."""


@dataclass(frozen=True)
class WeekPrices:
    """One week of source data: the Monday it is dated on and each region's price in $/gal."""

    week: date
    prices: Mapping[str, Decimal]


def parse_rows(rows: object, *, today: date) -> list[WeekPrices]:
    """Validate Socrata-shaped rows and return them oldest first; raise SourceDataError on any fault."""
    if not isinstance(rows, list):
        raise SourceDataError(f"expected a JSON list of rows, got {type(rows).__name__}")
    if not rows:
        raise SourceDataError("the source returned no rows")
    weeks: dict[date, WeekPrices] = {}
    for index, row in enumerate(rows, start=1):
        parsed = parse_row(row, index, today=today)
        seen = weeks.get(parsed.week)
        if seen is not None and seen.prices != parsed.prices:
            raise SourceDataError(f"row {index}: date {parsed.week.isoformat()} appears twice with different prices")
        weeks[parsed.week] = parsed
    return [weeks[week] for week in sorted(weeks)]


def parse_row(row: object, index: int, *, today: date) -> WeekPrices:
    """Validate one row; a region whose field is absent or empty has no price that week."""
    if not isinstance(row, Mapping):
        raise SourceDataError(f"row {index}: expected an object, got {type(row).__name__}")
    week = _parse_date(row.get("date"), index, today)
    prices: dict[str, Decimal] = {}
    for region in REGIONS:
        raw = row.get(region.api_field)
        if raw is None or raw == "":
            continue
        prices[region.id] = _parse_price(raw, index, week, region.api_field)
    if not prices:
        raise SourceDataError(f"row {index} ({week.isoformat()}): no region has a price")
    return WeekPrices(week, prices)


def _parse_date(raw: object, index: int, today: date) -> date:
    if raw is None or raw == "":
        raise SourceDataError(f"row {index}: field 'date' is missing")
    if not isinstance(raw, str):
        raise SourceDataError(f"row {index}: field 'date' is {_show(raw)}, not a date")
    try:
        week = datetime.fromisoformat(raw).date()
    except ValueError:
        raise SourceDataError(f"row {index}: field 'date' is {_show(raw)}, not a date") from None
    if week > today:
        raise SourceDataError(f"row {index}: field 'date' is {week.isoformat()}, which is in the future")
    return week


def _parse_price(raw: object, index: int, week: date, field: str) -> Decimal:
    where = f"row {index} ({week.isoformat()}): field '{field}'"
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise SourceDataError(f"{where} is {_show(raw)}, not a price")
    try:
        price = Decimal(str(raw).strip())
    except InvalidOperation:
        raise SourceDataError(f"{where} is {_show(raw)}, not a price") from None
    if not price.is_finite():
        raise SourceDataError(f"{where} is {_show(raw)}, not a price")
    if price <= 0:
        raise SourceDataError(f"{where} is {_shorten(str(price))}, but a price must be above zero")
    if not MIN_PLAUSIBLE_PRICE <= price <= MAX_PLAUSIBLE_PRICE:
        raise SourceDataError(
            f"{where} is {_shorten(str(price))} $/gal, outside the plausible range "
            f"{MIN_PLAUSIBLE_PRICE}-{MAX_PLAUSIBLE_PRICE}"
        )
    return price


def _show(raw: object) -> str:
    return _shorten(repr(raw))


def _shorten(text: str) -> str:
    """Quote at most 40 characters of a source value, so a hostile one cannot flood the message or the log."""
    return text if len(text) <= 40 else text[:37] + "..."
