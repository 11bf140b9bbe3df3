"""Fakes at the AWS boundary: SNS clients that fail or record entries, a ledger that is always empty."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gas_alerts import aws
from gas_publisher.pacing import MESSAGES_PER_SECOND, Pacer
from gas_publisher.publisher import Publisher

EntryTest = Callable[[dict[str, Any]], bool]


class FlakySns:
    """Wraps the real SNS client and fails the entries the test picks (the boundary, not the code)."""

    def __init__(self, real: Any, failing: EntryTest, raise_all: bool = False) -> None:
        self.real = real
        self.failing = failing
        self.raise_all = raise_all
        self.calls = 0

    def publish_batch(self, TopicArn: str, PublishBatchRequestEntries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803
        self.calls += 1
        if self.raise_all:
            raise aws.sns().exceptions.InternalErrorException(
                {"Error": {"Code": "InternalError", "Message": "boom"}}, "PublishBatch"
            )
        bad = [entry for entry in PublishBatchRequestEntries if self.failing(entry)]
        good = [entry for entry in PublishBatchRequestEntries if not self.failing(entry)]
        response = self.real.publish_batch(TopicArn=TopicArn, PublishBatchRequestEntries=good) if good else {}
        failed = [{"Id": e["Id"], "Code": "InternalError", "SenderFault": False} for e in bad]
        return {"Successful": response.get("Successful", []), "Failed": failed}


def region_is(region: str) -> EntryTest:
    """Picks the entries of one region."""
    return lambda entry: bool(entry["MessageAttributes"].get("region", {}).get("StringValue") == region)


@dataclass
class FailingRegion:
    """Fails the SNS entries of one region, for the first `times` entries that carry it."""

    region: str
    times: int
    failed: int = 0
    decided: dict[int, tuple[dict[str, Any], bool]] = field(default_factory=dict)

    def __call__(self, entry: dict[str, Any]) -> bool:
        # FlakySns asks twice about each entry (to split failing from passing), so decide once per entry;
        # the entry is kept with its decision so that its id() cannot be reused by a later entry.
        if id(entry) not in self.decided:
            entry_region = entry["MessageAttributes"].get("region", {}).get("StringValue")
            failing = entry_region == self.region and self.failed < self.times
            self.failed += failing
            self.decided[id(entry)] = (entry, failing)
        return self.decided[id(entry)][1]


class RecordingSns:
    """An SNS client that accepts every entry and keeps it (the boundary; the handler's logic is what is tested)."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []
        self.digests: list[dict[str, Any]] = []

    def publish_batch(self, TopicArn: str, PublishBatchRequestEntries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803
        # offline_publisher's digest topic is the alert topic's ARN with "-digest" added.
        (self.digests if TopicArn.endswith("-digest") else self.entries).extend(PublishBatchRequestEntries)
        return {"Successful": [{"Id": entry["Id"], "MessageId": "m"} for entry in PublishBatchRequestEntries]}


class EmptyLedger:
    """A DynamoDB client whose sent ledger is empty and grants every claim and mark."""

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:  # noqa: N803
        return {"Responses": {}}

    def update_item(self, **_: Any) -> dict[str, Any]:
        return {}

    def transact_write_items(self, **_: Any) -> dict[str, Any]:
        return {}


def offline_publisher() -> tuple[Publisher, RecordingSns]:
    """A publisher with no AWS behind it and no waiting: it records what it would publish."""
    sns = RecordingSns()
    topic = "arn:aws:sns:us-east-1:000000000000:t"
    return Publisher(sns, EmptyLedger(), topic, "t", f"{topic}-digest", pacer=virtual_pacer()), sns  # type: ignore[arg-type]


@dataclass
class VirtualClock:
    """Time that passes only when something sleeps: the pacing is computed, and never waited for."""

    seconds: float = 0.0

    def now(self) -> float:
        """The current virtual time."""
        return self.seconds

    def sleep(self, seconds: float) -> None:
        """Let virtual time pass."""
        self.seconds += max(seconds, 0.0)


def virtual_pacer(rate: int = MESSAGES_PER_SECOND) -> Pacer:
    """The product's pacer on a virtual clock, for tests of something other than the pacing itself."""
    clock = VirtualClock()
    return Pacer(rate=rate, clock=clock.now, sleep=clock.sleep)
