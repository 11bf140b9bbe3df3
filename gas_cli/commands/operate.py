"""`gas-alerts redrive`: commands an operator runs against the deployed stack (AWS, or moto locally)."""

from __future__ import annotations

from typing import Annotated

import typer

from gas_alerts.settings import Settings
from gas_cli.commands.common import console, errors, friendly_errors
from gas_publisher.contract import REGION_BY_ID


def redrive(
    drop_expired: Annotated[
        bool,
        typer.Option(help="Delete the pointers whose records the stream no longer holds, after reporting them."),
    ] = False,
) -> None:
    """Publish again the stream batches that used up their retries (the dead-letter queue's batch pointers).

    Each pointer's records are read again from the table's stream and handed to the publisher; the sent ledger
    keeps anything already sent from going out twice. Records the stream no longer holds (after 24 hours) are
    reported with the weeks whose alerts were never sent, and their pointers kept.
    """
    from gas_local.redrive import redrive as run_redrive

    settings = Settings.from_environment()
    with friendly_errors():
        report = run_redrive(settings, drop_expired=drop_expired)
    pointers = "pointer" if report.pointers == 1 else "pointers"
    console.print(f"Dead-letter queue {settings.dead_letter_queue}: {report.pointers} batch {pointers}", soft_wrap=True)
    if report.pointers:
        sent = ", ".join(report.sent) or "nothing new (already sent)"
        console.print(f"Redriven: {report.records} stream records; sent: {sent}", soft_wrap=True)
    for expired in report.expired:
        errors.print(
            f"error: records {expired.start} to {expired.end} of shard {expired.shard_id} "
            f"(arrived {expired.first_arrival or '?'} to {expired.last_arrival or '?'}) are past the stream's "
            "retention and cannot be read again.",
            soft_wrap=True,
        )
        if expired.unsent:
            errors.print("  Told but never sent, by the table and the sent ledger:")
            for week, names in expired.unsent.items():
                errors.print(f"    {week}: {_names(names)}", soft_wrap=True)
        else:
            errors.print("  The sent ledger holds every alert the recent weeks told: nothing is missing.")
        kept = "deleted (--drop-expired)" if drop_expired else "kept; add --drop-expired once it is dealt with"
        errors.print(f"  Its pointer is {kept}.", soft_wrap=True)
    if report.failed:
        errors.print(f"error: {report.failed} records still failed; their pointers stay in the queue (see the logs)")
    if report.unreadable:
        errors.print(f"error: {report.unreadable} messages are not stream batch pointers; they stay in the queue")
    if report.expired or report.failed or report.unreadable:
        raise typer.Exit(1)


def _names(names: tuple[str, ...]) -> str:
    """'Glens Falls, Watertown, digest': regions by name, digests as they are."""
    return ", ".join(REGION_BY_ID[name].name if name in REGION_BY_ID else name for name in names)
