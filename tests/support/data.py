"""The bundled data files, Lambda event files, and builders for Socrata-shaped rows and prices."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from gas_alerts.prices import WeekPrices, parse_rows
from gas_alerts.source import rows_from_csv
from gas_publisher.contract import REGION_BY_ID, REGIONS

TODAY = date(2026, 11, 28)
REPO = Path(__file__).resolve().parents[2]
DATA_DIR = REPO / "data"
FULL_HISTORY_CSV = DATA_DIR / "ny_gas_prices_weekly.csv"
LATEST_SNAPSHOT_CSV = DATA_DIR / "ny_gas_prices_weekly_2017_2026.csv"
EVENTS_DIR = REPO / "tests" / "events"
NOW = "2026-11-28T12:00:00+00:00"
# Region names an attacker or a typo could put where a region id belongs.
HOSTILE_REGIONS = [
    "<script>alert(1)</script>",
    "../../etc/passwd",
    "new_york_city ",
    "New_York_City",
    "new_york_city\u200b",
    'albany"}',
    "albany\nregion: nassau",
    "",
    "x" * 10_000,
]


def api_row(week: date | str, **prices: str | None) -> dict[str, Any]:
    """A row as the JSON API returns it: string prices, a floating timestamp, absent fields for nulls."""
    day = week if isinstance(week, str) else f"{week.isoformat()}T00:00:00.000"
    row: dict[str, Any] = {"date": day}
    for region, price in prices.items():
        if price is not None:
            row[REGION_BY_ID[region].api_field] = price
    return row


def uniform_row(week: date, price: str) -> dict[str, Any]:
    """A row where all 17 regions have the same price."""
    return api_row(week, **dict.fromkeys((region.id for region in REGIONS), price))


def weekly(start: date, count: int) -> list[date]:
    """`count` consecutive Mondays from `start`."""
    return [start + timedelta(weeks=index) for index in range(count)]


def snapshot_weeks(path: Path) -> list[WeekPrices]:
    """Every week of a bundled CSV snapshot, oldest first."""
    return parse_rows(rows_from_csv(path.read_text(encoding="utf-8")), today=TODAY)


def prices(**values: str) -> dict[str, Decimal]:
    """Region prices as Decimals."""
    return {region: Decimal(value) for region, value in values.items()}


def load_event(name: str) -> dict[str, Any]:
    """A Lambda event from tests/events/."""
    event: dict[str, Any] = json.loads((EVENTS_DIR / name).read_text(encoding="utf-8"))
    return event


def csv_rows(path: Path) -> list[dict[str, str]]:
    """A bundled CSV snapshot as API-shaped rows, for a local Socrata server."""
    return rows_from_csv(path.read_text(encoding="utf-8"))
