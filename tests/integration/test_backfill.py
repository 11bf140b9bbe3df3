"""The backfill on moto: paged reads, batched silent writes consistent with the weekly check, safe re-runs."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any

import pytest
from botocore.exceptions import ClientError

from gas_alerts import aws
from gas_alerts.compare import news_horizon, plan_check
from gas_alerts.settings import Settings
from gas_alerts.source import load_history, rows_from_csv
from gas_alerts.store import MAX_TRANSACTION_CONFLICTS, PriceTable, TransientTableError
from gas_local.socrata import LocalSocrata, local_socrata
from gas_publisher.batching import MAX_TRANSACTION_ITEMS
from gas_publisher.contract import DATASET_ID, REGION_IDS, stream_filter_pattern
from gas_publisher.event_filter import matches
from gas_publisher.week import Origin, WeekRecord
from tasks.backfill import fetch_history, plan_history, read_stored_history, write_history
from tasks.progress import listening_to_progress
from tests.support.data import FULL_HISTORY_CSV, LATEST_SNAPSHOT_CSV, NOW, csv_rows, prices, snapshot_weeks
from tests.support.steps import backfill, weekly_check
from tests.support.streams import stream_records

pytestmark = pytest.mark.slow(seconds=35)

FULL_WEEKS = snapshot_weeks(FULL_HISTORY_CSV)
LATEST_WEEKS = snapshot_weeks(LATEST_SNAPSHOT_CSV)
# The weeks from 14 days before the source's newest on may still alert: a backfill leaves them to the check.
FULL_HISTORY = [week for week in FULL_WEEKS if week.week < news_horizon(FULL_WEEKS[-1].week)]
LATEST_HISTORY = [week for week in LATEST_WEEKS if week.week < news_horizon(LATEST_WEEKS[-1].week)]


class WriterCrashedError(RuntimeError):
    """Stands in for a crash or a lost connection in the middle of the writes."""


@pytest.fixture
def socrata() -> Iterator[LocalSocrata]:
    """The real full history (839 weeks) served by a local Socrata stand-in."""
    with local_socrata(rows_from_csv(FULL_HISTORY_CSV.read_text(encoding="utf-8"))) as server:
        yield server


def test_full_history_but_the_newest_weeks_is_written_once(
    table: PriceTable, socrata: LocalSocrata, dynamodb_calls: Counter[str]
) -> None:
    """839 weeks: one Query, and the 836 older than 14 days before the newest week in 9 transactions of puts.

    The newest three weeks may still alert, so they are left to the check.
    """
    summary = backfill(socrata.url, table.name)

    assert dynamodb_calls == Counter({"Query": 1, "TransactWriteItems": 9})
    assert (summary.written, summary.skipped, summary.revised, summary.regions) == (836, 0, [], REGION_IDS)
    assert (summary.first_week, summary.last_week, summary.left_to_check) == (
        date(2007, 10, 29),
        date(2023, 11, 20),
        [date(2023, 11, 6), date(2023, 11, 13), date(2023, 11, 20)],
    )
    stored = list(table.all_weeks())
    assert [record.week for record in stored] == [week.week for week in FULL_HISTORY]
    batavia_added = next(record for record in stored if "batavia" in record.prices)
    assert batavia_added.week == date(2017, 1, 16)
    assert "batavia" not in batavia_added.drops, "a region without last week's price is not compared"
    assert all(region in record.previous_prices for record in stored for region in record.drops)


def test_each_week_is_compared_as_the_weekly_check_would(table: PriceTable) -> None:
    """Every stored week names the week before it, its prices, and the drops plan_check finds for that week."""
    backfill(str(LATEST_SNAPSHOT_CSV), table.name)
    weeks = snapshot_weeks(LATEST_SNAPSHOT_CSV)
    stored = list(table.all_weeks())

    for index, record in enumerate(stored[1:], start=1):
        window = weeks[max(index - 7, 0) : index + 1]
        expected = plan_check(window, [WeekRecord(week=w.week, prices=w.prices) for w in window[:-1]]).newest
        assert expected is not None
        assert (record.previous_week, record.previous_prices, record.drops) == (
            expected.previous_week,
            expected.previous_prices,
            expected.drops,
        )
        assert (record.alert, record.origin) == (False, "backfill")
    by_week = {record.week: record for record in stored}
    assert by_week[date(2025, 1, 6)].previous_week == date(2024, 12, 23), "the missing 2024-12-30 is skipped over"
    assert stored[0].previous_week is None
    assert stored[0].drops == ()


def test_a_rerun_skips_every_stored_week_and_writes_nothing(
    table: PriceTable, socrata: LocalSocrata, dynamodb_calls: Counter[str]
) -> None:
    """Backfilling the same history again reads the table once and writes nothing, counting the skipped weeks."""
    backfill(socrata.url, table.name)
    dynamodb_calls.clear()

    again = backfill(socrata.url, table.name)

    assert dynamodb_calls == Counter({"Query": 1})
    assert (again.written, again.skipped, again.write_calls) == (0, 836, 0)


def test_an_interrupted_backfill_resumes_without_duplicates_or_gaps(
    table: PriceTable, socrata: LocalSocrata, settings: Settings
) -> None:
    """The writer dies after 3 transactions; a re-run skips those 300 weeks and stores every other week exactly once."""
    calls = 0
    lock = threading.Lock()

    def crash_after_three_batches(**_: Any) -> None:
        nonlocal calls
        with lock:
            calls += 1
            if calls > 3:
                raise WriterCrashedError("connection lost")

    events = aws.dynamodb().meta.events
    events.register("before-call.dynamodb.TransactWriteItems", crash_after_three_batches)
    try:
        with pytest.raises(WriterCrashedError):
            backfill(socrata.url, table.name)
    finally:
        events.unregister("before-call.dynamodb.TransactWriteItems", crash_after_three_batches)
    assert len(list(table.all_weeks())) == 3 * MAX_TRANSACTION_ITEMS

    resumed = backfill(socrata.url, table.name)

    assert (resumed.written, resumed.skipped) == (836 - 300, 300)
    items = aws.dynamodb().query(
        TableName=settings.table_name,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "wuxr-ni2i"}},
        Select="COUNT",
    )
    assert items["Count"] == 836
    stored = list(table.all_weeks())
    assert [record.week for record in stored] == [week.week for week in FULL_HISTORY]
    assert stored[300].previous_week == stored[299].week, "the first week after the restart is compared as usual"


def test_no_backfilled_item_passes_the_stream_filter(table: PriceTable, settings: Settings) -> None:
    """None of the stream records of a backfill matches the alert filter, while a flagged weekly item does."""
    backfill(str(LATEST_SNAPSHOT_CSV), table.name)
    pattern = stream_filter_pattern()

    records = stream_records(settings.table_name)

    assert len(records) == len(LATEST_HISTORY)
    assert not [record for record in records if matches(pattern, record)]
    alerting = WeekRecord(week=date(2026, 4, 13), prices=prices(albany="3.90"), alert=True, drops=("albany",))
    table.put_new_week(alerting)
    assert [matches(pattern, record) for record in stream_records(settings.table_name)[len(records) :]] == [True]


def test_weeks_within_14_days_of_the_newest_are_left_for_the_weekly_check_to_alert_on(
    table: PriceTable, settings: Settings
) -> None:
    """On a table the weekly check keeps, a backfill fills the history only, so the check tells both new weeks."""
    with local_socrata(rows_from_csv(LATEST_SNAPSHOT_CSV.read_text(encoding="utf-8"))) as source:
        source.reveal_until(date(2026, 2, 16))
        weekly_check(source.url, table.name)
        source.reveal_until(date(2026, 3, 2))

        summary = backfill(source.url, table.name)
        weekly_check(source.url, table.name)

    assert summary.left_to_check == [date(2026, 2, 23), date(2026, 3, 2)]
    history = [week for week in LATEST_WEEKS if week.week < date(2026, 2, 16)]
    assert (summary.written, summary.skipped) == (len(history), 1)
    pattern = stream_filter_pattern()
    alerting = [r for r in stream_records(settings.table_name) if matches(pattern, r)]
    assert [record["dynamodb"]["NewImage"]["sk"]["S"] for record in alerting] == ["2026-02-23", "2026-03-02"]


def test_since_loads_from_that_week_on_compared_with_the_week_before(table: PriceTable, socrata: LocalSocrata) -> None:
    """With since, only weeks from it on are stored, and the first one is compared with the source's week before."""
    since = date(2023, 1, 2)

    summary = backfill(socrata.url, table.name, since=since)

    stored = list(table.all_weeks())
    assert stored[0].week == since
    assert summary.written == len([week for week in FULL_HISTORY if week.week >= since])
    before = next(week for week in reversed(FULL_WEEKS) if week.week < since)
    assert (stored[0].previous_week, stored[0].previous_prices) == (before.week, before.prices)


def test_the_api_is_read_page_by_page_newest_first(socrata: LocalSocrata) -> None:
    """The history comes in pages of $limit rows at growing $offset, ordered by date descending, and is complete."""
    weeks = load_history(socrata.url, page_size=100)

    assert weeks == FULL_WEEKS
    assert [(r.params["$order"], r.params["$limit"], r.params.get("$offset", "0")) for r in socrata.requests] == [
        ("date DESC", "100", str(offset)) for offset in range(0, 900, 100)
    ]


def test_paging_stops_once_it_reaches_the_week_before_since(socrata: LocalSocrata) -> None:
    """With since inside the first page, one request is enough and the week before since is kept."""
    weeks = load_history(socrata.url, since=date(2023, 6, 5), page_size=100)

    assert len(socrata.requests) == 1
    assert weeks[0].week == date(2023, 5, 29)
    assert weeks[-1].week == date(2023, 11, 20)


def test_progress_is_reported_per_batch(table: PriceTable) -> None:
    """A listener sees 0 of the total, then each transaction of 100 weeks, and finally the total."""
    seen: list[tuple[int, int]] = []

    with listening_to_progress(lambda done, total: seen.append((done, total))):
        backfill(str(LATEST_SNAPSHOT_CSV), table.name)

    total = len(LATEST_HISTORY)
    assert seen[0] == (0, total)
    assert seen[-1] == (total, total)
    assert [done for done, _ in seen] == [*range(0, total, MAX_TRANSACTION_ITEMS), total]


def price_events(table_name: str) -> Counter[tuple[str, str]]:
    """(event name, week) of every stream record of the price partition."""
    return Counter(
        (record["eventName"], record["dynamodb"]["Keys"]["sk"]["S"])
        for record in stream_records(table_name)
        if record["dynamodb"]["Keys"]["pk"]["S"] == DATASET_ID
    )


def test_a_backfill_run_again_before_the_check_leaves_the_new_weeks_to_alert(table: PriceTable) -> None:
    """Backfilled history, a new week published, the backfill run again, then the check: the recent weeks alert."""
    recent = [date(2026, 2, 9), date(2026, 2, 16), date(2026, 2, 23)]
    with local_socrata(csv_rows(LATEST_SNAPSHOT_CSV)) as source:
        source.reveal_until(date(2026, 2, 16))
        backfill(source.url, table.name)
        source.reveal_until(date(2026, 2, 23))
        again = backfill(source.url, table.name)
        checked = weekly_check(source.url, table.name)

    assert again.left_to_check == recent
    assert checked.written == recent
    assert [(record.week, record.drops) for record in checked.alerting][-1] == (
        date(2026, 2, 23),
        ("glens_falls", "watertown", "white_plains"),
    )
    pattern = stream_filter_pattern()
    alerting = [r for r in stream_records(table.name) if matches(pattern, r)]
    assert [record["dynamodb"]["NewImage"]["sk"]["S"] for record in alerting] == [
        record.week.isoformat() for record in checked.alerting
    ]
    assert {record.week for record in checked.alerting} <= set(recent)


def test_a_backfill_never_overwrites_a_week_the_check_wrote_after_the_backfill_read_the_table(
    table: PriceTable,
) -> None:
    """A backfill planning from a stale read skips the weeks the check wrote meanwhile: their flags stay."""
    with local_socrata(csv_rows(LATEST_SNAPSHOT_CSV)) as source:
        source.reveal_until(date(2026, 2, 16))
        backfill(source.url, table.name)
        source.reveal_until(date(2026, 3, 2))
        history = fetch_history.fn(source.url, None)
        stale = read_stored_history.fn(table.name)
        checked = weekly_check(source.url, table.name)
        plan = plan_history.fn(history, stale, None, NOW)
        write_history.fn(plan.writes, table.name)

    older = [date(2026, 2, 2), date(2026, 2, 9)]  # more than 14 days before the newest week
    assert checked.written == [*older, date(2026, 2, 16), date(2026, 2, 23), date(2026, 3, 2)]
    assert [record.week for record in plan.writes] == older
    stored = {record.week: record for record in table.all_weeks()}
    assert [(stored[week].origin, stored[week].alert) for week in checked.written] == [
        (Origin.WEEKLY, week not in older and bool(stored[week].drops)) for week in checked.written
    ]
    assert not [event for event in price_events(table.name) if event[0] != "INSERT"], "no item was overwritten"


def test_two_backfills_at_once_write_each_week_once(table: PriceTable, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two backfills planning from the same empty table store each week once, with no overwrite between them."""
    both_planned, one_put = threading.Barrier(2, timeout=30), threading.Lock()
    client = aws.dynamodb()
    transact = client.transact_write_items

    def put_in_turn(**request: Any) -> Any:
        # moto checks conditions and writes without a lock across its request threads; DynamoDB does both
        # atomically. The two backfills still interleave, one transaction at a time, so moto's race stays out.
        with one_put:
            return transact(**request)

    monkeypatch.setattr(client, "transact_write_items", put_in_turn)

    def one_backfill() -> int:
        history = fetch_history.fn(str(LATEST_SNAPSHOT_CSV), None)
        plan = plan_history.fn(history, read_stored_history.fn(table.name), None, NOW)
        both_planned.wait()
        return len(write_history.fn(plan.writes, table.name).written)

    with ThreadPoolExecutor(max_workers=2) as pool:
        written = [run.result() for run in [pool.submit(one_backfill) for _ in range(2)]]

    events = price_events(table.name)
    assert sum(written) == len(LATEST_HISTORY), "every week of the history, each by one of the two"
    assert set(events.values()) == {1}
    assert {name for name, _ in events} == {"INSERT"}


def conflicting(client: Any, times: int) -> tuple[list[int], Any]:
    """transact_write_items cancelled `times` times, then sent to moto.

    The cancellation is DynamoDB's while another transaction holds the last item: its reason TransactionConflict,
    the others None.
    """
    sizes: list[int] = []
    send = client.transact_write_items

    def answer(**request: Any) -> Any:
        sizes.append(len(request["TransactItems"]))
        if len(sizes) <= times:
            reasons: list[Any] = [{"Code": "None"}] * (sizes[-1] - 1) + [{"Code": "TransactionConflict"}]
            response: Any = {
                "Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"},
                "CancellationReasons": reasons,
            }
            raise ClientError(response, "TransactWriteItems")
        return send(**request)

    return sizes, answer


def locked_for(
    table: PriceTable, monkeypatch: pytest.MonkeyPatch, times: int
) -> tuple[list[WeekRecord], PriceTable, list[int], list[float]]:
    """Three weeks to store, and the table whose transactions a lock cancels `times` times.

    The transactions' sizes and the pauses between them are recorded; the pauses are not slept.
    """
    records = [WeekRecord(week=week.week, prices=week.prices) for week in snapshot_weeks(LATEST_SNAPSHOT_CSV)[:3]]
    client = aws.dynamodb()
    sizes, answer = conflicting(client, times=times)
    monkeypatch.setattr(client, "transact_write_items", answer)
    pauses: list[float] = []
    return records, PriceTable(client, table.name, pause=pauses.append), sizes, pauses


def test_a_transaction_another_write_holds_goes_again_after_a_pause(
    table: PriceTable, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A week locked by another transaction cancels the batch without writing; it goes again, whole, and lands."""
    records, locked, sizes, pauses = locked_for(table, monkeypatch, times=1)

    outcome = locked.put_weeks(records)

    assert (outcome.written, outcome.already_stored, outcome.calls) == ([r.week for r in records], [], 2)
    assert (sizes, pauses) == ([3, 3], [0.2])
    assert [record.week for record in table.all_weeks()] == [record.week for record in records]


def test_a_transaction_that_stays_locked_fails_the_backfill_without_writing(
    table: PriceTable, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After its retries a batch still locked ends the run (it is safe to re-run), and nothing half-written stays."""
    records, locked, sizes, pauses = locked_for(table, monkeypatch, times=100)

    with pytest.raises(TransientTableError, match=table.name):
        locked.put_weeks(records)

    assert len(sizes) == 1 + MAX_TRANSACTION_CONFLICTS
    assert pauses == pytest.approx([0.2 * attempt for attempt in range(1, MAX_TRANSACTION_CONFLICTS + 1)])
    assert list(table.all_weeks()) == []
