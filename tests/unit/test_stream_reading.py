"""The local stream runner reads a stream as the DynamoDB Streams API documents it, against a fake that follows it.

The fake keeps to the documented behaviour: DescribeStream pages its shards (LastEvaluatedShardId), GetRecords may
return empty pages before records further along an open shard and always gives an open shard a next iterator,
a closed shard has an EndingSequenceNumber and no iterator past its end, a child names its ParentShardId, and a
position older than the retention raises TrimmedDataAccessException.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from gas_local.stream_runner import Checkpoint, DeliveryStats, StreamRunner

STREAM = "arn:aws:dynamodb:us-east-1:000000000000:table/t/stream/1"
EVERYTHING: dict[str, Any] = {"eventName": ["INSERT"]}


def record(sequence: int) -> dict[str, Any]:
    return {"eventName": "INSERT", "dynamodb": {"SequenceNumber": f"{sequence:021d}", "NewImage": {}}}


@dataclass
class Shard:
    """One shard: its pages of records in order (an empty list is an empty page), and whether it is closed."""

    shard_id: str
    pages: list[list[int]]
    closed: bool
    parent: str | None = None
    trimmed_before: int = 0


@dataclass
class FakeStreams:
    """A DynamoDB Streams client as the API reference describes it, one shard per DescribeStream page."""

    shards: list[Shard]
    requests: list[str] = field(default_factory=list)

    def describe_stream(self, StreamArn: str, ExclusiveStartShardId: str | None = None) -> dict[str, Any]:  # noqa: N803
        ids = [shard.shard_id for shard in self.shards]
        start = ids.index(ExclusiveStartShardId) + 1 if ExclusiveStartShardId else 0
        description: dict[str, Any] = {"Shards": [self._describe(self.shards[start])] if start < len(ids) else []}
        if start + 1 < len(ids):
            description["LastEvaluatedShardId"] = ids[start]
        return {"StreamDescription": description}

    def _describe(self, shard: Shard) -> dict[str, Any]:
        sequences = [sequence for page in shard.pages for sequence in page]
        numbers = {"StartingSequenceNumber": f"{min(sequences, default=0):021d}"}
        if shard.closed:
            numbers["EndingSequenceNumber"] = f"{max(sequences, default=0):021d}"
        described: dict[str, Any] = {"ShardId": shard.shard_id, "SequenceNumberRange": numbers}
        if shard.parent:
            described["ParentShardId"] = shard.parent
        return described

    def get_shard_iterator(self, **request: str) -> dict[str, str]:
        ShardId, ShardIteratorType = request["ShardId"], request["ShardIteratorType"]  # noqa: N806 (the API's names)
        SequenceNumber = request.get("SequenceNumber", "")  # noqa: N806
        shard = next(shard for shard in self.shards if shard.shard_id == ShardId)
        if ShardIteratorType == "TRIM_HORIZON":
            return {"ShardIterator": f"{ShardId}|0"}
        if int(SequenceNumber) < shard.trimmed_before:
            raise ClientError(
                {"Error": {"Code": "TrimmedDataAccessException", "Message": "beyond the retention"}}, "GetShardIterator"
            )
        page = next(index for index, page in enumerate(shard.pages) if int(SequenceNumber) in page)
        return {"ShardIterator": f"{ShardId}|{page + 1}"}

    def get_records(self, ShardIterator: str, Limit: int) -> dict[str, Any]:  # noqa: N803
        shard_id, position = ShardIterator.split("|")
        shard = next(shard for shard in self.shards if shard.shard_id == shard_id)
        page = int(position)
        self.requests.append(ShardIterator)
        records = [record(sequence) for sequence in shard.pages[page]] if page < len(shard.pages) else []
        response: dict[str, Any] = {"Records": records}
        if not shard.closed or page + 1 < len(shard.pages):
            response["NextShardIterator"] = f"{shard_id}|{min(page + 1, len(shard.pages))}"
        return response


def runner(streams: FakeStreams, tmp_path: Path, seen: list[int]) -> StreamRunner:
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        seen.extend(int(r["dynamodb"]["SequenceNumber"]) for r in event["Records"])
        return {"batchItemFailures": []}

    return StreamRunner(
        streams=streams,  # type: ignore[arg-type]
        stream_arn=STREAM,
        handler=handler,
        checkpoint=Checkpoint(tmp_path / "checkpoint.json"),
        pattern=EVERYTHING,
        retry_delay=0,
    )


def split_stream() -> FakeStreams:
    """A closed parent shard and its open child, described child first, the child's records after empty pages."""
    return FakeStreams(
        [
            Shard("child", [[], [], [], [4, 5], [], [6]], closed=False, parent="parent"),
            Shard("parent", [[1, 2], [], [3]], closed=True),
        ]
    )


def test_empty_pages_before_records_on_an_open_shard_do_not_stop_delivery(tmp_path: Path) -> None:
    """Records that follow empty pages on an open shard are delivered in the same pass."""
    seen: list[int] = []
    runner(split_stream(), tmp_path, seen).poll(DeliveryStats())
    assert sorted(seen) == [1, 2, 3, 4, 5, 6]


def test_a_parent_shard_is_read_to_its_end_before_its_child(tmp_path: Path) -> None:
    """Stream order is kept across a split: the parent's records come before the child's, however described."""
    seen: list[int] = []
    runner(split_stream(), tmp_path, seen).poll(DeliveryStats())
    assert seen == [1, 2, 3, 4, 5, 6]


def test_every_page_of_the_shard_list_is_read(tmp_path: Path) -> None:
    """Shards listed after the first DescribeStream page (LastEvaluatedShardId) are read too."""
    streams = FakeStreams([Shard(f"s{index}", [[index]], closed=True) for index in range(1, 5)])
    seen: list[int] = []
    runner(streams, tmp_path, seen).poll(DeliveryStats())
    assert sorted(seen) == [1, 2, 3, 4]


def test_a_checkpoint_older_than_the_retention_restarts_from_the_oldest_record_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A trimmed checkpoint is not an error: reading starts again at the oldest record, and a warning says so."""
    streams = FakeStreams([Shard("s1", [[10, 11], [12]], closed=False, trimmed_before=10)])
    seen: list[int] = []
    stream_runner = runner(streams, tmp_path, seen)
    stream_runner.checkpoint.set(STREAM, "s1", f"{5:021d}")

    with caplog.at_level(logging.WARNING):
        stream_runner.run(follow=True, poll_interval=0, should_stop=lambda: len(streams.requests) > 6)

    assert seen == [10, 11, 12]
    assert any("older than the stream keeps" in message for message in caplog.messages)
