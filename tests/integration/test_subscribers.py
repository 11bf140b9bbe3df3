"""`gas-alerts subscribers`: every subscription of both topics, its status, and its filter in words."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from botocore.stub import Stubber
from typer.testing import CliRunner

from gas_alerts import aws
from gas_alerts.filter_policy import SubscriberFilter, describe_policy
from gas_alerts.settings import Settings
from gas_alerts.subscriptions import PENDING, subscriptions_of
from gas_cli.app import app
from gas_local.inbox import drain_inbox
from gas_local.provision import provision

pytestmark = pytest.mark.slow(seconds=5)


@pytest.mark.parametrize(
    ("choice", "words"),
    [
        (SubscriberFilter(), "every alert"),
        (
            SubscriberFilter(regions=("new_york_city", "albany"), min_drop_cents=Decimal(3)),
            "Albany and New York City, drops of 3¢ or more",
        ),
        (
            SubscriberFilter(regions=("buffalo", "rochester", "utica"), max_price=Decimal("3.25"), min_low_weeks=4),
            "Buffalo, Rochester and Utica, at $3.25/gal or less, the lowest in 4 weeks or more",
        ),
        (SubscriberFilter(min_drop_percent=Decimal("1.5")), "every region, drops of 1.5% or more"),
        (SubscriberFilter(digest=True), "every digest"),
        (
            SubscriberFilter(digest=True, min_regions_fallen=5, min_largest_drop_cents=Decimal(4)),
            "weeks when 5 regions or more fell, with a largest drop of 4¢ or more",
        ),
    ],
)
def test_a_filter_policy_reads_as_the_choice_it_came_from(choice: SubscriberFilter, words: str) -> None:
    """Each policy SubscriberFilter builds is told in words."""
    assert describe_policy(choice.policy(), digest=choice.digest) == words


def test_a_policy_the_product_did_not_write_is_shown_as_it_is() -> None:
    """A hand-written policy is not guessed at: its JSON is shown."""
    policy = {"region": [{"prefix": "new"}]}
    assert describe_policy(policy, digest=False) == json.dumps(policy)


def test_the_command_lists_both_topics_subscriptions_with_status_and_filter(settings: Settings) -> None:
    """Each subscription of both topics, confirmed, with its filter in words, and the 15-minute note."""
    choice = SubscriberFilter(regions=("albany",), min_drop_cents=Decimal(2))
    provision(settings, choice.policy(), SubscriberFilter(digest=True, min_regions_fallen=3).policy())

    result = CliRunner().invoke(app, ["subscribers"], env=settings.to_environment())

    assert result.exit_code == 0, result.output
    assert settings.topic_name in result.output
    assert settings.digest_topic_name in result.output
    assert "confirmed" in result.output
    assert "Albany, drops of 2¢ or more" in result.output
    assert "weeks when 3 regions or more fell" in result.output
    assert "up to 15 minutes" in result.output


def test_a_subscription_awaiting_confirmation_is_shown_as_pending() -> None:
    """AWS lists an unconfirmed email subscription under the ARN PendingConfirmation: nothing reaches it yet."""
    sns = aws.sns()
    topic = "arn:aws:sns:us-east-1:123456789012:gas-alerts-price-drops"
    with Stubber(sns) as stub:
        stub.add_response(
            "list_subscriptions_by_topic",
            {
                "Subscriptions": [
                    {
                        "SubscriptionArn": "PendingConfirmation",
                        "Owner": "123456789012",
                        "Protocol": "email",
                        "Endpoint": "new@example.com",
                        "TopicArn": topic,
                    }
                ]
            },
            {"TopicArn": topic},
        )
        [found] = subscriptions_of(sns, topic)

    assert (found.endpoint, found.status, found.policy) == ("new@example.com", PENDING, None)


def test_send_test_reaches_the_subscribers_whose_filter_admits_it(settings: Settings) -> None:
    """A sample alert for Albany, 6 cents, reaches a subscriber of Albany drops of 5 cents or more, and the digest."""
    resources = provision(settings, SubscriberFilter(regions=("albany",), min_drop_cents=Decimal(5)).policy(), {})
    runner = CliRunner()

    shown = runner.invoke(app, ["send-test", "--region", "albany", "--drop-cents", "6"], env=settings.to_environment())
    filtered = runner.invoke(
        app, ["send-test", "--topic", "alerts", "--region", "nassau"], env=settings.to_environment()
    )

    assert shown.exit_code == 0, shown.output
    assert filtered.exit_code == 0, filtered.output
    [alert] = drain_inbox(aws.sqs(), resources.inbox_url)
    [digest] = drain_inbox(aws.sqs(), resources.digest_inbox_url)
    assert alert.subject == "TEST - Gas fell 6 cents in Albany: $3.00/gal"
    assert alert.body.startswith("This is a test message sent with `gas-alerts send-test`: no price fell.")
    assert (alert.region, alert.drop_cents) == ("albany", "6")
    assert digest.subject.startswith("TEST - Gas fell in 1 region in the week of ")
    assert f"published to {settings.topic_name}: TEST - Gas fell 6 cents in Albany" in shown.output


def test_send_test_refuses_an_unknown_region_in_one_line() -> None:
    """A region id that does not exist is a usage error that lists the known ones."""
    result = CliRunner().invoke(app, ["send-test", "--region", "nyc"])

    assert result.exit_code == 2
    assert "unknown region(s): nyc" in result.output
