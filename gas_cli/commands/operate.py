"""The operator's commands for the deployed stack (AWS or moto): status, sweep, redrive, subscribers, send-test."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer

from gas_alerts.settings import Settings
from gas_cli.commands.common import console, decimal_option, errors, fail, friendly_errors
from gas_publisher.contract import REGION_BY_ID, SWEEP_GRACE_SECONDS, SWEEP_WEEKS


def status() -> None:
    """Show the whole service's health: the last check, the source, unsent alerts, dead letters, subscribers, alarms.

    Exits 0 when all is well and 1 when something needs the operator, each problem on one line with its next step.
    """
    from gas_ops.status import service_health

    settings = Settings.from_environment()
    with friendly_errors(table=settings.table_name), console.status("Looking at every part…"):
        health = service_health(settings)
    console.print(f"[bold]gas-alerts on {settings.table_name}[/bold]")
    width = max(len(finding.label) for finding in health.findings)
    for finding in health.findings:
        value = f"[red]{finding.value}[/red]" if finding.problem else finding.value
        console.print(f"  {finding.label + ':':<{width + 1}}  {value}", soft_wrap=True, markup=True)
    for problem in health.problems:
        errors.print(f"problem: {problem}", soft_wrap=True)
    if health.problems:
        raise typer.Exit(1)
    console.print("All is well.")


def sweep(
    older_than: Annotated[
        str,
        typer.Option(
            help="Take only items written longer ago than this (30m, 2h, 1d; 0 takes everything no live claim holds)."
        ),
    ] = f"{SWEEP_GRACE_SECONDS // 60}m",
    weeks: Annotated[
        int, typer.Option(min=1, max=52, help="How many of the newest stored weeks to look at.")
    ] = SWEEP_WEEKS,
) -> None:
    """Publish, from the table, every told alert and digest the sent ledger lacks: the hourly sweep, run once now.

    It runs the publisher's own code with the deployed function's topics, through the same claims, pacing and
    ledger, so nothing goes out twice; what it could not send is put as UnsentMessages for the alarm.
    """
    from gas_ops.sweep import DurationError, parse_duration, run_sweep
    from gas_publisher.sweep import SweepRequest

    try:
        grace = parse_duration(older_than)
    except DurationError as error:
        raise typer.BadParameter(str(error), param_hint="--older-than") from None
    settings = Settings.from_environment()
    with friendly_errors(table=settings.table_name), console.status("Sweeping the newest weeks…"):
        report = run_sweep(settings, SweepRequest(int(grace.total_seconds()), weeks))
    console.print(f"Sent {len(report['sent'])}: {_dedup_ids(report['sent']) or 'nothing was missing'}", soft_wrap=True)
    if report.get("deferred"):
        console.print(f"Left for the next sweep (no time left in this one): {len(report['deferred'])}; run it again")
    if report["in_flight"] or report["waiting"]:
        count = len(report["in_flight"]) + len(report["waiting"])
        console.print(f"Left to the stream: {count} (being delivered, or written less than {older_than} ago)")
    for line in report["malformed"]:
        errors.print(f"error: cannot read an item, its alerts are not sent: {line}", soft_wrap=True)
    if report["unsent"]:
        errors.print(
            f"error: {len(report['unsent'])} could not be sent: {_dedup_ids(report['unsent'])}; "
            "run again, or read the publisher's logs",
            soft_wrap=True,
        )
    if report["unsent"] or report["malformed"]:
        raise typer.Exit(1)


def _dedup_ids(ids: list[str]) -> str:
    """'2026-02-23: Glens Falls, digest; 2026-03-02: Ithaca' from '2026-02-23#glens_falls' and the like."""
    weeks: dict[str, list[str]] = {}
    for dedup_id in ids:
        week, _, name = dedup_id.partition("#")
        weeks.setdefault(week, []).append(name)
    return "; ".join(f"{week}: {_names(tuple(names))}" for week, names in sorted(weeks.items()))


def redrive(
    drop_expired: Annotated[
        bool,
        typer.Option(help="Delete the pointers whose records the stream no longer holds, after reporting them."),
    ] = False,
) -> None:
    """Publish again the stream batches that used up their retries (the dead-letter queue's batch pointers).

    Each pointer's records are read again from the table's stream and handed to the publisher; the sent ledger
    keeps anything already sent from going out twice. For records the stream no longer holds (after 24 hours), the
    sweep publishes from the table what they told; their pointers are deleted once nothing told is unsent, else
    reported with the weeks whose alerts were never sent, and kept.
    """
    from gas_ops.redrive import redrive as run_redrive

    settings = Settings.from_environment()
    with friendly_errors():
        report = run_redrive(settings, drop_expired=drop_expired)
    pointers = "pointer" if report.pointers == 1 else "pointers"
    console.print(f"Dead-letter queue {settings.dead_letter_queue}: {report.pointers} batch {pointers}", soft_wrap=True)
    if report.pointers > len(report.expired) + len(report.unreadable):
        sent = ", ".join(report.sent) or "nothing new (already sent)"
        console.print(f"Redriven: {report.records} stream records; sent: {sent}", soft_wrap=True)
    if report.swept:
        console.print(f"Sent from the table by the sweep: {_dedup_ids(report.swept)}", soft_wrap=True)
    for expired in report.expired:
        where = (
            f"records {expired.start} to {expired.end} of shard {expired.shard_id} "
            f"(arrived {expired.first_arrival or '?'} to {expired.last_arrival or '?'}) are past the stream's retention"
        )
        for line in expired.unreadable_items:
            errors.print(f"  error: {line}", soft_wrap=True)
        if not expired.unsent and not expired.unreadable_items:
            console.print(
                f"{where}; every alert the recent weeks told is sent, so its pointer is deleted.", soft_wrap=True
            )
            continue
        errors.print(f"error: {where}, and cannot be read again.", soft_wrap=True)
        if expired.unsent:
            errors.print("  Told but never sent, by the table and the sent ledger:")
        for week, names in expired.unsent.items():
            errors.print(f"    {week}: {_names(names)}", soft_wrap=True)
        kept = "deleted (--drop-expired)" if drop_expired else "kept; add --drop-expired once it is dealt with"
        errors.print(f"  Its pointer is {kept}.", soft_wrap=True)
    if report.failed:
        errors.print(f"error: {report.failed} records still failed; their pointers stay in the queue (see the logs)")
    for unreadable in report.unreadable:
        errors.print(
            f"error: dead-letter message {unreadable.message_id} is not a valid stream batch pointer "
            f"({unreadable.problem}); it stays in the queue",
            soft_wrap=True,
        )
    if (
        any(expired.unsent or expired.unreadable_items for expired in report.expired)
        or report.failed
        or report.unreadable
    ):
        raise typer.Exit(1)


def _names(names: tuple[str, ...]) -> str:
    """'Glens Falls, Watertown, digest': regions by name, digests as they are."""
    return ", ".join(REGION_BY_ID[name].name if name in REGION_BY_ID else name for name in names)


def subscribers(
    terraform_dir: Annotated[
        Path | None,
        typer.Option(help="Also compare with Terraform's state in this folder (e.g. infra): name what SNS deleted."),
    ] = None,
) -> None:
    """List every subscription of the alert and digest topics: who, confirmed or pending, and the filter in words.

    An email subscription receives nothing until its recipient clicks the link in the confirmation email; a new or
    changed filter policy can take up to 15 minutes to apply. SNS deletes a subscription left unconfirmed for 48
    hours; with --terraform-dir, those Terraform's state still holds are named, with the apply that makes them again.
    """
    from gas_alerts import aws
    from gas_alerts.filter_policy import describe_policy
    from gas_alerts.subscriptions import PENDING, missing_from_sns, subscriptions_of
    from gas_ops.resources import find_topic_arn
    from gas_ops.terraform_state import show_state

    settings = Settings.from_environment()
    pending = 0
    with friendly_errors():
        shown = show_state(terraform_dir) if terraform_dir is not None else None
        sns = aws.sns()
        for name, arn, digest in (
            (settings.topic_name, settings.topic_arn, False),
            (settings.digest_topic_name, "", True),
        ):
            topic = arn or find_topic_arn(sns, name)
            if topic is None:
                errors.print(f"error: topic {name} not found; check GAS_ALERTS_TOPIC and GAS_ALERTS_DIGEST_TOPIC")
                raise typer.Exit(1)
            entries = subscriptions_of(sns, topic)
            kind = "weekly digest" if digest else "alerts by region"
            console.print(f"[bold]{name}[/bold] ({kind}): {len(entries)} subscriptions", soft_wrap=True)
            for entry in entries:
                pending += entry.status == PENDING
                receives = (
                    "filter shown once confirmed"
                    if entry.policy is None
                    else describe_policy(entry.policy, digest=digest)
                )
                console.print(f"  {entry.endpoint} ({entry.protocol}), {entry.status}: {receives}", soft_wrap=True)
        deleted = missing_from_sns(sns, shown) if shown is not None else []
    for gone in deleted:
        errors.print(
            f"{gone.endpoint} ({gone.protocol}) on {gone.topic_arn.rsplit(':', 1)[-1]}: deleted by SNS, though "
            f"Terraform's state in {terraform_dir} holds it (not confirmed within 48 hours, or suspended for over 10 "
            f"emails a second and not confirmed again); re-subscribe with `terraform -chdir={terraform_dir} apply`, "
            "which sends a new confirmation email",
            soft_wrap=True,
        )
    if pending:
        console.print(
            f"{pending} subscription(s) wait for their recipient to click the link in the confirmation email; "
            "nothing is delivered to them before that, and SNS deletes them 48 hours after they were made "
            "(docs/deploy.md, step 4, sends the email again).",
            soft_wrap=True,
        )
    console.print("A new or changed filter policy can take up to 15 minutes to apply on AWS.", soft_wrap=True)
    if deleted:
        raise typer.Exit(1)


TOPICS = ("alerts", "digest", "both")


def send_test(
    topic: Annotated[str, typer.Option(help="Which topic: alerts, digest, or both.")] = "both",
    region: Annotated[str, typer.Option(help="The region the sample alert is about (a region id).")] = "new_york_city",
    drop_cents: Annotated[float, typer.Option(min=0.1, max=200, help="The sample's fall, in cents.")] = 10,
    price: Annotated[float, typer.Option(min=0.5, max=15, help="The sample's new price, in $/gal.")] = 3.0,
) -> None:
    """Publish a sample alert and digest, marked TEST, so each subscriber sees what one looks like and that email works.

    SNS applies each subscription's filter policy to the sample as to a real alert: to reach a subscriber, pick a
    --region, --drop-cents and --price their filter admits (`gas-alerts subscribers` shows each filter). The digest
    sample names one region, with the fall as its largest drop.
    """
    from datetime import timedelta

    from gas_alerts import aws
    from gas_alerts.sample import sample_alert, sample_digest
    from gas_ops.resources import find_topic_arn
    from gas_publisher.contract import known_regions

    if topic not in TOPICS:
        raise typer.BadParameter(f"{topic!r} is not one of {', '.join(TOPICS)}", param_hint="--topic")
    try:
        [chosen] = known_regions([region])
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--region") from None
    settings = Settings.from_environment()
    today = date.today()
    week = today - timedelta(days=today.weekday())
    values = (chosen, decimal_option(drop_cents) or Decimal(10), decimal_option(price) or Decimal(3), week)
    with friendly_errors():
        sns = aws.sns()
        targets = []
        if topic in ("alerts", "both"):
            targets.append((settings.topic_name, settings.topic_arn, sample_alert(*values)))
        if topic in ("digest", "both"):
            targets.append((settings.digest_topic_name, "", sample_digest(*values)))
        for name, arn, sample in targets:
            topic_arn = arn or find_topic_arn(sns, name)
            if topic_arn is None:
                fail(f"topic {name} not found; check GAS_ALERTS_TOPIC and GAS_ALERTS_DIGEST_TOPIC")
            sent = sns.publish(
                TopicArn=topic_arn, Subject=sample.subject, Message=sample.body, MessageAttributes=sample.attributes
            )
            console.print(f"published to {name}: {sample.subject} (message {sent['MessageId']})", soft_wrap=True)
    console.print(
        "Each subscription whose filter admits it receives it; a pending one receives nothing until confirmed.",
        soft_wrap=True,
    )
