"""The backfill flow: load the whole price history into the table, silently, skipping weeks already stored."""

from __future__ import annotations

from datetime import UTC, date, datetime

from prefect import flow
from prefect.artifacts import create_markdown_artifact

from gas_alerts.redaction import install_log_redaction
from gas_alerts.settings import Settings
from gas_alerts.source import DEFAULT_SOURCE
from gas_alerts.summary import BackfillSummary
from tasks.backfill import fetch_history, plan_history, read_stored_history, record_revisions, write_history
from tasks.logs import run_logger

SUMMARY_ARTIFACT_KEY = "gas-prices-backfill-summary"


@flow(
    name="backfill-gas-prices",
    description="Load the whole NY gas price history into the table without alerting; safe to interrupt and re-run.",
)
def backfill_prices(
    source: str = DEFAULT_SOURCE,
    since: date | None = None,
    aws_credentials_block: str | None = None,
    table_name: str | None = None,
) -> BackfillSummary:
    """Fetch the history, write every week not stored yet in batches, and record the source's revisions."""
    install_log_redaction()
    table = table_name or Settings.from_environment().table_name
    now = datetime.now(UTC).isoformat(timespec="seconds")
    history = fetch_history(source, since)
    stored = read_stored_history(table, aws_credentials_block)
    plan = plan_history(history, stored, since, now)
    revised = record_revisions(plan.revisions, table, now, aws_credentials_block)
    put = write_history(plan.writes, table, aws_credentials_block)
    summary = BackfillSummary.of(plan, revised, put)
    create_markdown_artifact(
        "| | |\n|---|---|\n" + "\n".join(f"| {label} | {value} |" for label, value in summary.rows()),
        key=SUMMARY_ARTIFACT_KEY,
        description=summary.message,
    )
    run_logger().info(summary.message)
    return summary
