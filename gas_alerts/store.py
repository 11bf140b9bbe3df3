"""The price table in DynamoDB: the latest weeks in one Query, conditional puts, and revisions."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from gas_alerts.compare import Revision
from gas_publisher.contract import DATASET_ID, PARTITION_KEY, SORT_KEY
from gas_publisher.week import WeekRecord, encode_prices, week_key

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

KEY_NAMES = {"#pk": PARTITION_KEY, "#sk": SORT_KEY}


class PriceTable:
    """Reads and writes week items of one table."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self.client = client
        self.name = table_name

    def recent_weeks(self, limit: int) -> list[WeekRecord]:
        """The newest `limit` stored weeks, newest first, in a single Query (never a Scan)."""
        response = self.client.query(
            TableName=self.name,
            KeyConditionExpression="#pk = :pk",
            ExpressionAttributeNames={"#pk": PARTITION_KEY},
            ExpressionAttributeValues={":pk": {"S": DATASET_ID}},
            ScanIndexForward=False,
            Limit=limit,
            ConsistentRead=True,
        )
        return [WeekRecord.from_item(item) for item in response.get("Items", [])]

    def all_weeks(self) -> Iterator[WeekRecord]:
        """Every stored week, oldest first (paged Query; for backfill and replay, not the weekly check)."""
        paginator = self.client.get_paginator("query")
        for page in paginator.paginate(
            TableName=self.name,
            KeyConditionExpression="#pk = :pk",
            ExpressionAttributeNames={"#pk": PARTITION_KEY},
            ExpressionAttributeValues={":pk": {"S": DATASET_ID}},
            ConsistentRead=True,
        ):
            for item in page.get("Items", []):
                yield WeekRecord.from_item(item)

    def put_new_week(self, record: WeekRecord) -> bool:
        """Store a week unless it is already stored; False means another run stored it first."""
        try:
            self.client.put_item(
                TableName=self.name,
                Item=record.to_item(),
                ConditionExpression="attribute_not_exists(#sk)",
                ExpressionAttributeNames={"#sk": SORT_KEY},
            )
        except ClientError as error:
            if _code(error) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def apply_revision(self, revision: Revision, seen_at: str) -> bool:
        """Update a stored week to the source's new values, keeping the old ones in its revision log."""
        entry: dict[str, Any] = {
            "M": {
                "seen_at": {"S": seen_at},
                "old": encode_prices(revision.old),
                "new": encode_prices(revision.new),
            }
        }
        names = {"#p": "prices", "#rev": "rev", "#log": "revisions"}
        values: dict[str, Any] = {
            ":rev": {"N": str(revision.stored_rev)},
            ":next": {"N": str(revision.stored_rev + 1)},
            ":entry": {"L": [entry]},
            ":empty": {"L": []},
        }
        sets = ["#rev = :next", "#log = list_append(if_not_exists(#log, :empty), :entry)"]
        for index, (region, price) in enumerate(sorted(revision.new.items())):
            names[f"#r{index}"] = region
            values[f":v{index}"] = {"N": str(price)}
            sets.append(f"#p.#r{index} = :v{index}")
        try:
            self.client.update_item(
                TableName=self.name,
                Key=week_key(revision.week),
                UpdateExpression="SET " + ", ".join(sets),
                ConditionExpression="#rev = :rev",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if _code(error) == "ConditionalCheckFailedException":
                return False
            raise
        return True


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))
