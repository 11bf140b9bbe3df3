"""Paces publishing so that no email subscription receives more than SNS allows.

SNS delivers at most 10 messages a second to one email subscription; a subscription that receives more is
deactivated (back to PendingConfirmation, and deleted after 48 hours). A subscriber to every region receives
every message of the topic, so the topic as a whole must stay under the limit.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

# Two fifths of the limit. The week items and the late items live on two partition keys, which DynamoDB may place
# on two shards, and Lambda delivers shards at the same time: two invocations, each with a pacer of its own, may
# publish at once, 8 a second together. A 17-region week still goes out in about 4 seconds.
MESSAGES_PER_SECOND = 4
# What publishes beside the stream, and may do so at the same time as both shards: the hourly sweep, and an
# operator's sweep or redrive. One a second each: with both shards busy, one of them makes 9 a second and two of
# them 10, never more. What they send is already late, so a backlog taking longer to drain costs little.
BACKGROUND_MESSAGES_PER_SECOND = 1
WINDOW_SECONDS = 1.0
# Clock granularity: the next window starts a little after the last one ends.
MARGIN_SECONDS = 0.05
MIN_PAUSE_SECONDS = 0.001


@dataclass
class Ticket:
    """Places taken in the window for one batch: each holds when its message went out (when it was sent)."""

    slots: list[list[float]] = field(default_factory=list)
    waited: float = 0.0


@dataclass
class Pacer:
    """A sliding window over the last second of sends: a batch waits until it fits under the rate.

    A batch takes its places as soon as it fits, so threads sharing one pacer never both take the last ones; when
    its publish call returns, its places move to that moment, so a slow call does not shorten the gap to the next.
    """

    rate: int = MESSAGES_PER_SECOND
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _sent: deque[list[float]] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_for(self, count: int) -> Ticket:
        """Block until `count` messages may go out without breaking the rate, and take their places now."""
        if not 0 < count <= self.rate:
            raise ValueError(f"a batch holds 1 to {self.rate} messages, not {count}")
        waited = 0.0
        while True:
            with self._lock:
                now = self.clock()
                while self._sent and now - self._sent[0][0] >= WINDOW_SECONDS + MARGIN_SECONDS:
                    self._sent.popleft()
                if len(self._sent) + count <= self.rate:
                    slots = [[now] for _ in range(count)]
                    self._sent.extend(slots)
                    return Ticket(slots, waited)
                ages_out = max(slot[0] for slot in list(self._sent)[: len(self._sent) + count - self.rate])
                ages_out += WINDOW_SECONDS + MARGIN_SECONDS
            # At least a millisecond: a float pause rounding to nothing would spin without time passing.
            pause = max(ages_out - now, MIN_PAUSE_SECONDS)
            self.sleep(pause)
            waited += pause

    def sent(self, ticket: Ticket) -> None:
        """Record that the ticket's messages went out just now (the publish call returned, or failed)."""
        with self._lock:
            now = self.clock()
            for slot in ticket.slots:
                slot[0] = now

    def batches_within(self, seconds: float) -> int:
        """How many batches of `rate` messages can start within this many seconds, from an idle start."""
        return int(seconds // (WINDOW_SECONDS + MARGIN_SECONDS)) + 1 if seconds >= 0 else 0

    def seconds_for(self, count: int) -> float:
        """About how long `count` more messages take to publish at this rate, from an idle start."""
        batches = -(-count // self.rate)
        return max(batches - 1, 0) * (WINDOW_SECONDS + MARGIN_SECONDS)
