"""The backfill flow: load the whole price history into the table, silently, skipping weeks already stored."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import cast

from prefect import flow
from prefect.artifacts import create_markdown_artifact
from prefect.states import Completed, Failed
from prefect.utilities.annotations import quote

from gas_alerts.failures import one_line
from gas_alerts.redaction import install_log_redaction
from gas_alerts.run_report import backfill_run_name, backfill_start_name
from gas_alerts.settings import Settings
from gas_alerts.source import DEFAULT_SOURCE
from gas_alerts.summary import BackfillSummary
from tasks.backfill import fetch_history, plan_history, read_stored_history, record_revisions, write_history
from tasks.logs import run_logger
from tasks.report import name_run

SUMMARY_ARTIFACT_KEY = "gas-prices-backfill-summary"


@flow(
    name="backfill-gas-prices",
    flow_run_name=backfill_start_name,
    description="Load the whole NY gas price history into the table without alerting; safe to interrupt and re-run.",
)
def backfill_prices(
    source: str = DEFAULT_SOURCE,
    since: date | None = None,
    aws_credentials_block: str | None = None,
    table_name: str | None = None,
    allow_older_source: bool = False,
) -> BackfillSummary:
    """Fetch the history, write every week not stored yet in batches, and record the source's revisions.

    A source older than the table's newest week is refused, unless `allow_older_source`: then it only adds the
    weeks the table lacks and rewrites nothing. A failure no retry can mend ends the run with its one line.
    """
    install_log_redaction()
    table = table_name or Settings.from_environment().table_name
    try:
        return _backfill(source, since, aws_credentials_block, table, allow_older_source)
    except Exception as error:
        line = one_line(error, table)
        if line is None:
            raise
        run_logger().error(line)
        return cast("BackfillSummary", Failed(message=line))


def _backfill(
    source: str, since: date | None, credentials_block: str | None, table: str, allow_older: bool
) -> BackfillSummary:
    now = datetime.now(UTC).isoformat(timespec="seconds")
    history = fetch_history(source, since)
    name_run(backfill_run_name(history[0].week, history[-1].week))
    stored = read_stored_history(table, credentials_block)
    # quote: Prefect hands the tasks these weeks as they are, without first walking each of their prices looking for
    # futures (a third of the run's CPU for the full history).
    plan = plan_history(quote(history), quote(stored), since, now, allow_older)
    revised = record_revisions(quote(plan.revisions), table, now, credentials_block)
    put = write_history(quote(plan.writes), table, credentials_block)
    summary = BackfillSummary.of(plan, revised, put)
    create_markdown_artifact(
        "| | |\n|---|---|\n" + "\n".join(f"| {label} | {value} |" for label, value in summary.rows()),
        key=SUMMARY_ARTIFACT_KEY,
        description=summary.message,
    )
    run_logger().info(summary.message)
    return cast("BackfillSummary", Completed(message=summary.message, data=summary))
