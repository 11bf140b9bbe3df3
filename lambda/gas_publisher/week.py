"""The week item: one DynamoDB item per dataset week, written by the flow and read by the Lambda."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, TypeVar

from gas_publisher.contract import (
    LATE_PARTITION,
    PARTITION_KEY,
    PRICE_PARTITION,
    REGION_BY_ID,
    REGION_IDS,
    SORT_KEY,
    is_known_region,
)

AttributeValue = dict[str, Any]
Item = dict[str, AttributeValue]
# Joins the regions of a late item's sort key: "2026-02-23#glens_falls+watertown".
LATE_JOIN = "+"
# Far above any real revision count; the bound keeps int() of a hostile 9.9E+125 from building a huge integer.
MAX_REV = 1_000_000
# A stored reason is a line of text; anything longer was not written by the flow and is cut.
MAX_TEXT = 300
T = TypeVar("T")


class MalformedItemError(ValueError):
    """A stored item or stream image does not have the shape of a week item."""


class Origin(StrEnum):
    """Who wrote a week item: the first check's baseline, a weekly check, or a backfill."""

    BASELINE = "baseline"
    WEEKLY = "weekly"
    BACKFILL = "backfill"


@dataclass(frozen=True)
class Comparison:
    """How a week compares with the trusted weeks before it (the data-quality guard decides what is trusted).

    `suspect` holds each held value's reason; held values never alert and are never a later week's base.
    `previous_prices` is each region's base: its last trusted value, from `previous_week` unless `since` names an
    older week. `drops` are the regions below their base; `low_weeks` and `low_since` say, for each drop, for how
    many weeks before (back from its base week) the region had been higher, and since which week.
    """

    suspect: Mapping[str, str] = field(default_factory=dict)
    previous_week: date | None = None
    previous_prices: Mapping[str, Decimal] = field(default_factory=dict)
    since: Mapping[str, date] = field(default_factory=dict)
    drops: tuple[str, ...] = ()
    low_weeks: Mapping[str, int] = field(default_factory=dict)
    low_since: Mapping[str, date] = field(default_factory=dict)

    def fields(self) -> dict[str, Any]:
        """The comparison as keyword arguments of a WeekRecord."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    def to_attributes(self) -> Item:
        """The comparison as item attributes; a map left empty is left out."""
        item: Item = {"drops": {"L": [{"S": region} for region in self.drops]}}
        if self.previous_week is not None:
            item["previous_week"] = {"S": self.previous_week.isoformat()}
            item["previous_prices"] = encode_prices(self.previous_prices)
        optional = {
            "suspect": {"M": {region: {"S": reason} for region, reason in self.suspect.items()}},
            "since": _encode_dates(self.since),
            "low_weeks": {"M": {region: {"N": str(count)} for region, count in self.low_weeks.items()}},
            "low_since": _encode_dates(self.low_since),
        }
        item.update({name: value for name, value in optional.items() if value["M"]})
        return item


@dataclass(frozen=True)
class Revision:
    """A stored week to update: the source changed its values, or the comparison they take part in changed.

    `old` and `new` hold each changed region's values (both empty when only the comparison changed). `comparison`,
    when set, is the week's comparison derived again from the current values of it and the weeks before it.
    """

    week: date
    old: Mapping[str, Decimal]
    new: Mapping[str, Decimal]
    stored_rev: int
    comparison: Comparison | None = None
    # When set, the week's new `told` (a late item tells more of its falls), written only if `told` is still
    # `told_before` as read (None: the item had no `told` yet).
    told: tuple[str, ...] | None = None
    told_before: tuple[str, ...] | None = None

    @property
    def changes_prices(self) -> bool:
        """Whether the source changed this week's own values (not only those of the week before it)."""
        return bool(self.new)

    def describe(self) -> str:
        """'2023-02-13: Albany 3.85 → 3.57, ...' for logs, summaries and the UI; says so when no value changed."""
        if not self.changes_prices:
            return f"{self.week}: no value changed; compared again with the weeks before it"
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
    """One week of prices as stored, with how it compared with the trusted weeks before it (see Comparison)."""

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
    suspect: Mapping[str, str] = field(default_factory=dict)
    since: Mapping[str, date] = field(default_factory=dict)
    low_weeks: Mapping[str, int] = field(default_factory=dict)
    low_since: Mapping[str, date] = field(default_factory=dict)
    # Set on an item of the late partition: the regions whose fall in this week became known after it was stored.
    # Such an item's `drops` are every region that fell in the week so far (those told before, and these), with
    # their prices, so its digest carries the week's totals; it tells only these.
    late_regions: tuple[str, ...] = ()
    # The regions whose fall in this week was told, or was history when first seen: never told again. None on
    # items written before the attribute existed (see told_regions).
    told: tuple[str, ...] | None = None
    # The source's newest week when this item was written; an alert about an older week says which week it is.
    source_newest: date | None = None

    @property
    def comparison(self) -> Comparison:
        """How this week compared with the weeks before it."""
        return Comparison(**{name: getattr(self, name) for name in Comparison.__dataclass_fields__})

    def key(self) -> Item:
        """The item's primary key: the week's, or for a late item its own in the late partition."""
        if self.late_regions:
            return {
                PARTITION_KEY: {"S": LATE_PARTITION},
                SORT_KEY: {"S": f"{self.week.isoformat()}#{LATE_JOIN.join(self.late_regions)}"},
            }
        return week_key(self.week)

    @property
    def news(self) -> tuple[str, ...]:
        """The regions whose fall this item tells: a late item's late regions, a week item's drops."""
        return self.late_regions or self.drops

    @property
    def told_regions(self) -> tuple[str, ...]:
        """The regions whose fall in this week must never be told again.

        An item from before `told` existed: a baseline or backfill told nothing and stays silent; a weekly check's
        item told its drops.
        """
        if self.told is not None:
            return self.told
        return REGION_IDS if self.origin in (Origin.BASELINE, Origin.BACKFILL) else self.drops

    @property
    def trusted(self) -> dict[str, Decimal]:
        """The prices the guard did not hold."""
        return {region: price for region, price in self.prices.items() if region not in self.suspect}

    def base_week(self, region: str) -> date | None:
        """The week a region was compared with."""
        return self.since.get(region, self.previous_week)

    def to_item(self) -> Item:
        """Encode as a low-level DynamoDB item (the form PutItem and stream images use)."""
        item: Item = {
            **self.key(),
            "prices": encode_prices(self.prices),
            **self.comparison.to_attributes(),
            "alert": {"BOOL": self.alert},
            "origin": {"S": self.origin},
            "rev": {"N": str(self.rev)},
        }
        if self.recorded_at:
            item["recorded_at"] = {"S": self.recorded_at}
        if self.write_id:
            item["write_id"] = {"S": self.write_id}
        if self.told is not None:
            item["told"] = {"L": [{"S": region} for region in self.told]}
        if self.source_newest is not None:
            item["source_newest"] = {"S": self.source_newest.isoformat()}
        return item

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> WeekRecord:
        """Decode a low-level item or stream image, rejecting anything that is not a week item."""
        partition, sort = _string(item, PARTITION_KEY), _string(item, SORT_KEY)
        late_regions: list[str] = []
        if partition == LATE_PARTITION:
            sort, _, names = sort.partition("#")
            late_regions = names.split(LATE_JOIN)
            for region in late_regions:
                if not is_known_region(region):
                    raise MalformedItemError(f"{SORT_KEY} names an unknown late region: {region[:40]!r}")
        elif partition != PRICE_PARTITION:
            raise MalformedItemError(f"{PARTITION_KEY} is not the dataset partition {PRICE_PARTITION!r}")
        previous = item.get("previous_week")
        drops = _regions(item, "drops")
        if set(late_regions) - set(drops):
            raise MalformedItemError(f"{SORT_KEY} names late regions that drops does not list")
        newest = item.get("source_newest")
        alert = item.get("alert", {"BOOL": False})
        if not isinstance(alert, Mapping) or not isinstance(alert.get("BOOL"), bool):
            raise MalformedItemError("alert is not a boolean")
        return cls(
            week=_date(sort, SORT_KEY),
            prices=_prices(item, "prices"),
            previous_week=None if previous is None else _date(_string(item, "previous_week"), "previous_week"),
            previous_prices=_prices(item, "previous_prices") if "previous_prices" in item else {},
            drops=tuple(drops),
            alert=alert["BOOL"],
            origin=_origin(item),
            recorded_at=_string(item, "recorded_at") if "recorded_at" in item else "",
            write_id=_string(item, "write_id") if "write_id" in item else "",
            rev=_count(item.get("rev", {"N": "0"}), "rev"),
            suspect=_region_map(item, "suspect", _text),
            since=_region_map(item, "since", _day),
            low_weeks=_region_map(item, "low_weeks", _count),
            low_since=_region_map(item, "low_since", _day),
            late_regions=tuple(late_regions),
            told=tuple(_regions(item, "told")) if "told" in item else None,
            source_newest=None if newest is None else _date(_string(item, "source_newest"), "source_newest"),
        )


def newest_weeks_query(table: str, limit: int) -> dict[str, Any]:
    """Query arguments for the newest `limit` week items, newest first: one call, whatever the history's size."""
    return {
        "TableName": table,
        "KeyConditionExpression": "#pk = :pk",
        "ExpressionAttributeNames": {"#pk": PARTITION_KEY},
        "ExpressionAttributeValues": {":pk": {"S": PRICE_PARTITION}},
        "ScanIndexForward": False,
        "Limit": limit,
        "ConsistentRead": True,
    }


def week_key(week: date) -> Item:
    """The primary key of a week's item."""
    return {PARTITION_KEY: {"S": PRICE_PARTITION}, SORT_KEY: {"S": week.isoformat()}}


def encode_prices(prices: Mapping[str, Decimal]) -> AttributeValue:
    """Encode region prices as a DynamoDB map of numbers."""
    return {"M": {region: {"N": str(price)} for region, price in prices.items()}}


def _encode_dates(dates: Mapping[str, date]) -> AttributeValue:
    return {"M": {region: {"S": day.isoformat()} for region, day in dates.items()}}


def _region_map(item: Mapping[str, Any], name: str, decode: Callable[[object, str], T]) -> dict[str, T]:
    """An optional map keyed by region (absent means empty), each value decoded and checked."""
    value = item.get(name, {"M": {}})
    if not isinstance(value, Mapping) or not isinstance(value.get("M"), Mapping):
        raise MalformedItemError(f"{name} is missing or not a map")
    decoded: dict[str, T] = {}
    for region, entry in value["M"].items():
        if not is_known_region(region):
            raise MalformedItemError(f"{name} names an unknown region: {str(region)[:40]!r}")
        decoded[region] = decode(entry, f"{name}.{region}")
    return decoded


def _day(value: object, name: str) -> date:
    return _date(_text(value, name), name)


def _text(value: object, name: str) -> str:
    if not isinstance(value, Mapping) or not isinstance(value.get("S"), str):
        raise MalformedItemError(f"{name} is not a string")
    text: str = value["S"]
    return text[:MAX_TEXT]


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


def _regions(item: Mapping[str, Any], name: str) -> list[str]:
    """A list of region ids, each one known."""
    regions = _list(item, name)
    for region in regions:
        if not is_known_region(region):
            raise MalformedItemError(f"{name} names an unknown region: {str(region)[:40]!r}")
    return regions


def _prices(item: Mapping[str, Any], name: str) -> dict[str, Decimal]:
    if name not in item:
        raise MalformedItemError(f"{name} is missing or not a map")
    return _region_map(item, name, _number)


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
