"""The weekly digest: one email listing every region that fell, for subscribers who want one message a week."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from gas_publisher.alert import Alert, money, week_words
from gas_publisher.contract import (
    ATTR_LARGEST_DROP_CENTS,
    ATTR_REGIONS_FALLEN,
    DATASET_PAGE_URL,
    DATASET_TITLE,
    REGION_IDS,
)

if TYPE_CHECKING:
    from mypy_boto3_sns.type_defs import MessageAttributeValueTypeDef

# The name the digest goes by in the sent ledger, beside the region ids.
DIGEST = "digest"


def late_digest_name(regions: Iterable[str]) -> str:
    """The ledger name of a late item's digest: 'digest:glens_falls+watertown' (regions in the dataset's order)."""
    named = set(regions)
    return f"{DIGEST}:" + "+".join(region for region in REGION_IDS if region in named)


@dataclass(frozen=True)
class Digest:
    """The week's drops in one message, largest first.

    A week's item makes the week's digest. A late item (falls that became known after the week was stored) makes a
    digest of the week's falls so far: the regions told before and its own, which it marks new when there were
    others. So its `regions_fallen` and `largest_drop_cents` are the week's, and a subscriber who filters on them
    gets the week once it crosses the threshold; the digests of a week tell each region as news once.
    """

    week: date
    alerts: tuple[Alert, ...]
    # The regions whose fall this digest tells for the first time; empty for the week's own digest (all are).
    new: tuple[str, ...] = ()

    @classmethod
    def of(cls, alerts: Sequence[Alert], *, new: Sequence[str] = ()) -> Digest:
        """The digest of one week's falls; `new` names those a late item tells (the rest were told before)."""
        ordered = sorted(alerts, key=lambda alert: (-alert.drop_cents, alert.region_name))
        return cls(ordered[0].week, tuple(ordered), tuple(region for region in REGION_IDS if region in set(new)))

    @property
    def late(self) -> bool:
        """Whether a late item made it: its falls became known after the week was stored."""
        return bool(self.new)

    @property
    def ledger_name(self) -> str:
        """What the sent ledger records once the digest is out: a late digest is named after its new regions."""
        return late_digest_name(self.new) if self.late else DIGEST

    @property
    def dedup_id(self) -> str:
        """A key that is the same every time this week's digest is produced."""
        return f"{self.week.isoformat()}#{self.ledger_name}"

    @property
    def largest_drop_cents(self) -> Decimal:
        """The largest drop of the week so far, in cents."""
        return self.alerts[0].drop_cents

    @property
    def marked(self) -> frozenset[str]:
        """The regions shown as new: a late digest's own, when the week had other falls before them."""
        return frozenset(self.new) if len(self.new) < len(self.alerts) else frozenset()

    @property
    def subject(self) -> str:
        """The email subject (ASCII, as SNS requires)."""
        count = len(self.alerts)
        regions = f"{count} region{'' if count == 1 else 's'}"
        if self.marked:
            regions += f" ({len(self.marked)} new)"
        cents = "cent" if self.largest_drop_cents == 1 else "cents"
        return (
            f"Gas fell in {regions} in the week of {self.week.isoformat()}, by up to {self.largest_drop_cents} {cents}"
        )

    @property
    def body(self) -> str:
        """The plain-text email body: one line per region, largest drop first, a late digest's own marked new."""
        width = max(len(alert.region_name) for alert in self.alerts)
        count = len(self.alerts)
        regions = f"{count} New York region{'' if count == 1 else 's'}"
        when = f"in the week of {week_words(self.week)}"
        if self.marked:
            opening = (
                f"Regular gasoline fell in {regions} {when}. Prices the source published since the week came out "
                f"show {len(self.marked)} of these falls, marked new."
            )
        elif self.late:
            opening = (
                f"Prices the source published since the week came out show that regular gasoline fell in {regions} "
                f"{when}."
            )
        else:
            opening = f"Regular gasoline fell in {regions} {when}."
        lines = [
            opening,
            "",
            *(
                f"  {alert.region_name:<{width}}  ${money(alert.previous_price)} -> ${money(alert.price)}/gal"
                f"  -{alert.drop_cents}¢ (-{alert.drop_percent}%)"
                + ("" if alert.since_last_week else f"  since {alert.previous_week.isoformat()}")
                + ("  new" if alert.region in self.marked else "")
                for alert in self.alerts
            ),
            "",
            f"Source: NY Open Data, {DATASET_TITLE}",
            DATASET_PAGE_URL,
            "",
            "You get this weekly digest because you subscribed to it instead of one email per region.",
        ]
        return "\n".join(lines)

    def message_attributes(self) -> dict[str, MessageAttributeValueTypeDef]:
        """SNS message attributes a digest subscription can filter on."""
        return {
            ATTR_REGIONS_FALLEN: {"DataType": "Number", "StringValue": str(len(self.alerts))},
            ATTR_LARGEST_DROP_CENTS: {"DataType": "Number", "StringValue": str(self.largest_drop_cents)},
        }
