"""What the sweep reads from a scheduled event and works out from the items: pure functions, no AWS."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from gas_publisher.contract import SWEEP_EVENT_KEY, SWEEP_GRACE_SECONDS, SWEEP_WEEKS
from gas_publisher.ledger import LedgerWeek, lease, ledger_entry
from gas_publisher.sweep import (
    InvalidSweepRequestError,
    SweepRequest,
    TableWindow,
    outstanding,
    told_messages,
)
from gas_publisher.week import WeekRecord

WEEK = date(2026, 2, 23)
NOW = datetime(2026, 2, 26, 15, tzinfo=UTC)
WRITTEN = (NOW - timedelta(hours=2)).isoformat()


def week_item(drops: tuple[str, ...], told: tuple[str, ...] | None = None, **changes: Any) -> WeekRecord:
    """A week item flagged for alerting whose `drops` each fell 10 cents."""
    record = WeekRecord(
        week=WEEK,
        prices={region: Decimal("3.00") for region in ("albany", "nassau", "utica", "buffalo")},
        previous_week=WEEK - timedelta(weeks=1),
        previous_prices={region: Decimal("3.10") for region in ("albany", "nassau", "utica", "buffalo")},
        drops=drops,
        alert=True,
        recorded_at=WRITTEN,
        told=drops if told is None else told,
    )
    return replace(record, **changes)


def names(record_lists: list[Any]) -> list[str]:
    return [told.message.dedup_id for told in record_lists]


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        ({SWEEP_EVENT_KEY: {}}, SweepRequest(SWEEP_GRACE_SECONDS, SWEEP_WEEKS)),
        ({SWEEP_EVENT_KEY: {"older_than_seconds": 0, "weeks": 8}}, SweepRequest(0, 8)),
        ({"Records": []}, None),
    ],
)
def test_the_schedule_event_is_told_from_a_stream_batch_by_its_key(event: Any, expected: SweepRequest | None) -> None:
    """An event with the sweep's key is a sweep (defaults filled in); a stream batch is not."""
    assert SweepRequest.from_event(event) == expected


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("hourly", "is not an object"),
        ({"weeks": "8"}, "weeks is not a whole number"),
        ({"weeks": True}, "weeks is not a whole number"),
        ({"weeks": 53}, "weeks must be 1 to 52"),
        ({"older_than_seconds": -1}, "older_than_seconds must be 0"),
        ({"olderThan": 5}, "unknown settings: olderThan"),
    ],
)
def test_a_sweep_event_with_bad_settings_is_refused_naming_the_setting(body: Any, problem: str) -> None:
    """A scheduled input that is not what the schedule sends raises, naming what is wrong."""
    with pytest.raises(InvalidSweepRequestError, match=problem):
        SweepRequest.from_event({SWEEP_EVENT_KEY: body})


def test_a_week_item_tells_its_own_falls_and_a_late_item_its_own() -> None:
    """Albany told with the week, Utica by a late item: each once, each with its own digest."""
    week = week_item(("albany", "utica"), told=("albany", "utica"))
    late = week_item(("utica",), late_regions=("utica",))

    told, malformed = told_messages([week], [late])

    assert names(told) == [
        "2026-02-23#albany",
        "2026-02-23#digest",
        "2026-02-23#utica",
        "2026-02-23#digest:utica",
    ]
    assert malformed == []


def test_a_fall_the_source_corrected_away_is_not_sent_and_an_untold_drop_is_not_either() -> None:
    """Told Nassau no longer falls after a revision; Buffalo falls but was never told (history): neither is built."""
    week = week_item(("albany", "buffalo"), told=("albany", "nassau"))

    told, _ = told_messages([week], [])

    assert names(told) == ["2026-02-23#albany", "2026-02-23#digest"]


def test_silent_items_tell_nothing() -> None:
    """A baseline or history item (alert false) tells nothing, whatever its drops."""
    assert told_messages([week_item(("albany",), alert=False)], []) == ([], [])


def test_what_is_sent_claimed_or_too_young_is_not_due() -> None:
    """Sent: skipped; a live claim: in flight; an expired claim: due; an item written 10 minutes ago: waiting."""
    now_ms = int(NOW.timestamp() * 1000)
    ledger = LedgerWeek(
        sent=frozenset({"albany"}),
        claims={"nassau": lease(now_ms + 30_000, "live"), "utica": lease(now_ms - 1, "ended")},
    )
    window = TableWindow(weeks=[week_item(("albany", "nassau", "utica"))], ledger={WEEK: ledger})

    found = outstanding(window, NOW, timedelta(minutes=30))
    young = outstanding(
        TableWindow(weeks=[week_item(("albany",), recorded_at=(NOW - timedelta(minutes=10)).isoformat())]),
        NOW,
        timedelta(minutes=30),
    )

    assert [message.dedup_id for message in found.due] == ["2026-02-23#utica", "2026-02-23#digest"]
    assert [message.dedup_id for message in found.in_flight] == ["2026-02-23#nassau"]
    assert [message.dedup_id for message in young.waiting] == ["2026-02-23#albany", "2026-02-23#digest"]


def test_an_item_that_cannot_give_its_messages_is_named() -> None:
    """A flagged item whose drops do not show a fall is reported with its week, not sent and not skipped silently."""
    broken = week_item(("albany",), prices={"albany": Decimal("3.20")})

    told, malformed = told_messages([broken], [])

    assert told == []
    assert malformed == ["the item of 2026-02-23: drops lists albany but its prices do not show a drop"]


def test_a_week_the_ledger_recorded_before_digests_were_recorded_sends_no_digest_again() -> None:
    """An old ledger entry (regions only): its regions are sent, and its digest is not sent again by the sweep."""
    old = ledger_entry({"pk": {"S": "wuxr-ni2i#sent"}, "sk": {"S": WEEK.isoformat()}, "regions": {"SS": ["albany"]}})
    window = TableWindow(weeks=[week_item(("albany", "nassau"))], ledger={WEEK: old})

    found = outstanding(window, NOW, timedelta(minutes=30))

    assert old.legacy
    assert [message.dedup_id for message in found.due] == ["2026-02-23#nassau"]
