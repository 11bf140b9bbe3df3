"""The sent ledger: what was already published for each week, and who is publishing it right now.

One item per week, in a partition of its own. `sent` is the set of messages published (region ids, "digest", and
"digest:<regions>" for a late item's digest). Before publishing a message, an invocation claims it: `claim_<name>`
holds the time its lease ends and the invocation's token, and `owner_<name>` the consumer and stream record it
claims for. A claim is written only if the message is not sent and no live claim of another owner exists, so two
consumers of the same record can never both publish a message. Once published, the message is added to `sent` with
an atomic ADD, right away; a failed publish releases its claim. A lease lasts as long as the invocation that took
it can run. A retry of the same record by the same consumer (an event source mapping processes a shard's batches
one at a time, so the invocation that claimed is over) takes the claims over at once, lease or not.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from gas_publisher.batching import batch_get
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


def lease(ends_at_ms: int, token: str) -> str:
    """A claim's value: when its lease ends, and whose it is."""
    return f"{_millis(ends_at_ms)}:{token}"


def _millis(moment_ms: int) -> str:
    return f"{moment_ms:0{MILLIS_WIDTH}d}"


class SentLedger:
    """Reads the ledger, and claims, marks and releases messages one at a time with conditional updates."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def read(self, weeks: Iterable[date]) -> dict[date, LedgerWeek]:
        """The entry of each week that has one (a consistent read)."""
        keys = [ledger_key(week) for week in sorted(set(weeks))]
        return {
            date.fromisoformat(item[SORT_KEY]["S"]): _entry(item) for item in batch_get(self._client, self._table, keys)
        }

    def claim(self, week: date, owners: Mapping[str, str], token: str, now_ms: int, ends_at_ms: int) -> bool:
        """Take these messages of one week (name -> owner) until the lease ends, all or none.

        False if any is sent, or claimed by another owner whose lease has not ended.
        """
        names: dict[str, str] = {"#sent": SENT}
        values: dict[str, Any] = {
            ":lease": {"S": lease(ends_at_ms, token)},
            ":now": {"S": f"{now_ms:0{MILLIS_WIDTH}d}"},
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
        try:
            self._client.update_item(
                TableName=self._table,
                Key=ledger_key(week),
                UpdateExpression="SET " + ", ".join(sets),
                ConditionExpression=" AND ".join(conditions),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def mark_sent(self, week: date, names: Iterable[str]) -> None:
        """Add published messages to the week's sent set and drop their claims (idempotent)."""
        chosen = sorted(set(names))
        if not chosen:
            return
        claims = {f"#c{index}": CLAIM_PREFIX + name for index, name in enumerate(chosen)}
        claims |= {f"#o{index}": OWNER_PREFIX + name for index, name in enumerate(chosen)}
        self._client.update_item(
            TableName=self._table,
            Key=ledger_key(week),
            UpdateExpression=f"ADD #sent :names REMOVE {', '.join(claims)}",
            ExpressionAttributeNames={"#sent": SENT, **claims},
            ExpressionAttributeValues={":names": {"SS": chosen}},
        )

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


def _entry(item: Mapping[str, Any]) -> LedgerWeek:
    sent = set(item.get(SENT, {}).get("SS", [])) | set(item.get(LEGACY_SENT, {}).get("SS", []))
    claims = {
        name.removeprefix(CLAIM_PREFIX): value.get("S", "")
        for name, value in item.items()
        if name.startswith(CLAIM_PREFIX) and isinstance(value, Mapping)
    }
    return LedgerWeek(frozenset(sent), claims)
