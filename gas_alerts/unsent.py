"""Falls the table says were told but the sent ledger does not hold, worked out as the sweep works them out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from gas_publisher.contract import SWEEP_WEEKS
from gas_publisher.sweep import outstanding, read_window

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


@dataclass(frozen=True)
class Unsent:
    """The told messages the sent ledger lacks, by week, and the stored items that could not be read for it."""

    missing: Mapping[date, tuple[str, ...]] = field(default_factory=dict)
    # One line per malformed item, naming the table and its keys: its messages are not counted.
    unreadable: tuple[str, ...] = ()


def unsent(client: DynamoDBClient, table: str, now: datetime, weeks: int = SWEEP_WEEKS) -> Unsent:
    """Over the newest `weeks` stored weeks, every told message the ledger lacks, whoever is sending it now."""
    found = outstanding(read_window(client, table, weeks), now, timedelta(0))
    missing: dict[date, list[str]] = {}
    for message in [*found.due, *found.in_flight, *found.waiting]:
        missing.setdefault(message.week, []).append(message.ledger_name)
    return Unsent({week: tuple(names) for week, names in sorted(missing.items())}, tuple(found.malformed))
