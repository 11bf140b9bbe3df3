"""The publisher's pacing and the local stand-in's rate rule, on a virtual clock."""

from __future__ import annotations

import pytest

from gas_local.inbox import EMAIL_MESSAGES_PER_SECOND, RateWatch, SubscriptionRateError
from gas_publisher.pacing import BACKGROUND_MESSAGES_PER_SECOND, MESSAGES_PER_SECOND, WINDOW_SECONDS, Pacer
from tests.support.fakes import VirtualClock


def sends(pacer: Pacer, clock: VirtualClock, messages: int, batch: int) -> list[float]:
    """When each message goes out when `messages` are sent in batches of `batch` through the pacer."""
    times: list[float] = []
    while len(times) < messages:
        count = min(batch, messages - len(times))
        pacer.sent(pacer.wait_for(count))
        times += [clock.now()] * count
    return times


@pytest.mark.parametrize("messages", [1, 5, 17, 100])
def test_no_second_ever_holds_more_messages_than_the_rate(messages: int) -> None:
    """Whatever the count, any one-second window holds at most MESSAGES_PER_SECOND messages."""
    clock = VirtualClock()
    times = sends(Pacer(clock=clock.now, sleep=clock.sleep), clock, messages, MESSAGES_PER_SECOND)
    assert max(sum(1 for other in times if 0 <= other - first < 1.0) for first in times) <= MESSAGES_PER_SECOND


def test_seventeen_drops_take_about_four_seconds() -> None:
    """17 messages go out in 5 batches of at most 4, a little over a second apart: well inside a Lambda timeout."""
    clock = VirtualClock()
    pacer = Pacer(clock=clock.now, sleep=clock.sleep)
    times = sends(pacer, clock, 17, MESSAGES_PER_SECOND)
    assert 4.0 <= times[-1] - times[0] <= 4.3
    assert pacer.seconds_for(17) == pytest.approx(times[-1] - times[0], abs=0.01)


def test_a_batch_larger_than_the_rate_is_refused() -> None:
    """A batch that could not go out in one second under the rate is a programming error."""
    with pytest.raises(ValueError, match="1 to 4 messages"):
        Pacer().wait_for(MESSAGES_PER_SECOND + 1)


def test_the_rate_watch_allows_ten_a_second_and_names_the_subscription_at_eleven() -> None:
    """Ten arrivals within a second pass; the eleventh within that second fails, naming the subscription."""
    watch = RateWatch("the subscription of queue inbox")
    watch.record([1000 + 90 * index for index in range(10)])
    watch.record([2000])  # a second after the first: the window has moved on
    with pytest.raises(SubscriptionRateError, match="the subscription of queue inbox received 11 messages"):
        watch.record([2001, 2002])


def test_a_batch_takes_its_places_before_its_publish_call_returns() -> None:
    """Two threads sharing a pacer: a batch whose call is still under way already holds its places."""
    clock = VirtualClock()
    pacer = Pacer(clock=clock.now, sleep=clock.sleep)
    publishing = pacer.wait_for(MESSAGES_PER_SECOND)  # another thread is publishing these right now

    after = pacer.wait_for(1)

    assert after.waited >= WINDOW_SECONDS
    pacer.sent(publishing)


def test_the_next_batch_waits_a_window_after_a_slow_call_returned() -> None:
    """A publish call that takes 0.8 s moves its places to when it returned: the next batch waits from there."""
    clock = VirtualClock()
    pacer = Pacer(clock=clock.now, sleep=clock.sleep)
    ticket = pacer.wait_for(MESSAGES_PER_SECOND)
    clock.sleep(0.8)
    pacer.sent(ticket)
    returned = clock.now()

    pacer.wait_for(1)

    assert clock.now() - returned >= WINDOW_SECONDS


def test_everything_that_may_publish_at_once_stays_within_the_email_limit() -> None:
    """Both stream shards at full rate and two background publishers (the sweep, an operator's) make 10 a second."""
    assert 2 * MESSAGES_PER_SECOND + 2 * BACKGROUND_MESSAGES_PER_SECOND <= EMAIL_MESSAGES_PER_SECOND
