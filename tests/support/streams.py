"""Reading what a table holds in tests: a week's raw item, and its stream through the real DynamoDB Streams API."""

from __future__ import annotations

from datetime import date
from typing import Any

from gas_alerts import aws
from gas_publisher.week import week_key


def stored_item(table_name: str, week: date) -> dict[str, Any]:
    """The raw stored item of a week, as DynamoDB returns it."""
    found: dict[str, Any] = aws.dynamodb().get_item(TableName=table_name, Key=week_key(week))["Item"]
    return found


def stream_records(table_name: str) -> list[dict[str, Any]]:
    """Every record in the table's stream so far."""
    streams = aws.dynamodb_streams()
    stream_arn = aws.dynamodb().describe_table(TableName=table_name)["Table"]["LatestStreamArn"]
    records: list[dict[str, Any]] = []
    for shard in streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(
            StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            response = streams.get_records(ShardIterator=iterator, Limit=1000)
            if not response["Records"]:
                break
            records.extend(dict(record) for record in response["Records"])
            iterator = response.get("NextShardIterator", "")
    return records
