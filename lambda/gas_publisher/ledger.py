"""The sent ledger: what was already published for each week, and who is publishing it right now.

One item per week, in a partition of its own. `sent` is the set of messages published (region ids, "digest", and
"digest:<regions>" for a late item's digest). Before publishing a message, an invocation claims it: `claim_<name>`
holds the time its lease ends and the invocation's token, and `owner_<name>` the consumer and stream record it
claims for. A claim is written only if the message is not sent and no live claim of another owner exists, so two
consumers of the same record can never both publish a message. Once published, the message is added to `sent` with
an atomic ADD, right away, tried again until the lease is nearly over (publisher.Claim.mark); a failed publish
releases its claim. A lease lasts as long as the invocation that took
it can run. A retry of the same record by the same consumer (an event source mapping processes a shard's batches
one at a time, so the invocation that claimed is over) takes the claims over at once, lease or not.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from gas_publisher.batching import CONDITION_FAILED, MAX_TRANSACTION_ITEMS, batch_get, cancellation_codes
from gas_publisher.contract import PARTITION_KEY, SENT_PARTITION, SORT_KEY

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

SENT = "sent"
# What an earlier version wrote the sent regions to; still read, so its records are never sent again.
LEGACY_SENT = "regions"
CLAIM_PREFIX = "claim_"
OWNER_PREFIX = "owner_"
# Lease ends are written as zero-padded milliseconds, so DynamoDB's string comparison orders them as numbers.
MILLIS_WIDTH = 15


def ledger_key(week: date) -> dict[str, dict[str, str]]:
    """The key of one week's ledger item."""
    return {PARTITION_KEY: {"S": SENT_PARTITION}, SORT_KEY: {"S": week.isoformat()}}


@dataclass(frozen=True)
class LedgerWeek:
    """One week's entry: what was sent, and the live or stale claims on the rest."""

    sent: frozenset[str] = frozenset()
    claims: Mapping[str, str] = field(default_factory=dict)
    # Written by the version before the week's digest was recorded: its sent regions only.
    legacy: bool = False


def lease(ends_at_ms: int, token: str) -> str:
    """A claim's value: when its lease ends, and whose it is."""
    return f"{_millis(ends_at_ms)}:{token}"


def _millis(moment_ms: int) -> str:
    return f"{moment_ms:0{MILLIS_WIDTH}d}"


class SentLedger:
    """Reads the ledger, and claims, marks and releases messages with conditional updates, several weeks a call."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def read(self, weeks: Iterable[date]) -> dict[date, LedgerWeek]:
        """The entry of each week that has one (a consistent read)."""
        keys = [ledger_key(week) for week in sorted(set(weeks))]
        return {
            date.fromisoformat(item[SORT_KEY]["S"]): ledger_entry(item)
            for item in batch_get(self._client, self._table, keys)
        }

    def claim(self, week: date, owners: Mapping[str, str], token: str, now_ms: int, ends_at_ms: int) -> bool:
        """Take these messages of one week (name -> owner) until the lease ends, all or none.

        False if any is sent, or claimed by another owner whose lease has not ended.
        """
        try:
            self._client.update_item(TableName=self._table, **_claim_update(week, owners, token, now_ms, ends_at_ms))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def claim_weeks(
        self, owners_by_week: Mapping[date, Mapping[str, str]], token: str, now_ms: int, ends_at_ms: int
    ) -> set[date]:
        """Take each week's messages, all of a week or none of it, in as few calls as one transaction allows.

        Returns the weeks claimed. A week that cannot be claimed whole (a message sent, or another owner's live
        claim) cancels its transaction; the cancellation names it, and the other weeks go again without it.
        """
        if len(owners_by_week) == 1:
            [(week, owners)] = owners_by_week.items()
            return {week} if self.claim(week, owners, token, now_ms, ends_at_ms) else set()
        claimed: set[date] = set()
        weeks = sorted(owners_by_week)
        for start in range(0, len(weeks), MAX_TRANSACTION_ITEMS):
            pending = weeks[start : start + MAX_TRANSACTION_ITEMS]
            while pending:
                updates = [_claim_update(week, owners_by_week[week], token, now_ms, ends_at_ms) for week in pending]
                refused = self._transact(updates)
                if refused is None:
                    claimed.update(pending)
                    break
                pending = [week for index, week in enumerate(pending) if index not in refused]
        return claimed

    def mark_sent(self, week: date, names: Iterable[str]) -> None:
        """Add published messages to the week's sent set and drop their claims (idempotent)."""
        self.mark_weeks({week: names})

    def mark_weeks(self, names_by_week: Mapping[date, Iterable[str]]) -> None:
        """Add published messages to each week's sent set and drop their claims: one call (idempotent)."""
        updates = [_mark_update(week, sorted(set(names))) for week, names in sorted(names_by_week.items())]
        updates = [update for update in updates if update]
        if len(updates) == 1:
            self._client.update_item(TableName=self._table, **updates[0])
            return
        for start in range(0, len(updates), MAX_TRANSACTION_ITEMS):
            # A mark has no condition: a transaction of marks is only ever cancelled by a conflict, which raises.
            self._transact(updates[start : start + MAX_TRANSACTION_ITEMS])

    def _transact(self, updates: Sequence[Mapping[str, Any]]) -> set[int] | None:
        """Apply the updates in one transaction; None when applied, else the positions whose condition failed."""
        try:
            operations: list[Any] = [{"Update": {"TableName": self._table, **update}} for update in updates]
            self._client.transact_write_items(TransactItems=operations)
        except ClientError as error:
            refused = {index for index, code in enumerate(cancellation_codes(error) or []) if code == CONDITION_FAILED}
            if not refused:
                raise
            return refused
        return None

    def release(self, week: date, name: str, claim: str) -> None:
        """Give up a claim this invocation holds (after a failed publish), so a retry may take it at once."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key=ledger_key(week),
                UpdateExpression="REMOVE #claim, #owner",
                ConditionExpression="#claim = :mine",
                ExpressionAttributeNames={"#claim": CLAIM_PREFIX + name, "#owner": OWNER_PREFIX + name},
                ExpressionAttributeValues={":mine": {"S": claim}},
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise


def _claim_update(week: date, owners: Mapping[str, str], token: str, now_ms: int, ends_at_ms: int) -> dict[str, Any]:
    """UpdateItem arguments that lease these messages of a week, unless sent or leased live by another owner."""
    names: dict[str, str] = {"#sent": SENT}
    values: dict[str, Any] = {
        ":lease": {"S": lease(ends_at_ms, token)},
        ":now": {"S": _millis(now_ms)},
    }
    sets, conditions = [], []
    for index, (name, owner) in enumerate(owners.items()):
        names |= {f"#c{index}": CLAIM_PREFIX + name, f"#o{index}": OWNER_PREFIX + name}
        values |= {f":n{index}": {"S": name}, f":o{index}": {"S": owner}}
        sets += [f"#c{index} = :lease", f"#o{index} = :o{index}"]
        conditions.append(
            f"(attribute_not_exists(#c{index}) OR #c{index} < :now OR #o{index} = :o{index})"
            f" AND NOT contains(#sent, :n{index})"
        )
    return {
        "Key": ledger_key(week),
        "UpdateExpression": "SET " + ", ".join(sets),
        "ConditionExpression": " AND ".join(conditions),
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }


def _mark_update(week: date, chosen: Sequence[str]) -> dict[str, Any]:
    """UpdateItem arguments that add messages to a week's sent set and remove their claims ({} for none)."""
    if not chosen:
        return {}
    claims = {f"#c{index}": CLAIM_PREFIX + name for index, name in enumerate(chosen)}
    claims |= {f"#o{index}": OWNER_PREFIX + name for index, name in enumerate(chosen)}
    return {
        "Key": ledger_key(week),
        "UpdateExpression": f"ADD #sent :names REMOVE {', '.join(claims)}",
        "ExpressionAttributeNames": {"#sent": SENT, **claims},
        "ExpressionAttributeValues": {":names": {"SS": list(chosen)}},
    }


def ledger_entry(item: Mapping[str, Any]) -> LedgerWeek:
    """A ledger item as an entry: the messages sent, and the claims on the others."""
    sent = set(item.get(SENT, {}).get("SS", [])) | set(item.get(LEGACY_SENT, {}).get("SS", []))
    claims = {
        name.removeprefix(CLAIM_PREFIX): value.get("S", "")
        for name, value in item.items()
        if name.startswith(CLAIM_PREFIX) and isinstance(value, Mapping)
    }
    return LedgerWeek(frozenset(sent), claims, legacy=LEGACY_SENT in item and SENT not in item)
