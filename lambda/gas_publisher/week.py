"""The week item: one DynamoDB item per dataset week, written by the flow and read by the Lambda."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from gas_publisher.contract import DATASET_ID, PARTITION_KEY, REGION_BY_ID, SORT_KEY, is_known_region

AttributeValue = dict[str, Any]
Item = dict[str, AttributeValue]
# Far above any real revision count; the bound keeps int() of a hostile 9.9E+125 from building a huge integer.
MAX_REV = 1_000_000


class MalformedItemError(ValueError):
    """A stored item or stream image does not have the shape of a week item."""


class Origin(StrEnum):
    """Who wrote a week item: the first check's baseline, a weekly check, or a backfill."""

    BASELINE = "baseline"
    WEEKLY = "weekly"
    BACKFILL = "backfill"


@dataclass(frozen=True)
class Revision:
    """A stored week to update: the source changed its values, or those of the week it was compared with.

    `old` and `new` hold each changed region's values (empty when only the comparison changed); `previous_prices`
    and `drops`, when set, are the week's comparison re-derived from the current values of its previous week.
    """

    week: date
    old: Mapping[str, Decimal]
    new: Mapping[str, Decimal]
    stored_rev: int
    previous_prices: Mapping[str, Decimal] | None = None
    drops: tuple[str, ...] | None = None

    @property
    def changes_prices(self) -> bool:
        """Whether the source changed this week's own values (not only those of the week before it)."""
        return bool(self.new)

    def describe(self) -> str:
        """'2023-02-13: Albany 3.85 → 3.57, ...' for logs, summaries and the UI."""
        changes = ", ".join(
            f"{REGION_BY_ID[region].name} {self.old.get(region, '-')} → {price}"
            for region, price in sorted(self.new.items())
        )
        return f"{self.week}: {changes}"

    def log_entry(self, seen_at: str) -> AttributeValue:
        """The entry appended to the week item's `revisions` log: when it was seen, and the old and new values."""
        return {"M": {"seen_at": {"S": seen_at}, "old": encode_prices(self.old), "new": encode_prices(self.new)}}


@dataclass(frozen=True)
class WeekRecord:
    """One week of prices as stored, with the previous week it was compared against."""

    week: date
    prices: Mapping[str, Decimal]
    previous_week: date | None = None
    previous_prices: Mapping[str, Decimal] = field(default_factory=dict)
    drops: tuple[str, ...] = ()
    alert: bool = False
    origin: Origin = Origin.WEEKLY
    recorded_at: str = ""
    rev: int = 0
    # Set by the write that stored the item, so a run can tell its own write from another run's.
    write_id: str = ""

    def to_item(self) -> Item:
        """Encode as a low-level DynamoDB item (the form PutItem and stream images use)."""
        item: Item = {
            **week_key(self.week),
            "prices": encode_prices(self.prices),
            "drops": {"L": [{"S": region} for region in self.drops]},
            "alert": {"BOOL": self.alert},
            "origin": {"S": self.origin},
            "rev": {"N": str(self.rev)},
        }
        if self.recorded_at:
            item["recorded_at"] = {"S": self.recorded_at}
        if self.write_id:
            item["write_id"] = {"S": self.write_id}
        if self.previous_week is not None:
            item["previous_week"] = {"S": self.previous_week.isoformat()}
            item["previous_prices"] = encode_prices(self.previous_prices)
        return item

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> WeekRecord:
        """Decode a low-level item or stream image, rejecting anything that is not a week item."""
        if _string(item, PARTITION_KEY) != DATASET_ID:
            raise MalformedItemError(f"{PARTITION_KEY} is not the dataset partition {DATASET_ID!r}")
        previous = item.get("previous_week")
        drops = _list(item, "drops")
        for region in drops:
            if not is_known_region(region):
                raise MalformedItemError(f"drops names an unknown region: {str(region)[:40]!r}")
        alert = item.get("alert", {"BOOL": False})
        if not isinstance(alert, Mapping) or not isinstance(alert.get("BOOL"), bool):
            raise MalformedItemError("alert is not a boolean")
        return cls(
            week=_date(_string(item, SORT_KEY), SORT_KEY),
            prices=_prices(item, "prices"),
            previous_week=None if previous is None else _date(_string(item, "previous_week"), "previous_week"),
            previous_prices=_prices(item, "previous_prices") if "previous_prices" in item else {},
            drops=tuple(drops),
            alert=alert["BOOL"],
            origin=_origin(item),
            recorded_at=_string(item, "recorded_at") if "recorded_at" in item else "",
            write_id=_string(item, "write_id") if "write_id" in item else "",
            rev=_count(item.get("rev", {"N": "0"}), "rev"),
        )


def week_key(week: date) -> Item:
    """The primary key of a week's item."""
    return {PARTITION_KEY: {"S": DATASET_ID}, SORT_KEY: {"S": week.isoformat()}}


def encode_prices(prices: Mapping[str, Decimal]) -> AttributeValue:
    """Encode region prices as a DynamoDB map of numbers."""
    return {"M": {region: {"N": str(price)} for region, price in prices.items()}}


def _string(item: Mapping[str, Any], name: str) -> str:
    value = item.get(name)
    if not isinstance(value, Mapping) or not isinstance(value.get("S"), str):
        raise MalformedItemError(f"{name} is missing or not a string")
    text: str = value["S"]
    return text


def _number(value: object, name: str) -> Decimal:
    if not isinstance(value, Mapping) or not isinstance(value.get("N"), str):
        raise MalformedItemError(f"{name} is missing or not a number")
    try:
        number = Decimal(value["N"])
    except InvalidOperation:
        raise MalformedItemError(f"{name} is not a number") from None
    # DynamoDB stores no NaN or Infinity, so one in an image is forged; it would also break every comparison.
    if not number.is_finite():
        raise MalformedItemError(f"{name} is not a finite number")
    return number


def _count(value: object, name: str) -> int:
    number = _number(value, name)
    if number != number.to_integral_value() or not 0 <= number <= MAX_REV:
        raise MalformedItemError(f"{name} is not a whole number from 0 to {MAX_REV}")
    return int(number)


def _list(item: Mapping[str, Any], name: str) -> list[Any]:
    value = item.get(name, {"L": []})
    if not isinstance(value, Mapping) or not isinstance(value.get("L"), list):
        raise MalformedItemError(f"{name} is not a list")
    return [entry.get("S") if isinstance(entry, Mapping) else None for entry in value["L"]]


def _prices(item: Mapping[str, Any], name: str) -> dict[str, Decimal]:
    value = item.get(name)
    if not isinstance(value, Mapping) or not isinstance(value.get("M"), Mapping):
        raise MalformedItemError(f"{name} is missing or not a map")
    prices: dict[str, Decimal] = {}
    for region, price in value["M"].items():
        if not is_known_region(region):
            raise MalformedItemError(f"{name} names an unknown region: {str(region)[:40]!r}")
        prices[region] = _number(price, f"{name}.{region}")
    return prices


def _origin(item: Mapping[str, Any]) -> Origin:
    if "origin" not in item:
        return Origin.WEEKLY
    text = _string(item, "origin")
    try:
        return Origin(text)
    except ValueError:
        raise MalformedItemError(f"origin is not one of {', '.join(Origin)}: {text[:40]!r}") from None


def _date(text: str, name: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise MalformedItemError(f"{name} is not an ISO date: {text[:40]!r}") from None
