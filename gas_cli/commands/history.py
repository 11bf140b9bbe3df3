"""`gas-alerts backfill` (load the whole history) and `gas-alerts replay` (the alerts past weeks would have sent)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from gas_alerts.prices import WeekPrices
from gas_alerts.settings import Settings
from gas_alerts.source import DEFAULT_SOURCE
from gas_alerts.summary import BackfillSummary
from gas_cli.commands.common import (
    RegionsOption,
    console,
    decimal_option,
    fail,
    finished,
    friendly_errors,
    prefect_defaults,
    split_regions,
    warn,
)
from gas_cli.commands.preflight import check_ready
from gas_publisher.contract import REGION_BY_ID, REGION_IDS

DATE_FORMATS = ["%Y-%m-%d"]
# The backfill's check before Prefect starts reads this many of a file's newest weeks (the flow reads them all).
PREFLIGHT_WEEKS = 8


def backfill(
    *,
    since: Annotated[
        datetime | None, typer.Option(formats=DATE_FORMATS, help="Load only weeks from this date on (default: all).")
    ] = None,
    source: Annotated[
        str, typer.Option(help="Socrata JSON URL (paged), a CSV export URL, or a CSV file path.")
    ] = DEFAULT_SOURCE,
    aws_credentials_block: Annotated[
        str | None, typer.Option(help="Prefect AwsCredentials block name (default: the standard AWS chain).")
    ] = None,
    table: Annotated[str | None, typer.Option(help="Table name (default: $GAS_ALERTS_TABLE).")] = None,
    allow_older_source: Annotated[
        bool,
        typer.Option(
            help="Load a source whose newest week is older than the table's: it only adds the weeks the table lacks."
        ),
    ] = False,
    verbose: Annotated[bool, typer.Option(help="Show Prefect's own log lines and tracebacks too.")] = False,
) -> None:
    """Load the whole price history into the table without alerting; weeks already stored are skipped.

    The newest three weeks (14 days) are left to the check, which tells their falls. A source older than the
    table's newest week is refused: it would rewrite stored weeks with older values.
    """
    prefect_defaults(quiet=not verbose)
    settings = Settings.from_environment()
    name = table or settings.table_name
    with friendly_errors(verbose=verbose, table=name):
        if settings.app_token_note and not settings.app_token_invalid:
            warn(settings.app_token_note)
        check_ready(
            settings, table=name, credentials_block=aws_credentials_block, source=source, lookback=PREFLIGHT_WEEKS
        )
        summary = _run_backfill(source, since, aws_credentials_block, name, allow_older_source)
    result = Table(title="Backfill summary", show_header=False)
    for label, value in summary.rows():
        result.add_row(label, value)
    console.print(result)


def _run_backfill(
    source: str, since: datetime | None, credentials_block: str | None, table: str, allow_older: bool
) -> BackfillSummary:
    """The backfill flow with a progress bar that starts with the writes and leaves nothing behind on a failure."""
    from flows.backfill import backfill_prices
    from tasks.progress import listening_to_progress

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    bar = Progress(*columns, console=console, transient=True)
    task = bar.add_task("Starting the flow, reading the history", total=None)

    def show(done: int, total: int) -> None:
        if done == 0:
            # The clock starts with the writes, not with Prefect's start-up.
            bar.reset(task, description="Writing weeks", total=total)
        bar.update(task, completed=done)

    with bar, listening_to_progress(show):
        state = backfill_prices(
            source=source,
            since=since.date() if since else None,
            aws_credentials_block=credentials_block,
            table_name=table,
            allow_older_source=allow_older,
            return_state=True,
        )
    summary: BackfillSummary = finished(state)
    return summary


def replay(
    *,
    start: Annotated[datetime, typer.Option("--from", formats=DATE_FORMATS, help="First week to replay.")],
    end: Annotated[
        datetime | None, typer.Option("--to", formats=DATE_FORMATS, help="Last week to replay (default: the newest).")
    ] = None,
    regions: RegionsOption = None,
    min_drop_cents: Annotated[
        int | None,
        typer.Option(min=1, max=1000, help="Only drops of at least this many cents, as a filter policy does."),
    ] = None,
    max_price: Annotated[
        float | None,
        typer.Option(min=0.01, max=15, help="Only weeks whose new price is at most this, in $/gal (e.g. 3.00)."),
    ] = None,
    min_drop_percent: Annotated[
        float | None,
        typer.Option(min=0.1, max=100, help="Only drops of at least this percentage of the compared price."),
    ] = None,
    min_low_weeks: Annotated[
        int | None, typer.Option(min=1, max=52, help="Only prices lower than in at least this many weeks before.")
    ] = None,
    source: Annotated[
        str | None,
        typer.Option(help="A CSV file or export URL, or a Socrata URL (default: the weeks stored in the table)."),
    ] = None,
    table: Annotated[str | None, typer.Option(help="Table name (default: $GAS_ALERTS_TABLE).")] = None,
    chart: Annotated[
        Path | None,
        typer.Option(
            help="Also draw the replayed weeks as an SVG file: each region's price, a dot on each week that would have "
            "alerted under this filter, a ring on each value held.",
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Print the alerts the weekly check would have sent for past weeks, the values it held, and a count per region."""
    from gas_alerts.filter_policy import SubscriberFilter, describe_policy
    from gas_alerts.replay import replay as run_replay

    chosen = split_regions(regions)
    if chart is not None and not chart.parent.is_dir():
        fail(f"--chart {chart}: the folder {chart.parent} does not exist")
    with friendly_errors():
        subscriber = SubscriberFilter(
            regions=tuple(chosen or ()),
            min_drop_cents=decimal_option(min_drop_cents),
            max_price=decimal_option(max_price),
            min_drop_percent=decimal_option(min_drop_percent),
            min_low_weeks=min_low_weeks,
        )
        policy = subscriber.policy()
        history = _history(source, table)
        last = end.date() if end else max((week.week for week in history), default=start.date())
        report = run_replay(history, start=start.date(), end=last, regions=chosen or REGION_IDS, policy=policy)
    for alert in report.alerts:
        lows = f", lowest in {alert.low_weeks} weeks" if alert.low_weeks > 1 else ""
        console.print(
            f"{alert.week}  {alert.subject}  (was ${alert.previous_price:.2f} on {alert.previous_week}, "
            f"-{alert.drop_percent}%{lows})",
            soft_wrap=True,
        )
    for value in report.held:
        console.print(
            f"{value.week}  held {REGION_BY_ID[value.region].name} {value.price}: {value.reason}", soft_wrap=True
        )
    counts = Table(title="Alerts per region")
    counts.add_column("region")
    counts.add_column("name")
    counts.add_column("alerts", justify="right")
    for region, count in report.per_region().items():
        counts.add_row(region, REGION_BY_ID[region].name, str(count))
    console.print(counts)
    threshold = f", filter {policy}" if policy else ""
    span = f"{report.weeks[0]} → {report.weeks[-1]}" if report.weeks else "no week in that range"
    weeks = "week" if len(report.weeks) == 1 else "weeks"
    held = f", {len(report.held)} values held by the data-quality guard" if report.held else ""
    console.print(
        f"{len(report.alerts)} alerts in {len(report.weeks)} {weeks} ({span}){threshold}{held}", soft_wrap=True
    )
    if chart is not None:
        from gas_alerts.chart import price_chart

        drawn = price_chart(
            report.chart_weeks(history),
            title="What the replay would have sent",
            note=f"Filter: {describe_policy(policy, digest=False)}.",
            muted=set(REGION_IDS) - set(report.regions),
        )
        with friendly_errors():
            chart.write_text(drawn, encoding="utf-8")
        console.print(f"Chart: {chart} ({chart.stat().st_size // 1000} KB)", soft_wrap=True)


def _history(source: str | None, table: str | None) -> list[WeekPrices]:
    """The weeks to replay: from the source when one is given, else every week stored in the table."""
    if source:
        from gas_alerts.source import load_history

        return load_history(source, app_token=Settings.from_environment().source_token())
    from gas_alerts import aws
    from gas_alerts.replay import history_from_table
    from gas_alerts.store import PriceTable

    stored = PriceTable(aws.dynamodb(), table or Settings.from_environment().table_name)
    return history_from_table(stored.all_weeks())
