"""The main commands: `demo` (offline replay) and `check` (one weekly check against the configured AWS)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich.table import Table

from gas_alerts.compare import LOOKBACK_WEEKS, MIN_LOOKBACK_WEEKS
from gas_alerts.settings import Settings
from gas_alerts.source import DEFAULT_SOURCE
from gas_cli.commands.common import (
    console,
    finished,
    friendly_errors,
    prefect_defaults,
    show_alert,
    warn,
)
from gas_cli.commands.preflight import check_ready


def demo(
    weeks: Annotated[int, typer.Option(min=2, max=60, help="How many of the newest weeks to replay.")] = 8,
    verbose: Annotated[bool, typer.Option(help="Show Prefect's own log lines too.")] = False,
) -> None:
    """Replay recent weeks of real NY data through the flow, a local AWS, the stream and the publisher, offline."""
    prefect_defaults(quiet=not verbose)
    from gas_local.demo import WeekOutcome, run_demo

    settings = Settings.from_environment()
    console.print(
        f"[bold]Gas price alerts demo[/bold]: replaying the newest {weeks} weeks of the real NY data "
        "through the weekly flow, DynamoDB and its stream, the publisher handler and SNS, all on "
        "127.0.0.1 (moto and Prefect's embedded server). No AWS account or network needed.\n"
    )

    def on_week(outcome: WeekOutcome) -> None:
        label = "re-run of the same week: " if outcome.rerun else ""
        sent = f"{len(outcome.alerts)} emails delivered" if outcome.alerts else "no email"
        console.print(f"[bold]{outcome.week}[/bold]  {label}{outcome.message} → {sent}")
        for alert, path in outcome.alerts:
            show_alert(alert.subject, alert.body, path)

    with friendly_errors(), console.status("Starting…") as status:
        report = run_demo(weeks=weeks, settings=settings, verbose=verbose, on_progress=status.update, on_week=on_week)
    table = Table(title="Demo summary", show_header=False)
    table.add_row("Weeks checked", f"{len(report.weeks)} (+1 re-run of the last week)")
    table.add_row("Items written", str(report.items_written))
    table.add_row("Emails delivered", f"{report.alerts_sent} region alerts, {report.digests_sent} weekly digests")
    table.add_row("Re-run of the last week", report.rerun.message if report.rerun else "-")
    table.add_row("HTTP requests to the data source", str(report.http_requests))
    table.add_row("Outbox", str(report.outbox))
    if report.chart:
        table.add_row("Chart", f"{report.chart.name} in the outbox, beside the emails: open it in a browser")
    table.add_row("Wall time", f"{report.seconds:.1f} s")
    console.print(table)


def check(
    *,
    source: Annotated[
        str, typer.Option(help="Socrata JSON URL, a CSV export URL, or a CSV file path.")
    ] = DEFAULT_SOURCE,
    lookback: Annotated[
        int, typer.Option(min=MIN_LOOKBACK_WEEKS, max=50, help="Weeks to fetch and compare.")
    ] = LOOKBACK_WEEKS,
    aws_credentials_block: Annotated[
        str | None, typer.Option(help="Prefect AwsCredentials block name (default: the standard AWS chain).")
    ] = None,
    table: Annotated[str | None, typer.Option(help="Table name (default: $GAS_ALERTS_TABLE).")] = None,
    until: Annotated[
        datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="Read the source as it stood at the end of this week (for trying it)."),
    ] = None,
    verbose: Annotated[bool, typer.Option(help="Show Prefect's own log lines and tracebacks too.")] = False,
) -> None:
    """Run the weekly check once against the AWS the environment points to (AWS_ENDPOINT_URL for moto).

    It compares and stores all 17 regions; subscribers choose their regions with filter policies. A problem no
    retry can mend (credentials, the table, the data) ends it at once, with one line saying what to do.
    """
    prefect_defaults(quiet=not verbose)
    settings = Settings.from_environment()
    name = table or settings.table_name
    with friendly_errors(verbose=verbose, table=name):
        if settings.app_token_note and not settings.app_token_invalid:
            warn(settings.app_token_note)
        last = until.date() if until else None
        check_ready(
            settings,
            table=name,
            credentials_block=aws_credentials_block,
            source=source,
            lookback=lookback,
            until=last,
        )
        from flows.check_prices import check_gas_prices

        state = check_gas_prices(
            source=source,
            lookback_weeks=lookback,
            aws_credentials_block=aws_credentials_block,
            table_name=name,
            until=last,
            return_state=True,
        )
        summary = finished(state)
    console.print(summary.message, soft_wrap=True)
    if summary.stale_source:
        warn(summary.stale_source)
