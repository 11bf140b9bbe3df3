"""The on-failure destination's batch pointers: written as Lambda writes them, read back by redrive, in one place."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

Record = dict[str, Any]


class NotAPointerError(ValueError):
    """A dead-letter message that is not a stream batch pointer (bad JSON, a missing or malformed field)."""


# What the DynamoDB Streams API accepts (its Shard, SequenceNumberRange and GetShardIterator references).
SEQUENCE_NUMBER = re.compile(r"[0-9]{21,40}")
SHARD_ID = re.compile(r"[A-Za-z0-9_.-]{28,65}")
STREAM_ARN = re.compile(r"arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:[0-9]{12}:table/[A-Za-z0-9_.-]{3,255}/stream/[^/\s]+")
# A stream keeps its records this long; a pointer that arrived earlier may name a shard the stream no longer lists.
STREAM_RETENTION = timedelta(hours=24)
QUOTE = 40


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
        """Read a dead-letter message body; NotAPointerError says what is wrong with one that is not a pointer.

        Every field the stream is read with is checked as the Streams API would check it, so a bad one is named here
        and never reaches a call.
        """
        try:
            info = json.loads(body)["DDBStreamBatchInfo"]
        except (ValueError, KeyError, TypeError):
            raise NotAPointerError("no DDBStreamBatchInfo in a JSON object") from None
        if not isinstance(info, Mapping):
            raise NotAPointerError("DDBStreamBatchInfo is not an object")
        names = ("streamArn", "shardId", "startSequenceNumber", "endSequenceNumber")
        missing = [name for name in names if name not in info]
        if missing:
            raise NotAPointerError(f"DDBStreamBatchInfo lacks {', '.join(missing)}")
        stream = _field(info, "streamArn", STREAM_ARN, "a DynamoDB stream ARN")
        shard = _field(info, "shardId", SHARD_ID, "a shard id (28 to 65 letters, digits and dashes)")
        start = _field(info, "startSequenceNumber", SEQUENCE_NUMBER, "a sequence number (21 to 40 digits)")
        end = _field(info, "endSequenceNumber", SEQUENCE_NUMBER, "a sequence number (21 to 40 digits)")
        if int(start) > int(end):
            raise NotAPointerError(f"startSequenceNumber {start} is after endSequenceNumber {end}")
        return cls(
            stream_arn=stream,
            shard_id=shard,
            start=start,
            end=end,
            first_arrival=str(info.get("approximateArrivalOfFirstRecord", ""))[:QUOTE],
            last_arrival=str(info.get("approximateArrivalOfLastRecord", ""))[:QUOTE],
        )

    def past_retention(self, now: datetime) -> bool:
        """Whether the stream may have trimmed the batch already: it arrived more than 24 hours before `now`."""
        arrived = _moment(self.last_arrival or self.first_arrival)
        return arrived is not None and now - arrived > STREAM_RETENTION


def _field(info: Mapping[str, Any], name: str, pattern: re.Pattern[str], kind: str) -> str:
    value = info[name]
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise NotAPointerError(f"{name} is not {kind}: {str(value)[:QUOTE]!r}")
    return value


def _moment(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


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
