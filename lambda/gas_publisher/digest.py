"""The weekly digest: one email listing every region that fell, for subscribers who want one message a week."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from gas_publisher.alert import Alert, money
from gas_publisher.contract import ATTR_LARGEST_DROP_CENTS, ATTR_REGIONS_FALLEN, DATASET_PAGE_URL, DATASET_TITLE

if TYPE_CHECKING:
    from mypy_boto3_sns.type_defs import MessageAttributeValueTypeDef

# The name the digest goes by in the sent ledger, beside the region ids.
DIGEST = "digest"


@dataclass(frozen=True)
class Digest:
    """The week's drops in one message, largest first."""

    week: date
    alerts: tuple[Alert, ...]

    @classmethod
    def of(cls, alerts: Sequence[Alert]) -> Digest:
        """The digest of one week's alerts (all of the same week)."""
        ordered = sorted(alerts, key=lambda alert: (-alert.drop_cents, alert.region_name))
        return cls(ordered[0].week, tuple(ordered))

    @property
    def ledger_name(self) -> str:
        """What the sent ledger records once the digest is out."""
        return DIGEST

    @property
    def dedup_id(self) -> str:
        """A key that is the same every time this week's digest is produced."""
        return f"{self.week.isoformat()}#{DIGEST}"

    @property
    def largest_drop_cents(self) -> Decimal:
        """The largest drop of the week, in cents."""
        return self.alerts[0].drop_cents

    @property
    def subject(self) -> str:
        """The email subject (ASCII, as SNS requires)."""
        count = len(self.alerts)
        regions = "1 region" if count == 1 else f"{count} regions"
        cents = "cent" if self.largest_drop_cents == 1 else "cents"
        return (
            f"Gas fell in {regions} in the week of {self.week.isoformat()}, by up to {self.largest_drop_cents} {cents}"
        )

    @property
    def body(self) -> str:
        """The plain-text email body: one line per region, largest drop first."""
        width = max(len(alert.region_name) for alert in self.alerts)
        lines = [
            f"Regular gasoline fell in {len(self.alerts)} New York regions in the week of {self.week:%A %d %B %Y}.",
            "",
            *(
                f"  {alert.region_name:<{width}}  ${money(alert.previous_price)} -> ${money(alert.price)}/gal"
                f"  -{alert.drop_cents}¢ (-{alert.drop_percent}%)"
                + ("" if alert.since_last_week else f"  since {alert.previous_week.isoformat()}")
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
