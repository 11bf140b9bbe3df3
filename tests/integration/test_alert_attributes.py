"""The alert's price, drop_percent and low_weeks attributes on real weeks, and SNS policies that filter on each.

The expected values are computed here straight from the bundled CSV, not by the product's code.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import pytest

from gas_alerts import aws
from gas_alerts.filter_policy import SubscriberFilter
from gas_alerts.settings import Settings
from gas_local.delivery import LocalDelivery
from gas_local.inbox import drain_inbox
from gas_local.outbox import DeliveredAlert
from gas_local.provision import ensure_inbox, provision
from gas_local.socrata import LocalSocrata, local_socrata
from gas_publisher.contract import REGIONS
from tests.support.data import LATEST_SNAPSHOT_CSV, csv_rows
from tests.support.names import unique_settings
from tests.support.steps import backfill, weekly_check

pytestmark = pytest.mark.slow(seconds=20)

WEEK, WEEK_BEFORE = date(2022, 7, 18), date(2022, 7, 11)  # every series fell that week
# More than the 52 weeks low_weeks can count back, so the count is the data's, not the table's length.
HISTORY_FROM = date(2021, 5, 3)


def csv_prices() -> dict[date, dict[str, Decimal]]:
    """Each week's prices by region id, read from the CSV with the csv module alone."""
    header_to_region = {region.csv_header: region.id for region in REGIONS}
    with LATEST_SNAPSHOT_CSV.open(encoding="utf-8") as handle:
        return {
            datetime.strptime(row["Date"], "%m/%d/%Y").date(): {
                header_to_region[name]: Decimal(value)
                for name, value in row.items()
                if name in header_to_region and value
            }
            for row in csv.DictReader(handle)
        }


PRICES = csv_prices()
NOW, BEFORE = PRICES[WEEK], PRICES[WEEK_BEFORE]


def expected_low_weeks(region: str) -> int:
    """Weeks in a row, back from the week before, in which the region's price was higher than this week's."""
    count = 0
    for day in sorted((day for day in PRICES if day < WEEK), reverse=True):
        if PRICES[day][region] <= NOW[region] or count == 52:
            break
        count += 1
    return count


def percent(region: str) -> Decimal:
    return (100 * (BEFORE[region] - NOW[region]) / BEFORE[region]).quantize(Decimal("0.1"))


POLICIES = {
    "under-4.70": SubscriberFilter(max_price=Decimal("4.70")),
    "at-least-2.5-percent": SubscriberFilter(min_drop_percent=Decimal("2.5")),
    "lowest-in-8-weeks": SubscriberFilter(min_low_weeks=8),
}
EXPECTED = {
    "under-4.70": {region for region in NOW if NOW[region] <= Decimal("4.70")},
    "at-least-2.5-percent": {region for region in NOW if percent(region) >= Decimal("2.5")},
    "lowest-in-8-weeks": {region for region in NOW if expected_low_weeks(region) >= 8},
}


@dataclass(frozen=True)
class Delivered:
    """What the stack delivered for 2022-07-18: the unfiltered inbox's alerts and each policy's queue URL."""

    alerts: list[DeliveredAlert]
    queues: dict[str, str]


@pytest.fixture(scope="module")
def delivered(moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Delivered:
    """2022-07-18 checked and delivered, with one more inbox subscribed per policy.

    Done once for the module: each test reads the unfiltered inbox's alerts or drains a queue of its own.
    """
    folder = tmp_path_factory.mktemp("attributes")
    settings = unique_settings("", folder / "outbox", folder / "state")
    resources = provision(settings)
    sns, sqs = aws.sns(), aws.sqs()
    queues = {
        name: ensure_inbox(
            sns, sqs, topic_arn=resources.topic_arn, queue=f"{settings.inbox_queue}-{index}", policy=chosen.policy()
        ).url
        for index, (name, chosen) in enumerate(POLICIES.items())
    }
    with local_socrata(csv_rows(LATEST_SNAPSHOT_CSV)) as source:
        stored(source, settings)
    _, pairs = LocalDelivery.connect(settings).deliver_once()
    return Delivered([alert for alert, _ in pairs if not alert.is_digest], queues)


def stored(source: LocalSocrata, settings: Settings) -> None:
    """Backfill over a year of history before 2022-07-18, then let the weekly check write that week."""
    source.reveal_until(WEEK)
    backfill(source.url, settings.table_name, since=HISTORY_FROM)
    assert weekly_check(source.url, settings.table_name).alerting != []


def test_every_alert_carries_its_price_percent_and_low_weeks(delivered: Delivered) -> None:
    """Each of the 17 alerts' attributes equals the price, the percentage fall and the weeks-higher count of the CSV."""
    seen = {
        alert.region: (alert.attributes["price"], alert.attributes["drop_percent"], alert.attributes["low_weeks"])
        for alert in delivered.alerts
    }
    assert seen == {
        region: (f"{NOW[region]:.2f}", str(percent(region)), str(expected_low_weeks(region))) for region in NOW
    }


@pytest.mark.parametrize("name", list(POLICIES))
def test_a_policy_on_each_attribute_selects_exactly_the_right_alerts(delivered: Delivered, name: str) -> None:
    """A subscription filtering on price, drop_percent or low_weeks receives exactly the regions the CSV says."""
    received = {alert.region for alert in drain_inbox(aws.sqs(), delivered.queues[name])}
    assert received == EXPECTED[name]
    assert set() < received < set(NOW), "the policy really selects: some regions in, some out"
