"""The price table in DynamoDB: the latest weeks in one Query, conditional puts, and revisions."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from botocore.exceptions import ClientError

from gas_alerts.compare import CheckPlan
from gas_alerts.failures import PermanentError, error_code
from gas_publisher.batching import CONDITION_FAILED, MAX_TRANSACTION_ITEMS, batch_get, cancellation_codes
from gas_publisher.contract import LATE_PARTITION, PARTITION_KEY, PRICE_PARTITION, SORT_KEY
from gas_publisher.week import MalformedItemError, Revision, WeekRecord, newest_weeks_query, week_key

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# The attributes a week's comparison is stored in (gas_publisher.week.Comparison.to_attributes).
COMPARISON_ATTRIBUTES = ("previous_week", "previous_prices", "drops", "suspect", "since", "low_weeks", "low_since")
# A backfill transaction that another write holds a week of is tried again this many times, after a growing pause.
MAX_TRANSACTION_CONFLICTS = 5
CONFLICT_PAUSE_S = 0.2


NEW_YORK = ZoneInfo("America/New_York")


class TransientTableError(RuntimeError):
    """A write the table kept refusing for a reason that passes (another transaction on the same items)."""


class StoredItemError(PermanentError):
    """An item of the price partition that cannot be a week: malformed, not on a Monday, or dated after today."""


def today_in_new_york() -> date:
    """Today's date where the survey is taken."""
    return datetime.now(NEW_YORK).date()


@dataclass(frozen=True)
class WriteResult:
    """What a check wrote; `conflict` means another run changed the table first and nothing was written."""

    written: list[date] = field(default_factory=list)
    revised: list[date] = field(default_factory=list)
    # Every item written that tells falls (new weeks flagged for alerting, and late items), in week order.
    alerting: list[WeekRecord] = field(default_factory=list)
    conflict: bool = False


@dataclass
class PutOutcome:
    """What put_weeks did: the weeks it wrote, those another writer stored first, and its TransactWriteItems calls."""

    written: list[date] = field(default_factory=list)
    already_stored: list[date] = field(default_factory=list)
    calls: int = 0


class PriceTable:
    """Reads and writes week items of one table."""

    def __init__(
        self,
        client: DynamoDBClient,
        table_name: str,
        today: Callable[[], date] = today_in_new_york,
        pause: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.name = table_name
        self.pause = pause
        self.today = today

    def recent_weeks(self, limit: int) -> list[WeekRecord]:
        """The newest `limit` stored weeks, newest first, in a single Query (never a Scan)."""
        response = self.client.query(**newest_weeks_query(self.name, limit))
        today = self.today()
        return [self._week(item, today) for item in response.get("Items", [])]

    def all_weeks(self) -> Iterator[WeekRecord]:
        """Every stored week, oldest first (paged Query; for backfill and replay, not the weekly check)."""
        paginator = self.client.get_paginator("query")
        for page in paginator.paginate(
            TableName=self.name,
            KeyConditionExpression="#pk = :pk",
            ExpressionAttributeNames={"#pk": PARTITION_KEY},
            ExpressionAttributeValues={":pk": {"S": PRICE_PARTITION}},
            ConsistentRead=True,
        ):
            for item in page.get("Items", []):
                yield self._week(item, self.today())

    def _week(self, item: Mapping[str, Any], today: date) -> WeekRecord:
        """A stored item as a week, or StoredItemError naming the table and the item's keys (never retried)."""
        record = self._decode(item, "a week item")
        if record.week.weekday() != 0:
            raise self._stored_item_error(item, "holds a week that is not a Monday")
        if record.week > today:
            raise self._stored_item_error(item, f"holds a week dated after today, {today} in New York")
        return record

    def _decode(self, item: Mapping[str, Any], kind: str) -> WeekRecord:
        """A stored item as a week or late item, or StoredItemError naming the table and the item's keys."""
        try:
            return WeekRecord.from_item(item)
        except MalformedItemError as error:
            raise self._stored_item_error(item, f"holds an item that is not {kind}", error) from None

    def _stored_item_error(
        self, item: Mapping[str, Any], problem: str, detail: Exception | None = None
    ) -> StoredItemError:
        keys = (
            f"{PARTITION_KEY}={str(item.get(PARTITION_KEY, {}).get('S', '?'))[:60]}, "
            f"{SORT_KEY}={str(item.get(SORT_KEY, {}).get('S', '?'))[:60]}"
        )
        why = f": {detail}" if detail is not None else ""
        return StoredItemError(f"table {self.name} {problem} ({keys}){why}; remove or correct the item, then run again")

    def late_items(
        self, since: date, on_malformed: Callable[[StoredItemError], None] | None = None
    ) -> list[WeekRecord]:
        """The late items of the weeks from `since` on, oldest first (a Query of the late partition).

        A malformed one is StoredItemError naming the table and its keys; given `on_malformed`, it is handed there
        and left out instead, so a report can go on without it.
        """
        paginator = self.client.get_paginator("query")
        pages = paginator.paginate(
            TableName=self.name,
            KeyConditionExpression="#pk = :pk AND #sk >= :since",
            ExpressionAttributeNames={"#pk": PARTITION_KEY, "#sk": SORT_KEY},
            ExpressionAttributeValues={":pk": {"S": LATE_PARTITION}, ":since": {"S": since.isoformat()}},
            ConsistentRead=True,
        )
        records = []
        for item in (item for page in pages for item in page.get("Items", [])):
            try:
                records.append(self._decode(item, "a late item"))
            except StoredItemError as error:
                if on_malformed is None:
                    raise
                on_malformed(error)
        return records

    def put_new_week(self, record: WeekRecord) -> bool:
        """Store a week unless it is already stored; False means another run stored it first."""
        try:
            self.client.put_item(TableName=self.name, **_new_week_put(record))
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def apply_revision(self, revision: Revision, seen_at: str) -> bool:
        """Update a stored week to the source's new values, keeping the old ones in its revision log."""
        try:
            self.client.update_item(TableName=self.name, **_revision_update(revision, seen_at))
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def apply_revisions(self, revisions: Sequence[Revision], seen_at: str) -> list[date]:
        """Apply each revision on its own (an update, never an alert); returns the weeks revised."""
        return [revision.week for revision in revisions if self.apply_revision(revision, seen_at)]

    def put_weeks(self, records: Sequence[WeekRecord], on_batch: Callable[[int], None] | None = None) -> PutOutcome:
        """Store the weeks not stored yet, oldest first, in transactions of up to 100 conditional puts.

        Each put is conditional on its week not being stored, so a week written meanwhile (by the check or another
        backfill) keeps its item and its flags; BatchWriteItem cannot carry a condition. A transaction that a
        condition cancels writes nothing, and its cancellation reasons name the weeks already stored: the others go
        again without them.
        """
        outcome = PutOutcome()
        for start in range(0, len(records), MAX_TRANSACTION_ITEMS):
            batch = list(records[start : start + MAX_TRANSACTION_ITEMS])
            pending, conflicts = batch, 0
            while pending:
                outcome.calls += 1
                stored, busy = self._put_each_once(pending)
                outcome.already_stored += [record.week for record in stored]
                if not stored and not busy:
                    outcome.written += [record.week for record in pending]
                    break
                if busy and not stored:
                    conflicts += 1
                    if conflicts > MAX_TRANSACTION_CONFLICTS:
                        raise TransientTableError(f"{self.name}: weeks still locked by another write after retries")
                    self.pause(CONFLICT_PAUSE_S * conflicts)
                found = {record.week for record in stored}
                pending = [record for record in pending if record.week not in found]
            outcome.written.sort()
            if on_batch is not None:
                on_batch(len(batch))
        return outcome

    def _put_each_once(self, records: Sequence[WeekRecord]) -> tuple[list[WeekRecord], bool]:
        """One transaction of conditional puts; the records found already stored, and whether another one held any.

        Nothing is written unless both are empty. The token makes botocore's own retry of a call whose answer was lost
        find it done instead of cancelled.
        """
        operations: list[Any] = [{"Put": {"TableName": self.name, **_new_week_put(record)}} for record in records]
        try:
            self.client.transact_write_items(TransactItems=operations, ClientRequestToken=uuid.uuid4().hex)
        except ClientError as error:
            codes = cancellation_codes(error)
            if codes is None or len(codes) != len(records):
                raise
            if set(codes) - {"None", CONDITION_FAILED, "TransactionConflict"}:
                raise
            stored = [record for record, code in zip(records, codes, strict=True) if code == CONDITION_FAILED]
            return stored, "TransactionConflict" in codes
        return [], False

    def write_check(self, plan: CheckPlan, seen_at: str) -> WriteResult:
        """Write a check's new weeks, late items and updates all or nothing (`conflict`: another run wrote first).

        The items go in week order, so the stream carries a check's alerts oldest week first.
        """
        items = sorted([*plan.writes, *plan.late], key=lambda record: record.week)
        if not self.write_all(items, plan.revisions, seen_at):
            return WriteResult(conflict=True)
        return WriteResult(
            written=[record.week for record in plan.writes],
            revised=[revision.week for revision in plan.revisions if revision.changes_prices],
            alerting=plan.alerting,
        )

    def write_all(self, records: Sequence[WeekRecord], revisions: Sequence[Revision], seen_at: str) -> bool:
        """Write new weeks and revisions all or nothing; False means another run changed the table first.

        A lone new week is one conditional PutItem; anything more is one TransactWriteItems, so a failure
        never leaves some weeks or revisions written and others not. Every item written carries this write's
        id: when a condition fails, the items are read back, so a write DynamoDB applied but whose response was
        lost (the client's retry then finds it done) still counts as this run's own write.
        """
        if not records and not revisions:
            return True
        write_id = uuid.uuid4().hex
        stamped = [replace(record, write_id=write_id) for record in records]
        if len(stamped) == 1 and not revisions:
            return self.put_new_week(stamped[0]) or self._written_by(write_id, [stamped[0].key()])
        operations: list[Any] = [{"Put": {"TableName": self.name, **_new_week_put(r)}} for r in stamped]
        operations += [
            {"Update": {"TableName": self.name, **_revision_update(r, seen_at, write_id)}} for r in revisions
        ]
        if len(operations) > MAX_TRANSACTION_ITEMS:
            raise ValueError(f"{len(operations)} writes exceed one transaction; check fewer weeks at a time")
        try:
            self.client.transact_write_items(TransactItems=operations)
        except ClientError as error:
            if CONDITION_FAILED in (cancellation_codes(error) or []):
                return self._written_by(write_id, [r.key() for r in stamped] + [week_key(r.week) for r in revisions])
            raise
        return True

    def _written_by(self, write_id: str, keys: Sequence[dict[str, Any]]) -> bool:
        """Whether every one of these items was last written by the write with this id (a consistent read)."""
        items = batch_get(self.client, self.name, list(keys))
        return len(items) == len(keys) and all(item.get("write_id", {}).get("S") == write_id for item in items)


def _new_week_put(record: WeekRecord) -> dict[str, Any]:
    """PutItem arguments that store a week only if it is not stored yet."""
    return {
        "Item": record.to_item(),
        "ConditionExpression": "attribute_not_exists(#sk)",
        "ExpressionAttributeNames": {"#sk": SORT_KEY},
    }


def _revision_update(revision: Revision, seen_at: str, write_id: str = "") -> dict[str, Any]:
    """UpdateItem arguments that apply a revision if the week is still at the revision count (and told set) we read."""
    names = {"#rev": "rev"}
    values: dict[str, Any] = {":rev": {"N": str(revision.stored_rev)}}
    sets = []
    condition = "#rev = :rev"
    if revision.told is not None:
        names["#told"] = "told"
        values[":told"] = _region_list(revision.told)
        sets.append("#told = :told")
        if revision.told_before is None:
            condition += " AND attribute_not_exists(#told)"
        else:
            values[":told_before"] = _region_list(revision.told_before)
            condition += " AND #told = :told_before"
    if write_id:
        names["#wid"] = "write_id"
        values[":wid"] = {"S": write_id}
        sets.append("#wid = :wid")
    if revision.changes_prices:
        names.update({"#p": "prices", "#log": "revisions"})
        values.update(
            {
                ":next": {"N": str(revision.stored_rev + 1)},
                ":entry": {"L": [revision.log_entry(seen_at)]},
                ":empty": {"L": []},
            }
        )
        sets += ["#rev = :next", "#log = list_append(if_not_exists(#log, :empty), :entry)"]
        for index, (region, price) in enumerate(sorted(revision.new.items())):
            names[f"#r{index}"] = region
            values[f":v{index}"] = {"N": str(price)}
            sets.append(f"#p.#r{index} = :v{index}")
    if revision.comparison is not None:
        # The whole comparison is replaced, each attribute set (or removed when its map is empty).
        attributes = revision.comparison.to_attributes()
        removed = []
        for index, name in enumerate(COMPARISON_ATTRIBUTES):
            names[f"#c{index}"] = name
            if name in attributes:
                values[f":c{index}"] = attributes[name]
                sets.append(f"#c{index} = :c{index}")
            else:
                removed.append(f"#c{index}")
    else:
        removed = []
    expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removed) if removed else "")
    return {
        "Key": week_key(revision.week),
        "UpdateExpression": expression,
        "ConditionExpression": condition,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }


def _region_list(regions: Sequence[str]) -> dict[str, Any]:
    return {"L": [{"S": region} for region in regions]}
