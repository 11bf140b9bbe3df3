"""The `gas-alerts` command: demo, check, and the local AWS stand-ins."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from gas_alerts.settings import ENVIRONMENT, Settings
from gas_alerts.source import DEFAULT_SOURCE
from gas_publisher.contract import REGION_IDS

console = Console(highlight=False)
errors = Console(stderr=True, highlight=False)

ENVIRONMENT_HELP = "\n\n".join(f"{name} (default: {default or 'unset'}): {what}" for name, default, what in ENVIRONMENT)
app = typer.Typer(
    help="Email alerts when New York gasoline prices fall.\n\n"
    "Environment variables override resource names:\n\n" + ENVIRONMENT_HELP,
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)
local_app = typer.Typer(
    help="Local stand-ins for AWS pieces (works against moto, LocalStack or any AWS_ENDPOINT_URL).",
    no_args_is_help=True,
)
app.add_typer(local_app, name="local")

RegionsOption = Annotated[
    str | None,
    typer.Option(help=f"Comma-separated region ids (default: all 17). Known: {', '.join(REGION_IDS)}."),
]


def split_regions(value: str | None) -> list[str] | None:
    """Parse a comma-separated region list, rejecting unknown ids with the list of known ones."""
    if not value:
        return None
    regions = [part.strip() for part in value.split(",") if part.strip()]
    unknown = [region for region in regions if region not in REGION_IDS]
    if unknown:
        raise typer.BadParameter(f"unknown region(s): {', '.join(unknown)}. Known: {', '.join(REGION_IDS)}")
    return regions


@contextmanager
def friendly_errors() -> Iterator[None]:
    """Turn the product's expected failures into one clear line on stderr and exit status 1."""
    from botocore.exceptions import BotoCoreError, ClientError

    from gas_alerts.local.delivery import NotProvisionedError
    from gas_alerts.prices import SourceDataError
    from gas_alerts.source import SourceUnavailableError

    try:
        yield
    except SourceDataError as error:
        errors.print(f"error: the source data is invalid, nothing was written: {error}")
        raise typer.Exit(1) from None
    except (SourceUnavailableError, NotProvisionedError, ValueError) as error:
        errors.print(f"error: {error}")
        raise typer.Exit(1) from None
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        hint = (
            " (run `gas-alerts local provision`, or `terraform apply` in infra/)"
            if code == "ResourceNotFoundException"
            else ""
        )
        errors.print(f"error: AWS refused the call: {error}{hint}")
        raise typer.Exit(1) from None
    except BotoCoreError as error:
        errors.print(f"error: could not reach AWS: {error}")
        raise typer.Exit(1) from None


def prefect_defaults(*, quiet: bool) -> None:
    """Settings for Prefect's embedded server that suit a terminal command (only where the user set none)."""
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    if quiet:
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")


def show_alert(alert_subject: str, body: str, path: Path) -> None:
    """Print one alert email the way a subscriber would read it."""
    console.print(Panel(body, title=f"[bold]{alert_subject}[/bold]", subtitle=str(path), expand=False))


@app.command()
def demo(
    weeks: Annotated[int, typer.Option(min=2, max=60, help="How many of the newest weeks to replay.")] = 8,
    verbose: Annotated[bool, typer.Option(help="Show Prefect's own log lines too.")] = False,
) -> None:
    """Replay recent weeks of real NY data through the flow, a local AWS, the stream and the publisher, offline."""
    prefect_defaults(quiet=not verbose)
    from gas_alerts.demo import WeekOutcome, run_demo

    settings = Settings.from_environment()
    console.print(
        f"[bold]Gas price alerts demo[/bold]: replaying the newest {weeks} weeks of the real NY data "
        "through the weekly flow, DynamoDB and its stream, the publisher handler and SNS, all on "
        "127.0.0.1 (moto and Prefect's embedded server). No AWS account or network needed.\n"
    )

    def on_week(outcome: WeekOutcome) -> None:
        console.print(f"[bold]{outcome.week}[/bold]  {outcome.message}")
        for alert, path in outcome.alerts:
            show_alert(alert.subject, alert.body, path)

    with friendly_errors(), console.status("Starting…") as status:
        report = run_demo(weeks=weeks, settings=settings, verbose=verbose, on_progress=status.update, on_week=on_week)
    table = Table(title="Demo summary", show_header=False)
    table.add_row("Weeks checked", f"{len(report.weeks)} (+1 re-run of the last week)")
    table.add_row("Items written", str(report.items_written))
    table.add_row("Alerts sent", str(report.alerts_sent))
    table.add_row("Re-run of the last week", report.rerun.message if report.rerun else "-")
    table.add_row("HTTP requests to the data source", str(report.http_requests))
    table.add_row("Outbox", str(report.outbox))
    table.add_row("Wall time", f"{report.seconds:.1f} s")
    console.print(table)


@app.command()
def check(
    source: Annotated[
        str, typer.Option(help="Socrata JSON URL, a CSV export URL, or a CSV file path.")
    ] = DEFAULT_SOURCE,
    regions: RegionsOption = None,
    lookback: Annotated[int, typer.Option(min=2, max=104, help="Weeks to fetch and compare.")] = 8,
    aws_credentials_block: Annotated[
        str | None, typer.Option(help="Prefect AwsCredentials block name (default: the standard AWS chain).")
    ] = None,
    table: Annotated[str | None, typer.Option(help="Table name (default: $GAS_ALERTS_TABLE).")] = None,
) -> None:
    """Run the weekly check once against the AWS the environment points to (AWS_ENDPOINT_URL for moto)."""
    prefect_defaults(quiet=False)
    chosen = split_regions(regions)
    from flows.check_prices import check_gas_prices

    with friendly_errors():
        summary = check_gas_prices(
            source=source,
            regions=chosen,
            lookback_weeks=lookback,
            aws_credentials_block=aws_credentials_block,
            table_name=table,
        )
    console.print(summary.message)


@local_app.command("provision")
def local_provision(
    regions: RegionsOption = None,
    min_drop_cents: Annotated[
        int | None, typer.Option(min=1, help="Only deliver drops of at least this many cents to the local inbox.")
    ] = None,
) -> None:
    """Create the table with its stream, the topic, the inbox queue and subscription, and the DLQ (idempotent)."""
    from gas_alerts.filter_policy import filter_policy
    from gas_alerts.local.provision import provision

    settings = Settings.from_environment()
    with friendly_errors():
        policy = filter_policy(split_regions(regions), min_drop_cents)
        resources = provision(settings, policy)
    console.print(f"table      {resources.table_name}\nstream     {resources.stream_arn}")
    console.print(f"topic      {resources.topic_arn}\ninbox      {resources.inbox_url}")
    console.print(f"filter     {policy or 'none (every alert)'}\ndead-letter {resources.dead_letter_url}")


@local_app.command("deliver")
def local_deliver(
    follow: Annotated[bool, typer.Option(help="Keep polling the stream until interrupted.")] = False,
    batch_size: Annotated[int, typer.Option(min=1, max=100, help="Records per handler call.")] = 10,
    max_retries: Annotated[int, typer.Option(min=0, max=10, help="Retries of a failing batch before the DLQ.")] = 2,
    poll_interval: Annotated[float, typer.Option(min=0.1, help="Seconds between polls with --follow.")] = 2.0,
) -> None:
    """Play Lambda's event source mapping: stream → filter → real handler → SNS → inbox → outbox."""
    import time

    from gas_alerts.local.delivery import LocalDelivery

    settings = Settings.from_environment()
    with friendly_errors():
        delivery = LocalDelivery.connect(settings, batch_size=batch_size, max_retry_attempts=max_retries)
        total = 0
        try:
            while True:
                stats, delivered = delivery.deliver_once()
                for alert, path in delivered:
                    show_alert(alert.subject, alert.body, path)
                total += len(delivered)
                if not follow:
                    break
                time.sleep(poll_interval)
        except KeyboardInterrupt:
            pass
    console.print(
        f"{stats.read} stream records read, {stats.matched} matched the filter, "
        f"{total} alerts delivered to {settings.outbox}"
        + (f", {stats.dead_lettered} records sent to the dead-letter queue" if stats.dead_lettered else "")
    )


def main() -> None:
    """Entry point for `python -m gas_alerts`."""
    app(prog_name="gas-alerts")
    sys.exit(0)
