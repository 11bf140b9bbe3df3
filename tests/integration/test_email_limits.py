"""SNS's email limits through the local stack: 17 alerts of a real week arrive paced, and a flood is caught."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date

import pytest

from gas_alerts import aws
from gas_alerts.filter_policy import FilterPolicyError
from gas_alerts.settings import Settings
from gas_local.delivery import LocalDelivery
from gas_local.inbox import EMAIL_MESSAGES_PER_SECOND, SubscriptionRateError
from gas_local.provision import LocalResources, provision
from gas_local.socrata import LocalSocrata, local_socrata
from gas_publisher.contract import REGION_BY_ID
from gas_publisher.handler import process_batch
from gas_publisher.pacing import MESSAGES_PER_SECOND, Pacer, Ticket
from gas_publisher.publisher import Publisher
from tests.support.data import LATEST_SNAPSHOT_CSV, csv_rows
from tests.support.steps import weekly_check

ALL_FELL = date(2022, 7, 18)  # every one of the 17 series fell that week
WEEK_BEFORE = date(2022, 7, 11)


class Unpaced(Pacer):
    """A publisher's pacing switched off: batches of 10, back to back."""

    def __init__(self) -> None:
        super().__init__(rate=10)

    def wait_for(self, count: int) -> Ticket:
        return Ticket()


@pytest.fixture
def socrata() -> Iterator[LocalSocrata]:
    """The 2026 snapshot served up to the week before 2022-07-18."""
    with local_socrata(csv_rows(LATEST_SNAPSHOT_CSV)) as server:
        server.reveal_until(WEEK_BEFORE)
        yield server


def store_the_all_fell_week(socrata: LocalSocrata, settings: Settings) -> LocalResources:
    """Provision, store the week before as the baseline, then let the check write 2022-07-18 with its 17 drops."""
    resources = provision(settings)
    weekly_check(socrata.url, settings.table_name)
    socrata.reveal_until(ALL_FELL)
    result = weekly_check(socrata.url, settings.table_name)
    [record] = result.alerting
    assert len(record.drops) == 17
    return resources


def test_seventeen_alerts_reach_an_all_regions_subscription_under_the_email_limit(
    socrata: LocalSocrata, settings: Settings
) -> None:
    """GIVEN 2022-07-18 WHEN delivered through the stack THEN 17 alerts, never more than 4 in any second."""
    store_the_all_fell_week(socrata, settings)

    _, delivered = LocalDelivery.connect(settings).deliver_once()

    alerts = sorted((alert for alert, _ in delivered if not alert.is_digest), key=lambda alert: alert.received_at_ms)
    assert sorted(alert.region for alert in alerts) == sorted(REGION_BY_ID)
    arrivals = [alert.received_at_ms for alert in alerts]
    busiest = max(sum(1 for other in arrivals if 0 <= other - first < 1000) for first in arrivals)
    assert busiest <= MESSAGES_PER_SECOND < EMAIL_MESSAGES_PER_SECOND
    gaps = [later - earlier for earlier, later in zip(arrivals, arrivals[MESSAGES_PER_SECOND:], strict=False)]
    assert min(gaps) >= 1000, "each message is a full second after the one four before it"


def test_a_digest_subscriber_gets_one_message_naming_all_17_regions(socrata: LocalSocrata, settings: Settings) -> None:
    """GIVEN 2022-07-18 WHEN delivered THEN the digest inbox holds one message for the week, listing every region."""
    store_the_all_fell_week(socrata, settings)

    _, delivered = LocalDelivery.connect(settings).deliver_once()

    [digest] = [alert for alert, _ in delivered if alert.is_digest]
    assert digest.attributes["regions_fallen"] == "17"
    assert digest.attributes["largest_drop_cents"] == "13"
    assert all(region.name in digest.body for region in REGION_BY_ID.values())
    assert digest.body.index("New York City") < digest.body.index("Watertown"), "largest drop first"


def test_an_unpaced_publisher_makes_the_local_stand_in_fail_naming_the_subscription(
    socrata: LocalSocrata, settings: Settings
) -> None:
    """A publisher that sends the 17 alerts back to back makes delivery fail loudly, naming the inbox."""
    resources = store_the_all_fell_week(socrata, settings)
    delivery = LocalDelivery.connect(settings)
    publisher = Publisher(
        aws.sns(), aws.dynamodb(), resources.topic_arn, settings.table_name, resources.digest_topic_arn, pacer=Unpaced()
    )
    delivery.runner.handler = lambda event, _: process_batch(event, publisher)

    with pytest.raises(
        SubscriptionRateError, match=f"subscription of queue {settings.inbox_queue} received 1[1-7] messages"
    ):
        delivery.deliver_once()
    assert len(list(settings.outbox.glob("*.eml"))) == 18, "the emails are written before the failure is raised"


def test_a_filter_policy_sns_would_refuse_makes_local_delivery_fail_naming_the_subscription(settings: Settings) -> None:
    """Moto accepts a price with 6 decimal places; local delivery refuses it as SNS would, naming the subscription."""
    resources = provision(settings)
    aws.sns().set_subscription_attributes(
        SubscriptionArn=resources.inbox_subscription_arn,
        AttributeName="FilterPolicy",
        AttributeValue=json.dumps({"price": [{"numeric": ["<=", 3.123456]}]}),
    )

    refused = f"the subscription of queue {settings.inbox_queue}: price 3.123456 has more than 5 decimal places"
    with pytest.raises(FilterPolicyError, match=refused):
        LocalDelivery.connect(settings)
