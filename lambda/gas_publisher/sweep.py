"""The sweep: every message the table says was told and the sent ledger lacks, published from the table.

The stream keeps its records 24 hours; the table and the sent ledger keep everything. So on a schedule (EventBridge
Scheduler, hourly) the publisher reads the items of the newest weeks, works out each message they told exactly as
stream delivery does (`messages_for`), and publishes those the ledger does not hold, through the same claims,
pacing and ledger. An item younger than the grace period is left to the stream mapping's first deliveries; a message
another consumer holds a live claim on is left to it, and the claims let only one of them publish a message. It
takes as many messages as the invocation has time for, oldest week first; the rest wait for the next sweep. A quiet
sweep costs two Queries (the newest week items, and their late items), one BatchGetItem (the ledger entries of the
weeks that told something) and one PutMetricData: what it could not send, as `UnsentMessages`, which the operator's
alarm watches.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from gas_publisher.batching import batch_get
from gas_publisher.contract import (
    LATE_PARTITION,
    METRIC_UNSENT_MESSAGES,
    PARTITION_KEY,
    SORT_KEY,
    SWEEP_EVENT_KEY,
    SWEEP_GRACE_SECONDS,
    SWEEP_WEEKS,
)
from gas_publisher.digest import Digest
from gas_publisher.ledger import LedgerWeek, ledger_entry, ledger_key
from gas_publisher.messages import Message, messages_for
from gas_publisher.metrics import put_metrics
from gas_publisher.week import MalformedItemError, WeekRecord, newest_weeks_query

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_dynamodb import DynamoDBClient

    from gas_publisher.publisher import Publisher

logger = logging.getLogger("gas_publisher")
# The most weeks a sweep may read: a year, beyond any outage the alarms leave unnoticed.
MAX_WEEKS = 52


class InvalidSweepRequestError(ValueError):
    """A sweep event whose settings are not what the schedule sends."""


@dataclass(frozen=True)
class SweepRequest:
    """What a sweep takes: items older than `older_than_seconds`, of the newest `weeks` stored weeks."""

    older_than_seconds: int = SWEEP_GRACE_SECONDS
    weeks: int = SWEEP_WEEKS

    def __post_init__(self) -> None:
        if not 0 <= self.older_than_seconds <= 90 * 86_400:
            raise InvalidSweepRequestError(f"older_than_seconds must be 0 to 7776000, not {self.older_than_seconds}")
        if not 1 <= self.weeks <= MAX_WEEKS:
            raise InvalidSweepRequestError(f"weeks must be 1 to {MAX_WEEKS}, not {self.weeks}")

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> SweepRequest | None:
        """The request a scheduled event carries, or None when the event is not a sweep (a stream batch)."""
        if SWEEP_EVENT_KEY not in event:
            return None
        body = event[SWEEP_EVENT_KEY]
        if not isinstance(body, Mapping):
            raise InvalidSweepRequestError(f"{SWEEP_EVENT_KEY} is not an object")
        unknown = sorted(set(body) - {"older_than_seconds", "weeks"})
        if unknown:
            raise InvalidSweepRequestError(f"{SWEEP_EVENT_KEY} has unknown settings: {', '.join(unknown)[:80]}")
        values = {name: body.get(name, getattr(cls, name)) for name in ("older_than_seconds", "weeks")}
        for name, value in values.items():
            if not isinstance(value, int) or isinstance(value, bool):
                raise InvalidSweepRequestError(f"{SWEEP_EVENT_KEY}.{name} is not a whole number")
        return cls(**values)

    def to_event(self) -> dict[str, Any]:
        """The event that asks for this sweep: what the schedule sends as the invocation's input."""
        return {SWEEP_EVENT_KEY: {"older_than_seconds": self.older_than_seconds, "weeks": self.weeks}}


@dataclass(frozen=True)
class Told:
    """A message an item told, and when that item was written (None when it does not say)."""

    message: Message
    recorded_at: datetime | None


@dataclass(frozen=True)
class TableWindow:
    """The newest weeks' items as one sweep reads them: week items, late items and ledger entries."""

    weeks: Sequence[WeekRecord] = ()
    late: Sequence[WeekRecord] = ()
    ledger: Mapping[date, LedgerWeek] = field(default_factory=dict)
    # Items that cannot be read as week items: their key and what is wrong, for the operator.
    malformed: Sequence[str] = ()


@dataclass(frozen=True)
class Outstanding:
    """The told messages the ledger lacks, by what the sweep may do with them."""

    due: Sequence[Message] = ()
    # A live claim of another consumer holds it: that consumer is publishing it now.
    in_flight: Sequence[Message] = ()
    # Its item is younger than the grace period: the stream mapping is still delivering it.
    waiting: Sequence[Message] = ()
    malformed: Sequence[str] = ()


@dataclass
class SweepReport:
    """What one sweep did: sent, and still unsent after it (by dedup id), and what it left to others."""

    sent: list[str] = field(default_factory=list)
    unsent: list[str] = field(default_factory=list)
    in_flight: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)
    malformed: list[str] = field(default_factory=list)
    # Due, but more than this invocation had time for: the next sweep takes them first.
    deferred: list[str] = field(default_factory=list)

    @property
    def unsent_count(self) -> int:
        """What the operator's alarm counts: told messages the sweep could not send, and items it could not read."""
        return len(self.unsent) + len(self.malformed)

    def to_response(self) -> dict[str, Any]:
        """The invocation's result."""
        return {
            "sent": self.sent,
            "unsent": self.unsent,
            "in_flight": self.in_flight,
            "waiting": self.waiting,
            "malformed": self.malformed,
            "deferred": self.deferred,
        }


def read_window(client: DynamoDBClient, table: str, weeks: int) -> TableWindow:
    """The newest `weeks` stored week items and their late items (a Query each), and their ledger entries (a batch)."""
    stored: list[WeekRecord] = []
    malformed: list[str] = []
    response = client.query(**newest_weeks_query(table, weeks))
    items = response.get("Items", [])
    for item in items:
        _decode(item, table, stored, malformed)
    if not items:
        return TableWindow(malformed=malformed)
    oldest = min(str(item[SORT_KEY]["S"]) for item in items)
    late: list[WeekRecord] = []
    pages = client.get_paginator("query").paginate(
        TableName=table,
        KeyConditionExpression="#pk = :pk AND #sk >= :since",
        ExpressionAttributeNames={"#pk": PARTITION_KEY, "#sk": SORT_KEY},
        ExpressionAttributeValues={":pk": {"S": LATE_PARTITION}, ":since": {"S": oldest[:10]}},
        ConsistentRead=True,
    )
    for page in pages:
        for item in page.get("Items", []):
            _decode(item, table, late, malformed)
    weeks_told = sorted({record.week for record in [*stored, *late] if record.alert})
    ledger = {
        date.fromisoformat(item[SORT_KEY]["S"]): ledger_entry(item)
        for item in batch_get(client, table, [ledger_key(week) for week in weeks_told])
    }
    return TableWindow(sorted(stored, key=lambda r: r.week), sorted(late, key=lambda r: r.week), ledger, malformed)


def _decode(item: Mapping[str, Any], table: str, into: list[WeekRecord], malformed: list[str]) -> None:
    try:
        into.append(WeekRecord.from_item(item))
    except MalformedItemError as error:
        keys = f"{PARTITION_KEY}={str(item.get(PARTITION_KEY, {}).get('S'))[:60]}, "
        keys += f"{SORT_KEY}={str(item.get(SORT_KEY, {}).get('S'))[:60]}"
        line = f"table {table} holds an item that is not a week item ({keys}): {error}"
        logger.error("%s", line)
        malformed.append(line)


def told_messages(weeks: Iterable[WeekRecord], late: Iterable[WeekRecord]) -> tuple[list[Told], list[str]]:
    """Every message the items told, as stream delivery built it; and the items that cannot give theirs.

    A week item told, when it was stored, the regions of its `told` that no late item of its week names (a late
    item tells its own regions and its own digest). Only those the item still shows as a fall are built: a value
    the source corrected since is no fall to send.
    """
    late_by_week: dict[date, list[WeekRecord]] = {}
    for record in late:
        late_by_week.setdefault(record.week, []).append(record)
    told: list[Told] = []
    malformed: list[str] = []
    items: list[WeekRecord] = []
    for record in weeks:
        if not record.alert:
            continue
        later = {region for item in late_by_week.get(record.week, []) for region in item.late_regions}
        own = tuple(region for region in record.drops if region in record.told_regions and region not in later)
        if own:
            items.append(replace(record, drops=own))
    items += [record for records in late_by_week.values() for record in records]
    for record in sorted(items, key=lambda item: item.week):
        try:
            messages = messages_for(record)
        except MalformedItemError as error:
            key = f"{record.week}#{'+'.join(record.late_regions)}" if record.late_regions else str(record.week)
            malformed.append(f"the item of {key}: {error}")
            continue
        told += [Told(message, _moment(record.recorded_at)) for message in messages]
    return told, malformed


def outstanding(window: TableWindow, now: datetime, older_than: timedelta) -> Outstanding:
    """What of the window's told messages the ledger lacks: due to the sweep, held by others, or too young."""
    told, malformed = told_messages(window.weeks, window.late)
    due, in_flight, waiting = [], [], []
    now_ms = int(now.timestamp() * 1000)
    for entry in told:
        message = entry.message
        ledger = window.ledger.get(message.week, LedgerWeek())
        if message.ledger_name in ledger.sent or (ledger.legacy and isinstance(message, Digest)):
            # A week the version before digests recorded sent its digests unrecorded: never send them again.
            continue
        if entry.recorded_at is not None and entry.recorded_at > now - older_than:
            waiting.append(message)
        elif _live(ledger.claims.get(message.ledger_name, ""), now_ms):
            in_flight.append(message)
        else:
            due.append(message)
    return Outstanding(due, in_flight, waiting, [*window.malformed, *malformed])


def sweep(
    publisher: Publisher,
    dynamodb: DynamoDBClient,
    cloudwatch: CloudWatchClient,
    table: str,
    request: SweepRequest,
    *,
    now: datetime,
    deadline_ms: int | None,
) -> SweepReport:
    """Publish what is due, put `UnsentMessages`, and report; the metric goes out even when nothing was due."""
    window = read_window(dynamodb, table, request.weeks)
    found = outstanding(window, now, timedelta(seconds=request.older_than_seconds))
    # Oldest week first, as many as the invocation has time for; the rest wait for the next sweep (a backlog of
    # weeks goes out over a few hours), counted apart from what SNS refused.
    capacity = publisher.capacity(deadline_ms)
    taken = list(found.due if capacity is None else found.due[:capacity])
    deferred = [message.dedup_id for message in found.due[len(taken) :]]
    failed = publisher.publish(taken, deadline_ms) if taken else set()
    if failed:
        # Some were refused, left for lack of time, or claimed meanwhile: the ledger says which are still unsent.
        entries = publisher.ledger.read(message.week for message in taken)
        failed = {
            message.dedup_id
            for message in taken
            if message.dedup_id in failed and message.ledger_name not in entries.get(message.week, LedgerWeek()).sent
        }
    report = SweepReport(
        sent=[message.dedup_id for message in taken if message.dedup_id not in failed],
        unsent=sorted(failed),
        in_flight=[message.dedup_id for message in found.in_flight],
        waiting=[message.dedup_id for message in found.waiting],
        malformed=list(found.malformed),
        deferred=deferred,
    )
    put_metrics(cloudwatch, table, {METRIC_UNSENT_MESSAGES: report.unsent_count})
    logger.info(
        "sweep: %d sent, %d unsent, %d left for the next, %d in flight, %d younger than %d s, %d unreadable items",
        len(report.sent),
        len(report.unsent),
        len(report.deferred),
        len(report.in_flight),
        len(report.waiting),
        request.older_than_seconds,
        len(report.malformed),
    )
    return report


def _moment(text: str) -> datetime | None:
    """When an item was written, from its `recorded_at`; None when it has none or it cannot be read."""
    try:
        moment = datetime.fromisoformat(text) if text else None
    except ValueError:
        return None
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def _live(claim: str, now_ms: int) -> bool:
    """Whether a claim's lease (zero-padded milliseconds, then the owner's token) has not ended."""
    ends, _, _ = claim.partition(":")
    return ends.isdigit() and int(ends) >= now_ms
