"""The local stand-in for EventBridge Scheduler: rate expressions, the contract's sweep, run when due (moto)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from gas_alerts.settings import Settings
from gas_local.delivery import LocalDelivery
from gas_local.inbox import deliver_inbox
from gas_local.provision import provision
from gas_local.scheduler import LocalScheduler, UnsupportedScheduleError, rate_interval
from gas_publisher.sweep import SweepRequest
from tests.support.fakes import VirtualClock
from tests.support.steps import store_this_weeks_fall
from tests.support.told import alerts_by_week


@pytest.mark.parametrize(
    ("expression", "interval"),
    [("rate(1 hour)", timedelta(hours=1)), ("rate(5 minutes)", timedelta(minutes=5)), ("rate(2 days)", timedelta(2))],
)
def test_rate_expressions_give_their_interval(expression: str, interval: timedelta) -> None:
    """Scheduler's rate(N unit) in minutes, hours or days."""
    assert rate_interval(expression) == interval


def test_other_expressions_are_refused_by_name() -> None:
    """A cron or at() expression is named, not run at a wrong time."""
    with pytest.raises(
        UnsupportedScheduleError, match=r"rate\(\.\.\.\) expressions only, not 'cron\(0 \* \* \* \? \*\)'"
    ):
        rate_interval("cron(0 * * * ? *)")


def test_without_a_deployed_schedule_the_contracts_sweep_runs_hourly_and_sends_what_is_missing(
    settings: Settings,
) -> None:
    """No schedule on moto: the contract's hourly sweep; once due it sends this week's fall, then waits an hour."""
    provision(settings)
    delivery = LocalDelivery.connect(settings)
    week = store_this_weeks_fall(settings.table_name, datetime.now(UTC) - timedelta(hours=2))
    scheduler = LocalScheduler.connect(settings, package=settings.state_dir / "no-package.zip")
    clock = VirtualClock(1000.0)
    scheduler.clock = clock.now

    scheduler.start(at_once=False)
    early = scheduler.run_due()
    clock.sleep(3600)
    [report] = scheduler.run_due()
    later = scheduler.run_due()

    [schedule] = scheduler.schedules
    assert (schedule.interval, schedule.event) == (timedelta(hours=1), SweepRequest().to_event())
    assert "no schedule is deployed" in scheduler.how
    assert (early, later) == ([], [])
    assert report["sent"] == [f"{week}#albany", f"{week}#digest"]
    emails = [email for inbox in delivery.inboxes for email in deliver_inbox(delivery.sqs, inbox.url, lambda e: e)]
    assert alerts_by_week(emails) == Counter({(week, "albany"): 1})
    assert scheduler.seconds_to_next() == 3600
