"""The sweep heals from the table what the stream lost: every told message the ledger lacks, once (moto).

The weekly check's steps store real weeks while the publisher is down; the sweep then reads the table and the sent
ledger and publishes through the real publisher to the subscribers' inboxes; the stream delivering its old records
afterwards sends nothing twice.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from typer.testing import CliRunner

from gas_alerts import aws
from gas_alerts.compare import walk
from gas_alerts.settings import Settings
from gas_cli.app import app
from gas_local.delivery import LocalDelivery
from gas_local.inbox import deliver_inbox
from gas_local.outbox import DeliveredAlert
from gas_local.provision import LocalResources, provision
from gas_local.socrata import local_socrata
from gas_ops.publisher import lambda_environment, publisher_handler
from gas_ops.stream import InvocationContext
from gas_publisher.contract import METRIC_UNSENT_MESSAGES, REGION_IDS, SWEEP_EVENT_KEY
from gas_publisher.ledger import SentLedger
from gas_publisher.publisher import Publisher
from gas_publisher.sweep import InvalidSweepRequestError, SweepReport, SweepRequest, sweep
from tests.support.data import LATEST_SNAPSHOT_CSV, csv_rows, snapshot_weeks
from tests.support.fakes import FlakySns, region_is, virtual_pacer
from tests.support.metrics import samples
from tests.support.steps import store_this_weeks_fall, weekly_check
from tests.support.told import alerts_by_week, digests_by_week

pytestmark = pytest.mark.slow(seconds=20)

runner = CliRunner()
BASELINE = date(2026, 1, 5)
# Eight weeks stored while the publisher is down: a check a few days after each week came out.
OUTAGE = [BASELINE + timedelta(weeks=n) for n in range(1, 9)]


def checked_at(week: date) -> datetime:
    """When the check that stored a week ran: Thursday of its week, 10:00 New York time (15:00 UTC)."""
    return datetime(week.year, week.month, week.day, 15, tzinfo=UTC) + timedelta(days=3)


def store_weeks(settings: Settings, weeks: list[date]) -> None:
    """The check stores the baseline, then each week as it comes out (nothing is delivered: the publisher is down)."""
    with local_socrata(csv_rows(LATEST_SNAPSHOT_CSV)) as source:
        for week in [BASELINE, *weeks]:
            source.reveal_until(week)
            weekly_check(source.url, settings.table_name, now=checked_at(week).isoformat())


def received(delivery: LocalDelivery) -> list[DeliveredAlert]:
    """What reached the subscribers' inboxes since the last look, without reading the stream."""
    return [email for inbox in delivery.inboxes for email in deliver_inbox(delivery.sqs, inbox.url, lambda e: e)]


def publisher(resources: LocalResources, settings: Settings, sns: Any = None) -> Publisher:
    """The real publisher on moto, paced on a virtual clock (the pacing has tests of its own)."""
    return Publisher(
        sns or aws.sns(),
        aws.dynamodb(),
        resources.topic_arn,
        settings.table_name,
        resources.digest_topic_arn,
        pacer=virtual_pacer(),
    )


def run_sweep(
    resources: LocalResources, settings: Settings, now: datetime, request: SweepRequest | None = None, sns: Any = None
) -> SweepReport:
    """One sweep at `now`, as the scheduled invocation runs it."""
    return sweep(
        publisher(resources, settings, sns),
        aws.dynamodb(),
        aws.cloudwatch(),
        settings.table_name,
        request or SweepRequest(),
        now=now,
        deadline_ms=None,
    )


def true_falls(weeks: list[date]) -> set[tuple[date, str]]:
    """Every (week, region) that fell in the final data, over these weeks."""
    history = [week for week in snapshot_weeks(LATEST_SNAPSHOT_CSV) if week.week <= weeks[-1]]
    return {
        (step.week, region)
        for step in walk(history, {}, REGION_IDS)
        if step.week in weeks
        for region in step.comparison.drops
    }


def test_a_publisher_outage_of_eight_weeks_loses_nothing_and_the_late_stream_sends_nothing_twice(
    settings: Settings,
) -> None:
    """Eight weeks stored with the publisher down: one sweep sends every fall and digest once; the stream then none."""
    resources = provision(settings)
    delivery = LocalDelivery.connect(settings)
    store_weeks(settings, OUTAGE)

    report = run_sweep(resources, settings, checked_at(OUTAGE[-1]) + timedelta(hours=1))
    swept = received(delivery)
    late_stream = [email for email, _ in delivery.deliver_once()[1]]
    again = run_sweep(resources, settings, checked_at(OUTAGE[-1]) + timedelta(hours=2))

    falls = true_falls(OUTAGE)
    assert len(falls) > 40, "the eight real weeks hold many falls"
    assert alerts_by_week(swept) == Counter(dict.fromkeys(falls, 1))
    assert digests_by_week(swept) == Counter(dict.fromkeys(falls, 1)), "one digest a week, naming each fall once"
    assert (report.unsent, report.waiting, report.malformed) == ([], [], [])
    assert late_stream == [], "the stream's records, delivered after the sweep, find everything sent"
    assert (again.sent, again.unsent) == ([], [])
    assert samples(settings.table_name, METRIC_UNSENT_MESSAGES) == (2, 0.0)


def test_items_younger_than_the_grace_period_are_left_to_the_stream(settings: Settings) -> None:
    """Within 30 minutes of the check the sweep sends nothing; `older_than_seconds` 0 takes them at once."""
    resources = provision(settings)
    delivery = LocalDelivery.connect(settings)
    store_weeks(settings, OUTAGE[:1])
    just_after = checked_at(OUTAGE[0]) + timedelta(minutes=10)

    early = run_sweep(resources, settings, just_after)
    nothing = received(delivery)
    now = run_sweep(resources, settings, just_after, SweepRequest(older_than_seconds=0))

    assert (early.sent, early.unsent) == ([], [])
    assert len(early.waiting) > 1
    assert nothing == []
    assert sorted(now.sent) == sorted(early.waiting)
    assert samples(settings.table_name, METRIC_UNSENT_MESSAGES) == (2, 0.0), (
        "a message the stream is still delivering is not unsent"
    )


def test_a_message_another_consumer_holds_a_live_claim_on_is_left_to_it(settings: Settings) -> None:
    """A live claim of the stream mapping's invocation keeps the sweep off that message; the rest goes out."""
    resources = provision(settings)
    delivery = LocalDelivery.connect(settings)
    store_weeks(settings, OUTAGE[:1])
    now = checked_at(OUTAGE[0]) + timedelta(hours=1)
    week = OUTAGE[0]
    falls = sorted(region for (fall_week, region) in true_falls(OUTAGE[:1]) if fall_week == week)
    ledger = SentLedger(aws.dynamodb(), settings.table_name)
    now_ms = int(now.timestamp() * 1000)
    assert ledger.claim(week, {falls[0]: "the mapping 0001"}, "mapping", now_ms, now_ms + 60_000)

    report = run_sweep(resources, settings, now)

    assert report.in_flight == [f"{week}#{falls[0]}"]
    assert (week, falls[0]) not in alerts_by_week(received(delivery))
    assert len(report.sent) == len(falls), "every other fall and the digest"


def test_what_the_sweep_could_not_send_is_put_as_unsent_messages_and_sent_by_the_next_one(settings: Settings) -> None:
    """SNS refuses one region: it is counted in UnsentMessages, and the next sweep sends it, once."""
    resources = provision(settings)
    delivery = LocalDelivery.connect(settings)
    store_weeks(settings, OUTAGE[:1])
    falls = sorted(region for (_, region) in true_falls(OUTAGE[:1]))
    now = checked_at(OUTAGE[0]) + timedelta(hours=1)

    first = run_sweep(resources, settings, now, sns=FlakySns(aws.sns(), region_is(falls[0])))
    after_first = samples(settings.table_name, METRIC_UNSENT_MESSAGES)
    second = run_sweep(resources, settings, now + timedelta(hours=1))

    emails = received(delivery)
    assert first.unsent == [f"{OUTAGE[0]}#{falls[0]}"]
    assert second.sent == first.unsent
    assert alerts_by_week(emails) == Counter({(OUTAGE[0], region): 1 for region in falls})
    assert after_first == (1, 1.0)
    assert samples(settings.table_name, METRIC_UNSENT_MESSAGES) == (2, 1.0)


def test_an_item_that_is_not_a_week_item_is_reported_and_counted_as_unsent(settings: Settings) -> None:
    """A corrupted week item is named with its key and counted, so the alarm fires; the other weeks still go out."""
    resources = provision(settings)
    store_weeks(settings, OUTAGE[:2])
    aws.dynamodb().update_item(
        TableName=settings.table_name,
        Key={"pk": {"S": "wuxr-ni2i"}, "sk": {"S": OUTAGE[0].isoformat()}},
        UpdateExpression="REMOVE prices",
    )

    report = run_sweep(resources, settings, checked_at(OUTAGE[1]) + timedelta(hours=1))

    assert [line.split(":")[0] for line in report.malformed] == [
        f"table {settings.table_name} holds an item that is not a week item (pk=wuxr-ni2i, sk={OUTAGE[0]})"
    ]
    assert "prices" in report.malformed[0]
    assert report.sent, "the readable week still goes out"
    assert samples(settings.table_name, METRIC_UNSENT_MESSAGES) == (1, 1.0)


def test_the_handler_runs_a_sweep_for_the_scheduled_event(settings: Settings) -> None:
    """The function's entry point tells the schedule's event from a stream batch and reports what it swept."""
    resources = provision(settings)
    handler = publisher_handler(
        lambda_environment(settings.table_name, resources.topic_arn, resources.digest_topic_arn)
    )

    response = handler(SweepRequest().to_event(), InvocationContext())
    with pytest.raises(InvalidSweepRequestError, match="weeks must be 1 to 52"):
        handler({SWEEP_EVENT_KEY: {"weeks": 0}}, InvocationContext())

    assert response == {"sent": [], "unsent": [], "in_flight": [], "waiting": [], "malformed": [], "deferred": []}
    assert samples(settings.table_name, METRIC_UNSENT_MESSAGES) == (1, 0.0)


def test_a_quiet_sweep_costs_two_queries_one_batch_get_and_one_metric(
    settings: Settings, dynamodb_calls: Counter[str]
) -> None:
    """With everything sent, a sweep reads the weeks and late items in a Query each, the ledger in one BatchGetItem."""
    resources = provision(settings)
    store_weeks(settings, OUTAGE[:2])
    now = checked_at(OUTAGE[1]) + timedelta(hours=1)
    run_sweep(resources, settings, now)
    dynamodb_calls.clear()

    report = run_sweep(resources, settings, now)

    assert report.sent == []
    assert dynamodb_calls == Counter({"Query": 2, "BatchGetItem": 1})
    assert samples(settings.table_name, METRIC_UNSENT_MESSAGES) == (2, 0.0)


def test_the_sweep_command_sends_what_is_missing_and_says_so(settings: Settings) -> None:
    """`gas-alerts sweep` sends this week's unsent fall and digest; run again, it finds nothing missing."""
    provision(settings)
    delivery = LocalDelivery.connect(settings)
    week = store_this_weeks_fall(settings.table_name, datetime.now(UTC) - timedelta(hours=2))

    first = runner.invoke(app, ["sweep"], env=settings.to_environment())
    second = runner.invoke(app, ["sweep"], env=settings.to_environment())

    assert first.exit_code == 0, first.output
    assert f"Sent 2: {week}: Albany, digest" in first.output
    assert second.exit_code == 0, second.output
    assert "Sent 0: nothing was missing" in second.output
    emails = received(delivery)
    assert alerts_by_week(emails) == Counter({(week, "albany"): 1})
    alert, digest = sorted(emails, key=lambda email: email.received_at_ms)
    assert digest.received_at_ms - alert.received_at_ms >= 1000, "the sweep publishes one a second, beside the stream"


def test_older_than_0_takes_what_the_grace_period_leaves_and_a_bad_duration_is_refused(settings: Settings) -> None:
    """Items written a minute ago wait for the stream; `--older-than 0` takes them; `--older-than soon` is refused."""
    provision(settings)
    week = store_this_weeks_fall(settings.table_name, datetime.now(UTC) - timedelta(minutes=1))

    waiting = runner.invoke(app, ["sweep"], env=settings.to_environment())
    now = runner.invoke(app, ["sweep", "--older-than", "0"], env=settings.to_environment())
    bad = runner.invoke(app, ["sweep", "--older-than", "soon"], env=settings.to_environment())

    assert "Sent 0" in waiting.output
    assert "Left to the stream: 2" in waiting.output
    assert f"Sent 2: {week}: Albany, digest" in now.output
    assert bad.exit_code == 2
    assert "'soon' is not a duration: use a whole number with s, m, h or d" in bad.output


def test_a_backlog_larger_than_one_invocation_goes_out_over_two_sweeps_and_is_not_unsent(settings: Settings) -> None:
    """Eight weeks due, 10 s of the invocation left past the budget: the oldest 36 go now, the rest next sweep."""
    resources = provision(settings)
    store_weeks(settings, OUTAGE)
    now = checked_at(OUTAGE[-1]) + timedelta(hours=1)

    def swept(moment: datetime, left_ms: int | None) -> SweepReport:
        at = publisher(resources, settings)
        at._clock = moment.timestamp  # the invocation's clock, which its deadline is read against
        deadline = None if left_ms is None else int(moment.timestamp() * 1000) + left_ms
        return sweep(
            at, aws.dynamodb(), aws.cloudwatch(), settings.table_name, SweepRequest(), now=moment, deadline_ms=deadline
        )

    first = swept(now, 35_000)  # a 60 s invocation 25 s in: 10 s past the 25 s budget
    second = swept(now + timedelta(hours=1), None)

    assert len(first.sent) == 9 * 4, "10 windows of 4 messages start within 10 s; one is kept back for the digests"
    assert first.unsent == []
    assert first.sent == sorted(first.sent, key=lambda dedup_id: dedup_id.split("#")[0]), "oldest week first"
    assert sorted(second.sent) == sorted(first.deferred)
    assert len(first.deferred) > 20
    assert samples(settings.table_name, METRIC_UNSENT_MESSAGES) == (2, 0.0), "a backlog going out is not unsent"
