"""Publishes a batch's alerts and digests: each at most once (the sent ledger), paced within SNS's email limit."""

from __future__ import annotations

import logging
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from gas_publisher.alert import Alert
from gas_publisher.batching import UnprocessedError
from gas_publisher.digest import Digest
from gas_publisher.ledger import LedgerWeek, SentLedger, lease
from gas_publisher.messages import Message
from gas_publisher.pacing import Pacer

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sns.type_defs import PublishBatchRequestEntryTypeDef

logger = logging.getLogger("gas_publisher")
AWS_ERRORS = (BotoCoreError, ClientError, UnprocessedError)
# No batch starts with less time than this left: the pacing wait plus one PublishBatch at its client's worst
# (3 attempts of 2 s to connect and 5 s to read) and the ledger's writes. What is not started is retried.
BATCH_BUDGET_MS = 25_000
# Without a Lambda context (a script, a test) a claim lasts this long; the runtime's deadline is used otherwise.
DEFAULT_LEASE_MS = 15 * 60 * 1000
# Marking a published message as sent is retried beyond the client's own retries, for as long as the claim's lease
# (the invocation's deadline) allows: an unmarked message is what a retry sends again. The waits double up to a cap.
MARK_BACKOFF_SECONDS = 0.2
MARK_MAX_BACKOFF_SECONDS = 2.0
# No mark is tried with less than this left of the lease: one more mark at its client's worst (3 attempts of 2 s to
# connect and 5 s to read) and the batch's response must fit before the runtime stops the invocation.
MARK_MARGIN_MS = 22_000


class Publisher:
    """Publishes alerts to the alert topic and digests to the digest topic, at most once each."""

    def __init__(
        self,
        sns: SNSClient,
        dynamodb: DynamoDBClient,
        topic_arn: str,
        table_name: str,
        digest_topic_arn: str = "",
        *,
        pacer: Pacer | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._sns = sns
        self._topic_arn = topic_arn
        self._digest_topic_arn = digest_topic_arn
        self._ledger = SentLedger(dynamodb, table_name)
        # Kept with the publisher, which the handler keeps across warm invocations: pacing spans them too.
        self.pacer = pacer or Pacer()
        self._clock = clock

    @property
    def ledger(self) -> SentLedger:
        """The sent ledger this publisher claims and marks messages in."""
        return self._ledger

    def capacity(self, deadline_ms: int | None) -> int | None:
        """How many messages can start going out before the deadline leaves too little time (None: no deadline).

        One batch of the pacing's size starts each window while more than BATCH_BUDGET_MS is left; a batch less,
        as the alerts and the digests go in batches of their own.
        """
        if deadline_ms is None:
            return None
        seconds = (deadline_ms - self._now_ms() - BATCH_BUDGET_MS) / 1000
        return max(self.pacer.batches_within(seconds) - 1, 0) * self.pacer.rate

    def publish(
        self, messages: Sequence[Message], deadline_ms: int | None = None, owners: Mapping[str, str] | None = None
    ) -> set[str]:
        """Publish what the ledger has not seen yet, oldest week first; return the dedup ids not published.

        `owners` names, by dedup id, the consumer and stream record each message is published for: a retry of the
        same record by the same consumer takes over the claims an ended invocation left. Without one, a message's
        claim is this invocation's alone.
        """
        try:
            ledger = self._ledger.read(message.week for message in messages)
        except AWS_ERRORS:
            logger.exception("could not read the sent ledger; the whole batch will be retried")
            return {message.dedup_id for message in messages}
        pending = []
        for message in messages:
            if message.ledger_name in ledger.get(message.week, LedgerWeek()).sent:
                logger.info("skip %s: already published", message.dedup_id)
            else:
                pending.append(message)
        now_ms = self._now_ms()
        ends_at_ms = deadline_ms or now_ms + DEFAULT_LEASE_MS
        claim = Claim(self._ledger, uuid.uuid4().hex, ends_at_ms, owners or {}, clock=self._clock)
        claimed = claim.take_all(pending, now_ms)
        failed = {message.dedup_id for message in pending if message not in claimed}
        # Oldest week first: the alerts, then the digests, each in calls of as many messages as the pacing lets out
        # in a second. A call may span weeks; its messages are marked sent together right after it.
        by_week = sorted(claimed, key=lambda message: message.week)
        alerts: list[Message] = [message for message in by_week if isinstance(message, Alert)]
        digests: list[Message] = [message for message in by_week if isinstance(message, Digest)]
        if digests and not self._digest_topic_arn:
            logger.warning("no digest topic is configured; %d digests are not sent", len(digests))
            claim.release_all(digests)
            digests = []
        rate = self.pacer.rate
        batches = [alerts[start : start + rate] for start in range(0, len(alerts), rate)]
        batches += [digests[start : start + rate] for start in range(0, len(digests), rate)]
        for position, batch in enumerate(batches):
            if deadline_ms is not None and deadline_ms - self._now_ms() < BATCH_BUDGET_MS:
                rest = [message for later in batches[position:] for message in later]
                logger.warning("%d messages left for the retry: too little time left", len(rest))
                claim.release_all(rest)
                return failed | {message.dedup_id for message in rest}
            if isinstance(batch[0], Digest):
                failed |= self._publish_digests(batch, claim)
            else:
                failed |= self._publish_alerts(batch, claim)
        return failed

    def _publish_alerts(self, batch: Sequence[Message], claim: Claim) -> set[str]:
        return self._publish_batch(self._topic_arn, batch, claim)

    def _publish_digests(self, batch: Sequence[Message], claim: Claim) -> set[str]:
        # Paced with the alerts: one address may follow both topics.
        return self._publish_batch(self._digest_topic_arn, batch, claim)

    def _publish_batch(self, topic_arn: str, batch: Sequence[Message], claim: Claim) -> set[str]:
        """One PublishBatch, paced; marks what went out as sent and releases what did not."""
        ticket = self.pacer.wait_for(len(batch))
        entries = [publish_entry(message, str(index)) for index, message in enumerate(batch)]
        try:
            response = self._sns.publish_batch(TopicArn=topic_arn, PublishBatchRequestEntries=entries)
        except AWS_ERRORS:
            self.pacer.sent(ticket)
            logger.exception("PublishBatch failed for %d messages", len(batch))
            claim.release_all(batch)
            return {message.dedup_id for message in batch}
        self.pacer.sent(ticket)
        rejected = {int(entry["Id"]) for entry in response.get("Failed", [])}
        for entry in response.get("Failed", []):
            logger.error("publish failed for %s: %s", batch[int(entry["Id"])].dedup_id, entry.get("Code", "unknown"))
        published = [message for index, message in enumerate(batch) if index not in rejected]
        for message in published:
            logger.info("published %s", message.dedup_id)
        claim.release_all([message for index, message in enumerate(batch) if index in rejected])
        unconfirmed = claim.mark(published)
        return {batch[index].dedup_id for index in rejected} | {message.dedup_id for message in unconfirmed}

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)


def publish_entry(message: Message, entry_id: str) -> PublishBatchRequestEntryTypeDef:
    """One PublishBatch request entry for an alert or a digest."""
    return {
        "Id": entry_id,
        "Subject": message.subject,
        "Message": message.body,
        "MessageAttributes": message.message_attributes(),
    }


class Claim:
    """This invocation's claims in the ledger: taken before a publish, marked sent or released right after it."""

    def __init__(
        self,
        ledger: SentLedger,
        token: str,
        ends_at_ms: int,
        owners: Mapping[str, str],
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._ledger = ledger
        self._value = lease(ends_at_ms, token)
        self._token = token
        self._ends_at_ms = ends_at_ms
        self._owners = owners
        self._clock = clock

    def take_all(self, messages: Sequence[Message], now_ms: int) -> list[Message]:
        """Claim the messages, each week whole, all weeks in one call; a week with a conflict, message by message.

        What is not claimed (another live consumer holds it, or it was just sent) stays for a retry.
        """
        by_week: defaultdict[date, list[Message]] = defaultdict(list)
        for message in messages:
            by_week[message.week].append(message)
        try:
            whole = self._ledger.claim_weeks(
                {week: self._owners_of(group) for week, group in by_week.items()},
                self._token,
                now_ms,
                self._ends_at_ms,
            )
        except AWS_ERRORS:
            logger.exception("could not claim the messages of %d weeks; left for the retry", len(by_week))
            return []
        claimed: list[Message] = []
        for week, group in by_week.items():
            if week in whole:
                claimed += group
            elif len(group) > 1:
                claimed += [message for message in group if self._take(week, [message], now_ms)]
        for message in messages:
            if message not in claimed:
                logger.info("%s is claimed by another consumer, or was just sent; left for the retry", message.dedup_id)
        return [message for message in messages if message in claimed]

    def _owners_of(self, group: Sequence[Message]) -> dict[str, str]:
        return {message.ledger_name: self._owners.get(message.dedup_id, self._token) for message in group}

    def _take(self, week: date, group: Sequence[Message], now_ms: int) -> bool:
        try:
            return self._ledger.claim(week, self._owners_of(group), self._token, now_ms, self._ends_at_ms)
        except AWS_ERRORS:
            logger.exception("could not claim %s; left for the retry", ", ".join(message.dedup_id for message in group))
            return False

    def mark(self, messages: Sequence[Message]) -> list[Message]:
        """Record published messages as sent, all their weeks in one call; return those the ledger never took.

        A lost mark is what could send a message twice, so the mark is tried again until the lease (the invocation's
        deadline) is within MARK_MARGIN_MS of its end. What is still unmarked then is named in an error: its record
        must not count as done.
        """
        by_week: defaultdict[date, list[str]] = defaultdict(list)
        for message in messages:
            by_week[message.week].append(message.ledger_name)
        if not by_week:
            return []
        attempt = 0
        while True:
            attempt += 1
            try:
                self._ledger.mark_weeks(by_week)
                return []
            except AWS_ERRORS:
                logger.exception("published, but recording it in the sent ledger failed (attempt %d)", attempt)
            pause = min(MARK_BACKOFF_SECONDS * 2 ** (attempt - 1), MARK_MAX_BACKOFF_SECONDS)
            if self._clock() * 1000 + pause * 1000 + MARK_MARGIN_MS > self._ends_at_ms:
                logger.error(
                    "published %s, but the sent ledger refused the mark %d times, until the invocation's deadline; "
                    "the records are reported, and their retry sends them again",
                    ", ".join(message.dedup_id for message in messages),
                    attempt,
                )
                return list(messages)
            time.sleep(pause)

    def release_all(self, messages: Sequence[Message]) -> None:
        """Give up the claims on messages that were not published."""
        for message in messages:
            try:
                self._ledger.release(message.week, message.ledger_name, self._value)
            except AWS_ERRORS:
                # The lease ends with this invocation anyway; a retry after that may claim it again.
                logger.exception("could not release the claim on %s", message.dedup_id)
