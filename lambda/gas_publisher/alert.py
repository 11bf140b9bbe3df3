"""The alert message for one region whose price fell: subject, body and SNS message attributes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from gas_publisher.contract import (
    ATTR_DROP_CENTS,
    ATTR_DROP_PERCENT,
    ATTR_LOW_WEEKS,
    ATTR_PRICE,
    ATTR_REGION,
    DATASET_PAGE_URL,
    DATASET_TITLE,
    MAX_PLAUSIBLE_PRICE,
    MIN_PLAUSIBLE_PRICE,
    REGION_BY_ID,
)
from gas_publisher.week import MalformedItemError, WeekRecord

if TYPE_CHECKING:
    from mypy_boto3_sns.type_defs import MessageAttributeValueTypeDef

CENT = Decimal("0.01")
ONE_WEEK = timedelta(weeks=1)


@dataclass(frozen=True)
class Alert:
    """One price drop in one region, ready to publish."""

    week: date
    region: str
    price: Decimal
    previous_week: date
    previous_price: Decimal
    # For how many weeks in a row, back from previous_week, the price had been higher, and since which week.
    low_weeks: int = 0
    low_since: date | None = None
    # The data-quality guard held this region's value in the weeks between, so it compares with an older week.
    held_between: bool = False
    # The source's newest week when the fall was told; None (older items) reads as this week.
    source_newest: date | None = None
    # The fall became known after its week was stored: a region filled in or corrected later.
    late: bool = False

    @property
    def drop_cents(self) -> Decimal:
        """How many cents the price fell (positive)."""
        return _plain((self.previous_price - self.price) / CENT)

    @property
    def drop_percent(self) -> Decimal:
        """The fall as a percentage of the compared price, one decimal place."""
        return (100 * (self.previous_price - self.price) / self.previous_price).quantize(Decimal("0.1"))

    @property
    def region_name(self) -> str:
        """The region's full name."""
        return REGION_BY_ID[self.region].name

    @property
    def ledger_name(self) -> str:
        """What the sent ledger records once this alert is out: its region."""
        return self.region

    @property
    def dedup_id(self) -> str:
        """A key that is the same every time this exact alert is produced."""
        return f"{self.week.isoformat()}#{self.region}"

    @property
    def since_last_week(self) -> bool:
        """Whether the comparison is with the week just before (not an older week, after a held value)."""
        return self.week - self.previous_week <= ONE_WEEK

    @property
    def is_newest(self) -> bool:
        """Whether the fall is in the source's newest week (else the email says which week it is about)."""
        return self.source_newest is None or self.week >= self.source_newest

    @property
    def subject(self) -> str:
        """The email subject; SNS requires ASCII, so the cent sign is spelled out."""
        unit = "cent" if self.drop_cents == 1 else "cents"
        when = "" if self.is_newest else f" in the week of {week_words(self.week)}"
        return f"Gas fell {self.drop_cents} {unit} in {self.region_name}{when}: ${money(self.price)}/gal"

    @property
    def body(self) -> str:
        """The plain-text email body."""
        compared = "Last week" if self.since_last_week else "Compared with"
        this = "This week" if self.is_newest else "That week"
        lines = [
            f"Regular gasoline in {self.region_name} fell {self.drop_cents}¢ since {self.previous_week.isoformat()}, "
            f"in the week of {week_words(self.week)}.",
            "",
            f"  {f'{this} ({self.week.isoformat()}):':<30}${money(self.price)}/gal",
            f"  {f'{compared} ({self.previous_week.isoformat()}):':<30}${money(self.previous_price)}/gal",
            f"  {'Change:':<30}-{self.drop_cents}¢ (-{self.drop_percent}%)",
        ]
        if self.low_weeks > 1 and self.low_since is not None:
            lines.append(f"  Lowest in {self.low_weeks} weeks (since {self.low_since.isoformat()})")
        if self.held_between:
            lines += ["", "The source's value for the week in between could not be right, so it is left out."]
        if self.late:
            lines += ["", "The source published or corrected this value after the week first came out."]
        return "\n".join(
            [
                *lines,
                "",
                f"Region: {self.region_name}",
                f"Source: NY Open Data, {DATASET_TITLE}",
                DATASET_PAGE_URL,
                "",
                "You get this email because you subscribed to New York gas price alerts.",
                "Your subscription's filter policy decides which regions and which drops reach you.",
            ]
        )

    def message_attributes(self) -> dict[str, MessageAttributeValueTypeDef]:
        """SNS message attributes that subscription filter policies match on."""
        return {
            ATTR_REGION: {"DataType": "String", "StringValue": self.region},
            ATTR_DROP_CENTS: {"DataType": "Number", "StringValue": str(self.drop_cents)},
            ATTR_PRICE: {"DataType": "Number", "StringValue": str(money(self.price))},
            ATTR_DROP_PERCENT: {"DataType": "Number", "StringValue": str(self.drop_percent)},
            ATTR_LOW_WEEKS: {"DataType": "Number", "StringValue": str(self.low_weeks)},
        }


def alerts_for(record: WeekRecord) -> list[Alert]:
    """One alert per region whose fall the item tells; raises MalformedItemError if the item disagrees."""
    return [_alert(record, region) for region in record.news] if _flagged(record) else []


def falls_for(record: WeekRecord) -> list[Alert]:
    """Every region the item names as fallen in its week (a late item: those told before too), as alerts."""
    return [_alert(record, region) for region in record.drops] if _flagged(record) else []


def _flagged(record: WeekRecord) -> bool:
    if not record.alert or not record.drops:
        return False
    if record.previous_week is None:
        raise MalformedItemError("an alert item has no previous_week")
    return True


def _alert(record: WeekRecord, region: str) -> Alert:
    """The fall of one region the flow flagged as dropped, checked against the item's own prices."""
    price = record.prices.get(region)
    previous = record.previous_prices.get(region)
    base_week = record.base_week(region)
    if price is None or previous is None or base_week is None or not price < previous:
        raise MalformedItemError(f"drops lists {region} but its prices do not show a drop")
    # The flow never stores such prices; an image holding one was not written by it, and would not render.
    if not MIN_PLAUSIBLE_PRICE <= price < previous <= MAX_PLAUSIBLE_PRICE:
        raise MalformedItemError(f"{region} falling from {previous} to {price} is not a plausible drop")
    if not base_week < record.week:
        raise MalformedItemError(f"{region} is compared with {base_week}, which is not before {record.week}")
    return Alert(
        week=record.week,
        region=region,
        price=price,
        previous_week=base_week,
        previous_price=previous,
        low_weeks=record.low_weeks.get(region, 0),
        low_since=record.low_since.get(region),
        held_between=region in record.since,
        source_newest=record.source_newest,
        late=bool(record.late_regions),
    )


def week_words(day: date) -> str:
    """How an email names a week: 'Monday 23 February 2026'."""
    return f"{day:%A} {day.day} {day:%B %Y}"


def _plain(value: Decimal) -> Decimal:
    """Drop a trailing '.00' so that 7.00 cents reads as 7."""
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


def money(price: Decimal) -> Decimal:
    """A price for display: whole cents as two decimals, since DynamoDB returns 3.40 as 3.4."""
    cents = price.quantize(CENT)
    return cents if cents == price else price
