"""`gas-alerts local provision|deliver`: the local stand-ins for what Terraform and Lambda do on AWS."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gas_alerts.settings import Settings
from gas_alerts.summary import counted
from gas_cli.commands.common import (
    RegionsOption,
    console,
    decimal_option,
    friendly_errors,
    show_alert,
    split_regions,
)
from gas_local.package import DEFAULT_OUTPUT


def local_provision(
    *,
    regions: RegionsOption = None,
    min_drop_cents: Annotated[
        int | None,
        typer.Option(min=1, max=1000, help="Only deliver drops of at least this many cents to the local inbox."),
    ] = None,
    max_price: Annotated[
        float | None,
        typer.Option(min=0.01, max=15, help="Only deliver alerts whose new price is at most this many $/gal."),
    ] = None,
    min_drop_percent: Annotated[
        float | None, typer.Option(min=0.1, max=100, help="Only deliver drops of at least this many percent.")
    ] = None,
    min_low_weeks: Annotated[
        int | None,
        typer.Option(min=1, max=52, help="Only deliver alerts for a price that is the lowest in this many weeks."),
    ] = None,
    digest_min_regions_fallen: Annotated[
        int | None,
        typer.Option(min=1, max=17, help="Only deliver weekly digests in which this many regions fell or more."),
    ] = None,
    digest_min_largest_drop_cents: Annotated[
        int | None,
        typer.Option(
            min=1, max=1000, help="Only deliver weekly digests whose largest drop is this many cents or more."
        ),
    ] = None,
) -> None:
    """Create the table with its stream, both topics, an inbox queue subscribed to each, and the DLQ (idempotent)."""
    from gas_alerts.filter_policy import SubscriberFilter
    from gas_local.provision import provision

    settings = Settings.from_environment()
    with friendly_errors():
        policy = SubscriberFilter(
            regions=tuple(split_regions(regions) or ()),
            min_drop_cents=decimal_option(min_drop_cents),
            max_price=decimal_option(max_price),
            min_drop_percent=decimal_option(min_drop_percent),
            min_low_weeks=min_low_weeks,
        ).policy()
        digest_policy = SubscriberFilter(
            digest=True,
            min_regions_fallen=digest_min_regions_fallen,
            min_largest_drop_cents=decimal_option(digest_min_largest_drop_cents),
        ).policy()
        resources = provision(settings, policy, digest_policy)
    lines = (
        f"table      {resources.table_name}",
        f"stream     {resources.stream_arn}",
        f"topic      {resources.topic_arn}",
        f"inbox      {resources.inbox_url}",
        f"filter     {policy or 'none (every alert)'}",
        f"digest     {resources.digest_topic_arn}",
        f"inbox      {resources.digest_inbox_url}",
        f"filter     {digest_policy or 'none (every digest)'}",
        f"dead-letter {resources.dead_letter_url}",
    )
    console.print("\n".join(lines), soft_wrap=True)


def local_deliver(
    follow: Annotated[bool, typer.Option(help="Keep polling the stream until interrupted.")] = False,
    batch_size: Annotated[
        int | None,
        typer.Option(min=1, max=100, help="Records per handler call (default: the deployed mapping's, else 10)."),
    ] = None,
    max_retries: Annotated[
        int | None,
        typer.Option(min=0, max=10, help="Retries of a failing batch before the DLQ (default: the mapping's, else 5)."),
    ] = None,
    poll_interval: Annotated[float, typer.Option(min=0.1, max=3600, help="Seconds between polls with --follow.")] = 2.0,
    package: Annotated[
        Path, typer.Option(help="The publisher zip a deployed function runs (`make package` writes it).")
    ] = DEFAULT_OUTPUT,
) -> None:
    """Play Lambda's event source mapping: stream → filter → the publisher → SNS → inboxes → outbox.

    When Terraform deployed the stack, its mapping's settings are used and the function's own package runs in a
    fresh process; otherwise the handler runs in this process with the same defaults as the Terraform variables.
    """
    import time

    from gas_local.delivery import LocalDelivery
    from gas_local.stream_runner import DeliveryStats

    settings = Settings.from_environment()
    with friendly_errors():
        overrides = {
            name: value
            for name, value in (("batch_size", batch_size), ("max_retry_attempts", max_retries))
            if value is not None
        }
        delivery = LocalDelivery.connect(settings, package=package, overrides=overrides)
        console.print(f"Delivering: {delivery.how}.", soft_wrap=True)
        alerts = digests = 0
        stats = DeliveryStats()
        try:
            while True:
                _, delivered = delivery.deliver_once(stats)
                for alert, path in delivered:
                    show_alert(alert.subject, alert.body, path)
                digests += sum(alert.is_digest for alert, _ in delivered)
                alerts += sum(not alert.is_digest for alert, _ in delivered)
                if not follow:
                    break
                time.sleep(poll_interval)
        except KeyboardInterrupt:
            pass
    console.print(
        f"{stats.read} stream records read, {stats.matched} matched the filter, "
        f"{counted(alerts, 'alert')} and {counted(digests, 'weekly digest')} delivered to {settings.outbox}"
        + (f", {stats.dead_lettered} records sent to the dead-letter queue" if stats.dead_lettered else ""),
        soft_wrap=True,
    )


def local_schedule(
    follow: Annotated[bool, typer.Option(help="Keep running the schedules until interrupted.")] = False,
    every: Annotated[
        str | None,
        typer.Option(help="Run each schedule this often instead of its own rate (30s, 5m); for trying it."),
    ] = None,
    package: Annotated[
        Path, typer.Option(help="The publisher zip a deployed function runs (`make package` writes it).")
    ] = DEFAULT_OUTPUT,
) -> None:
    """Play EventBridge Scheduler: run the publisher's hourly sweep on its deployed schedule (or the contract's).

    Without --follow, each schedule runs once, now. With it, each runs on its rate, the first one a rate from now,
    as Scheduler's first rate invocation is.
    """
    import time

    from gas_local.scheduler import LocalScheduler
    from gas_ops.sweep import DurationError, parse_duration

    try:
        interval = parse_duration(every) if every is not None else None
    except DurationError as error:
        raise typer.BadParameter(str(error), param_hint="--every") from None
    if interval is not None and interval.total_seconds() < 1:
        raise typer.BadParameter("must be at least 1 second", param_hint="--every")
    settings = Settings.from_environment()
    with friendly_errors():
        scheduler = LocalScheduler.connect(settings, package=package, every=interval)
        console.print(f"Scheduling: {scheduler.how}.", soft_wrap=True)
        for schedule in scheduler.schedules:
            console.print(f"  {schedule.name}: every {schedule.interval}, input {dict(schedule.event)}", soft_wrap=True)
        scheduler.start(at_once=not follow)
        try:
            while True:
                for result in scheduler.run_due():
                    sent = result.get("sent", []) if isinstance(result, dict) else []
                    console.print(f"sweep: {len(sent)} sent{': ' + ', '.join(sent) if sent else ''}", soft_wrap=True)
                if not follow:
                    break
                time.sleep(min(scheduler.seconds_to_next(), 5.0))
        except KeyboardInterrupt:
            pass
