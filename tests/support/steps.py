"""The flows' steps as plain functions, in the flows' order: the one copy tests and the benchmark share."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import date, datetime, timedelta

from flows.check_prices import WRITE_ATTEMPTS
from gas_alerts.compare import HISTORY_WEEKS, LOOKBACK_WEEKS
from gas_alerts.heartbeat import reference_day, source_age_days
from gas_alerts.store import WriteResult, today_in_new_york
from gas_alerts.summary import BackfillSummary
from gas_local.socrata import local_socrata
from tasks.backfill import fetch_history, plan_history, read_stored_history, record_revisions, write_history
from tasks.compare import compare_weeks
from tasks.fetch import fetch_prices
from tasks.heartbeat import report_heartbeat
from tasks.store import read_stored_weeks, write_new_weeks
from tests.support.data import NOW, api_row

# Enough regions beside the state average for the data-quality guard to judge one against the others.
STEADY = {"new_york_state": "3.50", "albany": "3.50", "nassau": "3.52", "utica": "3.48", "buffalo": "3.46"}

# Called with the attempt number around each write, e.g. to line up two racing runs.
WriteGate = Callable[[int], AbstractContextManager[object]]


def weekly_check(
    source: str,
    table_name: str,
    *,
    now: str = NOW,
    lookback_weeks: int = LOOKBACK_WEEKS,
    write_gate: WriteGate = lambda _: nullcontext(),
) -> WriteResult:
    """check-gas-prices without Prefect: fetch, then read, compare and write until no other run interferes; report."""
    weeks = fetch_prices.fn(source, lookback_weeks)
    for attempt in range(1, WRITE_ATTEMPTS + 1):
        stored = read_stored_weeks.fn(table_name, HISTORY_WEEKS)
        plan = compare_weeks.fn(weeks, stored, now)
        with write_gate(attempt):
            result = write_new_weeks.fn(plan, table_name, now)
        if not result.conflict:
            age = source_age_days(weeks[-1].week, reference_day(today_in_new_york(), None))
            report_heartbeat.fn(table_name, age)
            return result
    raise RuntimeError(f"other runs kept changing {table_name}")


def backfill(source: str, table_name: str, *, since: date | None = None, now: str = NOW) -> BackfillSummary:
    """backfill-gas-prices without Prefect: fetch the history, read the table, plan, revise, write."""
    history = fetch_history.fn(source, since)
    plan = plan_history.fn(history, read_stored_history.fn(table_name), since, now)
    revised = record_revisions.fn(plan.revisions, table_name, now)
    return BackfillSummary.of(plan, revised, write_history.fn(plan.writes, table_name))


def store_this_weeks_fall(table_name: str, checked: datetime) -> date:
    """Last week stored as a baseline and this week with Albany 5 cents lower, by checks at `checked`; this Monday.

    The weeks follow today's date, for what reads the newest calendar weeks (the sweep, status).
    """
    today = today_in_new_york()
    monday = today - timedelta(days=today.weekday())
    with local_socrata([api_row(monday - timedelta(weeks=1), **STEADY)]) as source:
        weekly_check(source.url, table_name, now=checked.isoformat())
        source.rows.append(api_row(monday, **{**STEADY, "albany": "3.45"}))
        weekly_check(source.url, table_name, now=checked.isoformat())
    return monday
