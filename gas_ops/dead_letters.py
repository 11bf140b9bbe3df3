"""The on-failure destination's batch pointers: written as Lambda writes them, read back by redrive, in one place."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

Record = dict[str, Any]


class NotAPointerError(ValueError):
    """A dead-letter message that is not a stream batch pointer (bad JSON, a missing or malformed field)."""


@dataclass(frozen=True)
class BatchPointer:
    """A shard and a range of sequence numbers: what a dead-letter message points at, not the records themselves."""

    stream_arn: str
    shard_id: str
    start: str
    end: str
    first_arrival: str = ""
    last_arrival: str = ""

    @classmethod
    def parse(cls, body: str) -> BatchPointer:
        """Read a dead-letter message body; NotAPointerError says what is wrong with one that is not a pointer."""
        try:
            info = json.loads(body)["DDBStreamBatchInfo"]
        except (ValueError, KeyError, TypeError):
            raise NotAPointerError("not a stream batch pointer (no DDBStreamBatchInfo)") from None
        if not isinstance(info, Mapping):
            raise NotAPointerError("DDBStreamBatchInfo is not an object")
        names = ("streamArn", "shardId", "startSequenceNumber", "endSequenceNumber")
        missing = [name for name in names if name not in info]
        if missing:
            raise NotAPointerError(f"DDBStreamBatchInfo lacks {', '.join(missing)}")
        start, end = info["startSequenceNumber"], info["endSequenceNumber"]
        return cls(
            stream_arn=str(info["streamArn"]),
            shard_id=str(info["shardId"]),
            start=str(start),
            end=str(end),
            first_arrival=str(info.get("approximateArrivalOfFirstRecord", "")),
            last_arrival=str(info.get("approximateArrivalOfLastRecord", "")),
        )


def on_failure_record(
    stream_arn: str,
    shard_id: str,
    records: Sequence[Record],
    *,
    request: Mapping[str, Any],
    response: Mapping[str, Any],
) -> dict[str, Any]:
    """The document Lambda sends an on-failure destination: who failed how, and a pointer to the records."""
    arrivals = [_arrival(record) for record in records]
    return {
        "requestContext": dict(request),
        "responseContext": dict(response),
        "version": "1.0",
        "timestamp": _iso(datetime.now(UTC)),
        "DDBStreamBatchInfo": {
            "shardId": shard_id,
            "startSequenceNumber": records[0]["dynamodb"]["SequenceNumber"],
            "endSequenceNumber": records[-1]["dynamodb"]["SequenceNumber"],
            "approximateArrivalOfFirstRecord": arrivals[0],
            "approximateArrivalOfLastRecord": arrivals[-1],
            "batchSize": len(records),
            "streamArn": stream_arn,
        },
    }


def _arrival(record: Record) -> str:
    created = record["dynamodb"].get("ApproximateCreationDateTime")
    if isinstance(created, int | float):
        created = datetime.fromtimestamp(created, UTC)
    return _iso(created) if isinstance(created, datetime) else ""


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
