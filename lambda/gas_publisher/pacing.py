"""Paces publishing so that no email subscription receives more than SNS allows.

SNS delivers at most 10 messages a second to one email subscription; a subscription that receives more is
deactivated (back to PendingConfirmation, and deleted after 48 hours). A subscriber to every region receives
every message of the topic, so the topic as a whole must stay under the limit.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

# Half the limit. SNS delivers asynchronously, so messages published in one second can reach a mailbox bunched
# with those of the next; and one address may follow both the alert topic and the digest. Five a second leaves
# that room and still sends a 17-region week in about 3 seconds.
MESSAGES_PER_SECOND = 5
WINDOW_SECONDS = 1.0
# Clock granularity and the call's own latency: the next window starts a little after the last one ends.
MARGIN_SECONDS = 0.05
MIN_PAUSE_SECONDS = 0.001


@dataclass
class Pacer:
    """A sliding window over the last second of sends: a batch waits until it fits under the rate."""

    rate: int = MESSAGES_PER_SECOND
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _sent: deque[float] = field(default_factory=deque)

    def wait_for(self, count: int) -> float:
        """Block until `count` messages may go out without breaking the rate; returns the seconds waited."""
        if not 0 < count <= self.rate:
            raise ValueError(f"a batch holds 1 to {self.rate} messages, not {count}")
        waited = 0.0
        while True:
            now = self.clock()
            while self._sent and now - self._sent[0] >= WINDOW_SECONDS + MARGIN_SECONDS:
                self._sent.popleft()
            if len(self._sent) + count <= self.rate:
                return waited
            ages_out = self._sent[len(self._sent) + count - self.rate - 1] + WINDOW_SECONDS + MARGIN_SECONDS
            # At least a millisecond: a float pause rounding to nothing would spin without time passing.
            pause = max(ages_out - now, MIN_PAUSE_SECONDS)
            self.sleep(pause)
            waited += pause

    def sent(self, count: int) -> None:
        """Record that `count` messages just went out."""
        now = self.clock()
        self._sent.extend([now] * count)

    def seconds_for(self, count: int) -> float:
        """About how long `count` more messages take to publish at this rate, from an idle start."""
        batches = -(-count // self.rate)
        return max(batches - 1, 0) * (WINDOW_SECONDS + MARGIN_SECONDS)
