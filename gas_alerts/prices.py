"""Validates source rows into weeks of Decimal prices, naming the row and field of anything wrong."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from gas_publisher.contract import MAX_PLAUSIBLE_PRICE, MIN_PLAUSIBLE_PRICE, REGIONS

# The API's floating timestamp at midnight ("2023-11-20T00:00:00.000"), or a plain ISO date; the CSV reader turns
# the export's MM/DD/YYYY into the first form. ASCII digits only: \d would also match other scripts' digits.
DATE_PATTERN = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})(?:T00:00:00(?:\.0{1,3})?)?")
# A plain decimal: digits, and at most three decimal places (the source publishes two).
PRICE_PATTERN = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
MAX_DECIMAL_PLACES = 3
# The dataset starts in 2007; a date before this is a corrupt value, not an old week.
EARLIEST_WEEK = date(1990, 1, 1)
KNOWN_FIELDS = frozenset({"date", *(region.api_field for region in REGIONS)})
# At most this many unknown column names are kept per row.
MAX_UNKNOWN = 10


class SourceDataError(ValueError):
    """The source answered with something that is not a valid list of weekly prices."""


@dataclass(frozen=True)
class WeekPrices:
    """One week of source data: the Monday it is dated on and each region's price in $/gal."""

    week: date
    prices: Mapping[str, Decimal]
    # Columns of the row that are no region and not the date (a renamed or added column), quoted briefly.
    unknown: tuple[str, ...] = ()


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
    unknown = tuple(_shorten(str(name)) for name in row if name not in KNOWN_FIELDS)[:MAX_UNKNOWN]
    return WeekPrices(week, prices, unknown)


def _parse_date(raw: object, index: int, today: date) -> date:
    if raw is None or raw == "":
        raise SourceDataError(f"row {index}: field 'date' is missing")
    match = DATE_PATTERN.fullmatch(raw) if isinstance(raw, str) else None
    try:
        week = date(*(int(part) for part in match.groups())) if match else None
    except ValueError:
        week = None
    if week is None:
        raise SourceDataError(f"row {index}: field 'date' is {_show(raw)}, not a date")
    if week > today:
        raise SourceDataError(f"row {index}: field 'date' is {week.isoformat()}, which is in the future")
    if week < EARLIEST_WEEK:
        raise SourceDataError(f"row {index}: field 'date' is {week.isoformat()}, before {EARLIEST_WEEK.isoformat()}")
    if week.weekday() != 0:
        raise SourceDataError(
            f"row {index}: field 'date' is {week.isoformat()}, a {week:%A}; the dataset's weeks are dated on Mondays"
        )
    return week


def _parse_price(raw: object, index: int, week: date, field: str) -> Decimal:
    where = f"row {index} ({week.isoformat()}): field '{field}'"
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise SourceDataError(f"{where} is {_show(raw)}, not a price")
    text = str(raw)
    if not PRICE_PATTERN.fullmatch(text):
        raise SourceDataError(f"{where} is {_show(raw)}, not a price")
    if len(text.partition(".")[2]) > MAX_DECIMAL_PLACES:
        raise SourceDataError(f"{where} is {_shorten(text)}, more than {MAX_DECIMAL_PLACES} decimal places")
    price = Decimal(text)
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
