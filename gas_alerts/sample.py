"""The sample messages of `gas-alerts send-test`: an alert and a digest that look real and say they are tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from gas_publisher.alert import Alert
from gas_publisher.digest import Digest

if TYPE_CHECKING:
    from mypy_boto3_sns.type_defs import MessageAttributeValueTypeDef

MARK = "TEST - "
NOTE = (
    "This is a test message sent with `gas-alerts send-test`: no price fell. It shows what an alert looks like "
    "and that email reaches you.\n\n"
)


@dataclass(frozen=True)
class Sample:
    """One test message for one topic: subject, body and the attributes filter policies look at."""

    subject: str
    body: str
    attributes: dict[str, MessageAttributeValueTypeDef]


def sample_alert(region: str, drop_cents: Decimal, price: Decimal, week: date) -> Sample:
    """A region alert with these values, marked as a test."""
    alert = Alert(week, region, price, week - timedelta(weeks=1), price + drop_cents / 100, low_weeks=1)
    return Sample(MARK + alert.subject, NOTE + alert.body, alert.message_attributes())


def sample_digest(region: str, drop_cents: Decimal, price: Decimal, week: date) -> Sample:
    """A weekly digest naming that one fall, marked as a test."""
    alert = Alert(week, region, price, week - timedelta(weeks=1), price + drop_cents / 100, low_weeks=1)
    digest = Digest.of([alert])
    return Sample(MARK + digest.subject, NOTE + digest.body, digest.message_attributes())
