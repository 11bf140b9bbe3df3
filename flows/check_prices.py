"""The weekly check flow: fetch the newest weeks, compare them with the table, write new weeks conditionally."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Annotated, cast

from prefect import flow
from prefect.states import Completed
from pydantic import Field

from gas_alerts.compare import CheckPlan
from gas_alerts.logs import run_logger
from gas_alerts.redaction import install_log_redaction
from gas_alerts.run_report import expected_week, run_name_for
from gas_alerts.settings import Settings
from gas_alerts.source import DEFAULT_SOURCE
from gas_publisher.contract import REGION_BY_ID, REGION_IDS
from tasks.compare import compare_weeks
from tasks.fetch import fetch_prices
from tasks.report import name_run_for_week, publish_run_report
from tasks.store import WriteResult, read_stored_weeks, write_new_weeks

# A conflicting concurrent run means re-reading and re-planning; the second plan finds the weeks stored.
WRITE_ATTEMPTS = 3


@dataclass(frozen=True)
class CheckSummary:
    """The outcome of one check, for people and for the demo."""

    newest_week: date | None
    written: list[date] = field(default_factory=list)
    baseline: bool = False
    alerts: tuple[str, ...] = ()
    revised: list[date] = field(default_factory=list)

    @property
    def message(self) -> str:
        """One line a person reads in the UI or the terminal."""
        if self.baseline and self.written:
            outcome = f"Baseline stored ({self.newest_week})"
        elif not self.written:
            outcome = "No new week"
        else:
            weeks = f"{len(self.written)} new weeks" if len(self.written) > 1 else "New week"
            alerts = len(self.alerts)
            outcome = f"{weeks} (newest {self.newest_week}), {alerts} alert{'' if alerts == 1 else 's'}"
        if self.revised:
            count = len(self.revised)
            outcome += f"; the source revised {count} stored week{'s' if count > 1 else ''}"
        return outcome


def resolve_regions(regions: Sequence[str] | None) -> tuple[str, ...]:
    """The regions to check: all of them by default; unknown names are an error that lists the known ones."""
    if not regions:
        return REGION_IDS
    unknown = [region for region in regions if region not in REGION_BY_ID]
    if unknown:
        raise ValueError(f"unknown region(s): {', '.join(unknown)}; known regions: {', '.join(REGION_IDS)}")
    return tuple(regions)


def summarize(plan: CheckPlan, result: WriteResult) -> CheckSummary:
    """Combine the plan and what was written into the check's summary."""
    newest = plan.newest
    return CheckSummary(
        newest_week=newest.week if newest else plan.latest_stored,
        written=result.written,
        baseline=plan.baseline,
        alerts=result.alerting.drops if result.alerting else (),
        revised=result.revised,
    )


def describe_drops(plan: CheckPlan, checked: int) -> str:
    """'3 of 17 regions dropped; New York City 3.45 → 3.38, ...' for the newest week."""
    newest = plan.newest
    if newest is None or newest.previous_week is None:
        return "no comparison"
    moves = ", ".join(f"{REGION_BY_ID[r].name} {newest.previous_prices[r]} → {newest.prices[r]}" for r in newest.drops)
    return f"{len(newest.drops)} of {checked} regions dropped" + (f"; {moves}" if moves else "")


def _run_name() -> str:
    """Runs are named for the week they check; the name is corrected once the source says which week is newest."""
    return run_name_for(expected_week())


@flow(
    name="check-gas-prices",
    flow_run_name=_run_name,
    description="Check the newest NY gas prices, store any new week, and let the stream send the alerts.",
)
def check_gas_prices(
    source: str = DEFAULT_SOURCE,
    regions: list[str] | None = None,
    lookback_weeks: Annotated[int, Field(ge=2, le=50)] = 8,
    aws_credentials_block: str | None = None,
    table_name: str | None = None,
) -> CheckSummary:
    """Fetch the newest weeks, compare them with the stored ones, and write new weeks so alerts go out."""
    install_log_redaction()
    logger = run_logger()
    checked = resolve_regions(regions)
    table = table_name or Settings.from_environment().table_name
    now = datetime.now(UTC).isoformat(timespec="seconds")
    weeks = fetch_prices(source, lookback_weeks)
    name_run_for_week(weeks[-1].week)
    for _ in range(WRITE_ATTEMPTS):
        stored = read_stored_weeks(table, lookback_weeks, aws_credentials_block)
        plan = compare_weeks(weeks, stored, checked, now)
        result = write_new_weeks(plan, table, now, aws_credentials_block)
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
    summary = summarize(plan, result)
    if result.written and not plan.baseline:
        logger.info("Week %s: %s", summary.newest_week, describe_drops(plan, len(checked)))
    logger.info(summary.message)
    publish_run_report(weeks, plan, result, checked, summary.message)
    # Prefect makes a returned state the run's final state (its message shows in the UI) and hands
    # callers the state's data, so callers of the flow still receive a CheckSummary.
    return cast("CheckSummary", Completed(message=summary.message, data=summary))
