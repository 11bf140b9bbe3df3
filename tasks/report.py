"""Tasks that show a check in the Prefect UI: the run's name, its artifacts (table, chart, trend), an event per drop."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from uuid import UUID

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NONE
from prefect.client.orchestration import get_client
from prefect.events import emit_event
from prefect.runtime import flow_run

from gas_alerts.compare import CheckPlan
from gas_alerts.coverage import Coverage
from gas_alerts.prices import WeekPrices
from gas_alerts.run_report import (
    CHART_ARTIFACT_KEY,
    TABLE_ARTIFACT_KEY,
    TREND_ARTIFACT_KEY,
    chart_markdown,
    checked_weeks,
    coverage_events,
    drop_event,
    price_rows,
    run_name_for,
    suspect_events,
    trend_markdown,
)
from gas_alerts.store import WriteResult
from gas_publisher.alert import alerts_for
from gas_publisher.week import WeekRecord


def name_run_for_week(week: date) -> None:
    """Rename the current flow run after the week it actually checks (the source may lag the calendar)."""
    name_run(run_name_for(week))


def name_run(name: str) -> None:
    """Rename the current flow run, if there is one and its name differs."""
    run_id = flow_run.get_id()
    if run_id is None or flow_run.get_name() == name:
        return
    with get_client(sync_client=True) as client:
        client.update_flow_run(flow_run_id=UUID(run_id), name=name)


@task(name="publish-run-report", cache_policy=NONE)
def publish_run_report(
    weeks: Sequence[WeekPrices],
    plan: CheckPlan,
    result: WriteResult,
    message: str,
    *,
    coverage: Coverage | None = None,
    stored: Sequence[WeekRecord] = (),
) -> int:
    """Create the price table, chart and trend artifacts; emit an event per alerted drop, held value and missing region.

    The chart is drawn from the stored weeks the check read and what it wrote: no call to AWS.

    Returns the number of events.
    """
    current = weeks[-1]
    previous = weeks[-2] if len(weeks) > 1 else None
    newest = plan.newest if result.written and plan.newest is not None and plan.newest.week == current.week else None
    alerted = newest.drops if newest is not None and newest.alert else ()
    create_table_artifact(
        key=TABLE_ARTIFACT_KEY,
        table=price_rows(current, previous, alerted, newest.comparison if newest else None),
        description=f"Prices for the week of {current.week}: {message}",
    )
    charted = checked_weeks(weeks, stored, plan)
    create_markdown_artifact(
        key=CHART_ARTIFACT_KEY,
        markdown=chart_markdown(charted),
        description=f"Each region's price over the newest {len(charted)} weeks, with the alerts sent and values held",
    )
    create_markdown_artifact(
        key=TREND_ARTIFACT_KEY,
        markdown=trend_markdown(weeks, plan.revisions),
        description="State average over the checked window",
    )
    alerts = [alert for record in result.alerting for alert in alerts_for(record)]
    for alert in alerts:
        emit_event(**drop_event(alert))
    held = [event for record in plan.writes if result.written for event in suspect_events(record)]
    gaps = coverage_events(current.week, coverage) if coverage else []
    for event in [*held, *gaps]:
        emit_event(**event)
    return len(alerts) + len(held) + len(gaps)
