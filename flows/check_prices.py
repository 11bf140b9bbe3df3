"""The weekly check flow: fetch the newest weeks, compare them with the table, write what the stream must tell."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, cast

from prefect import flow
from prefect.states import Completed, Failed
from pydantic import Field

from gas_alerts.compare import HISTORY_WEEKS, LOOKBACK_WEEKS, MIN_LOOKBACK_WEEKS
from gas_alerts.coverage import Coverage
from gas_alerts.failures import one_line
from gas_alerts.heartbeat import reference_day, source_age_days, stale_source_note
from gas_alerts.redaction import install_log_redaction
from gas_alerts.run_report import check_run_name
from gas_alerts.settings import Settings
from gas_alerts.source import DEFAULT_SOURCE
from gas_alerts.store import today_in_new_york
from gas_alerts.summary import CheckSummary, describe_drops
from gas_publisher.contract import REGION_BY_ID
from tasks.compare import compare_weeks
from tasks.fetch import fetch_prices
from tasks.heartbeat import report_heartbeat
from tasks.logs import run_logger
from tasks.report import name_run_for_week, publish_run_report
from tasks.store import read_stored_weeks, write_new_weeks

# A conflicting concurrent run means re-reading and re-planning; the second plan finds the weeks stored.
WRITE_ATTEMPTS = 3


@flow(
    name="check-gas-prices",
    flow_run_name=check_run_name,
    description="Check the newest NY gas prices, store what is new, and let the stream tell every fall.",
)
def check_gas_prices(
    source: str = DEFAULT_SOURCE,
    lookback_weeks: Annotated[int, Field(ge=MIN_LOOKBACK_WEEKS, le=50)] = LOOKBACK_WEEKS,
    aws_credentials_block: str | None = None,
    table_name: str | None = None,
    until: date | None = None,
) -> CheckSummary:
    """Fetch the newest weeks, compare every region with the stored weeks, and write what the stream tells.

    The check always stores and compares all 17 regions; each subscriber picks regions with a filter policy. A
    failure no retry can mend ends the run at once, its state message the one line that names it. `until` reads
    the source as it stood at the end of that week (later weeks left out): to try the stack on the bundled export.
    A run that completes reports itself and the source's age to CloudWatch last, for the operator's alarms.
    """
    install_log_redaction()
    settings = Settings.from_environment()
    table = table_name or settings.table_name
    try:
        return _check(
            source,
            lookback_weeks=lookback_weeks,
            credentials_block=aws_credentials_block,
            table=table,
            settings=settings,
            until=until,
        )
    except Exception as error:
        line = one_line(error, table)
        if line is None:
            raise
        run_logger().error(line)
        return cast("CheckSummary", Failed(message=line))


def _check(
    source: str,
    *,
    lookback_weeks: int,
    credentials_block: str | None,
    table: str,
    settings: Settings,
    until: date | None,
) -> CheckSummary:
    logger = run_logger()
    if settings.app_token_note:
        logger.warning(settings.app_token_note)
    weeks = fetch_prices(source, lookback_weeks, until)
    # Stamped after the fetch (which may retry for minutes): the sweep's grace period counts from the write.
    now = datetime.now(UTC).isoformat(timespec="seconds")
    name_run_for_week(weeks[-1].week)
    coverage = Coverage.of(weeks)
    if coverage.message:
        logger.warning("The source's newest week %s: %s", weeks[-1].week, coverage.message)
    for _ in range(WRITE_ATTEMPTS):
        stored = read_stored_weeks(table, HISTORY_WEEKS, credentials_block)
        plan = compare_weeks(weeks, stored, now)
        result = write_new_weeks(plan, table, now, credentials_block)
        if not result.conflict:
            break
    else:
        raise RuntimeError(f"other runs kept changing {table}; gave up after {WRITE_ATTEMPTS} attempts")
    if plan.window_gap:
        logger.warning(
            "The %d-week window starts after the newest stored week %s; run a backfill to fill any gap",
            lookback_weeks,
            plan.latest_stored,
        )
    newest = weeks[-1].week
    age = source_age_days(newest, reference_day(today_in_new_york(), until))
    summary = CheckSummary.of(plan, result, coverage, stale_source=stale_source_note(newest, age))
    if result.written and not plan.baseline:
        logger.info("Week %s: %s", summary.newest_week, describe_drops(plan))
    for held in summary.held:
        logger.warning("Held by the data-quality guard (never alerts, never a base): %s", held)
    for week, region in summary.late_history:
        logger.info(
            "A fall first seen more than 14 days after its week is stored as history, without alert: %s, week of %s",
            REGION_BY_ID[region].name,
            week,
        )
    if summary.stale_source:
        logger.warning("The source looks stale: %s", summary.stale_source)
    logger.info(summary.message)
    publish_run_report(weeks, plan, result, summary.message, coverage=coverage, stored=stored)
    report_heartbeat(table, age, credentials_block)
    # Prefect makes a returned state the run's final state (its message shows in the UI) and hands
    # callers the state's data, so callers of the flow still receive a CheckSummary.
    return cast("CheckSummary", Completed(message=summary.message, data=summary))
