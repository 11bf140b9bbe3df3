"""The price table on moto: a constant-cost latest-week lookup, conditional puts and kept revisions."""

from __future__ import annotations

import copy
from collections import Counter
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from botocore.exceptions import ClientError

from gas_alerts import aws
from gas_alerts.compare import plan_check
from gas_alerts.prices import WeekPrices
from gas_alerts.settings import Settings
from gas_alerts.store import PriceTable
from gas_publisher.week import Revision, WeekRecord, week_key
from tests.support.data import prices, weekly
from tests.support.streams import stream_records


def test_latest_week_lookup_is_one_query_whatever_the_history(table: PriceTable, dynamodb_calls: Counter[str]) -> None:
    """With 60 stored weeks, the newest 8 come back newest first from a single Query and no Scan."""
    for day in weekly(date(2025, 1, 6), 60):
        table.put_new_week(WeekRecord(week=day, prices=prices(albany="3.00")))
    dynamodb_calls.clear()

    recent = table.recent_weeks(8)

    assert dynamodb_calls == Counter({"Query": 1})
    assert [record.week for record in recent] == sorted((r.week for r in recent), reverse=True)
    assert recent[0].week == weekly(date(2025, 1, 6), 60)[-1]
    assert len(recent) == 8


def test_conditional_put_stores_a_week_once(table: PriceTable) -> None:
    """The second put of the same week is refused as already stored and leaves the first one intact."""
    first = WeekRecord(week=date(2026, 11, 23), prices=prices(albany="3.40"), alert=True, drops=())
    assert table.put_new_week(first)
    assert not table.put_new_week(WeekRecord(week=date(2026, 11, 23), prices=prices(albany="9.99")))
    [stored] = table.recent_weeks(1)
    assert stored.prices == {"albany": Decimal("3.40")}


def test_week_item_round_trips(table: PriceTable) -> None:
    """What the flow writes is what the Lambda reads back: prices, previous week, drops and flag."""
    record = WeekRecord(
        week=date(2026, 11, 23),
        prices=prices(albany="3.40", nassau="3.20"),
        previous_week=date(2026, 11, 16),
        previous_prices=prices(albany="3.45", nassau="3.20"),
        drops=("albany",),
        alert=True,
        recorded_at="2026-11-25T10:00:00+00:00",
    )
    table.put_new_week(record)
    assert table.recent_weeks(1) == [record]


def test_revision_keeps_the_original_value(table: PriceTable, settings: Settings) -> None:
    """Applying a revision updates the price and appends old and new values with the time seen."""
    day = date(2023, 2, 13)
    table.put_new_week(WeekRecord(week=day, prices=prices(albany="3.85", nassau="3.50")))
    revision = Revision(day, old=prices(albany="3.85"), new=prices(albany="3.57"), stored_rev=0)

    assert table.apply_revision(revision, "2023-12-01T00:00:00+00:00")
    assert not table.apply_revision(revision, "2023-12-01T00:00:01+00:00"), "a stale revision must not apply twice"

    item = aws.dynamodb().get_item(TableName=settings.table_name, Key=week_key(day))["Item"]
    assert item["prices"]["M"]["albany"] == {"N": "3.57"}
    assert Decimal(item["prices"]["M"]["nassau"]["N"]) == Decimal("3.50")
    assert item["rev"] == {"N": "1"}
    [entry] = item["revisions"]["L"]
    assert entry["M"]["old"]["M"]["albany"] == {"N": "3.85"}
    assert entry["M"]["new"]["M"]["albany"] == {"N": "3.57"}
    assert entry["M"]["seen_at"] == {"S": "2023-12-01T00:00:00+00:00"}


def test_a_revision_of_a_week_updates_the_next_weeks_comparison_but_not_its_flag(table: PriceTable) -> None:
    """W1 revised: W2's item then compares with the new W1 (previous prices and drops), and keeps its alert flag."""
    w1, w2 = weekly(date(2026, 3, 2), 2)
    table.put_new_week(WeekRecord(week=w1, prices=prices(albany="3.50")))
    table.put_new_week(
        WeekRecord(
            week=w2,
            prices=prices(albany="3.45"),
            previous_week=w1,
            previous_prices=prices(albany="3.50"),
            drops=("albany",),
            alert=True,
        )
    )
    fetched = [WeekPrices(w1, prices(albany="3.40")), WeekPrices(w2, prices(albany="3.45"))]

    assert not table.write_check(plan_check(fetched, table.recent_weeks(8)), "2026-03-20T00:00:00+00:00").conflict

    after = {record.week: record for record in table.all_weeks()}
    assert after[w1].prices == prices(albany="3.40")
    assert (after[w2].previous_prices, after[w2].drops, after[w2].alert) == (prices(albany="3.40"), (), True)


def test_put_weeks_writes_100_weeks_a_call_and_skips_those_stored_meanwhile(
    table: PriceTable, dynamodb_calls: Counter[str]
) -> None:
    """250 weeks, two of them stored by someone else first: 3 transactions, and 2 more that go again without them."""
    weeks = weekly(date(2020, 1, 6), 250)
    records = [WeekRecord(week=day, prices=prices(albany="3.00")) for day in weeks]
    other = [WeekRecord(week=weeks[5], prices=prices(albany="9.99")), WeekRecord(week=weeks[150], prices=prices())]
    for record in other:
        table.put_new_week(record)
    dynamodb_calls.clear()

    outcome = table.put_weeks(records)

    assert dynamodb_calls == Counter({"TransactWriteItems": 5})
    assert (outcome.calls, outcome.already_stored) == (5, [weeks[5], weeks[150]])
    assert outcome.written == [day for day in weeks if day not in (weeks[5], weeks[150])]
    stored = {record.week: record for record in table.all_weeks()}
    assert stored[weeks[5]].prices == {"albany": Decimal("9.99")}, "a week stored first keeps its item"
    assert len(stored) == 250


def test_local_moto_copies_no_table_for_a_transaction_and_still_rolls_back(
    table: PriceTable, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A transaction on the local moto copies no table, and a cancelled one still leaves nothing behind.

    moto copied the whole table once per item of a transaction; ours keeps the items it names instead, and a
    cancellation leaves neither new items, nor updates, nor stream records.
    """
    from moto.dynamodb.models.table import Table

    table_copies = []
    deepcopy = copy.deepcopy

    def counting(value: Any, memo: Any = None) -> Any:
        if isinstance(value, Table):
            table_copies.append(value.name)
        return deepcopy(value, memo)

    monkeypatch.setattr(copy, "deepcopy", counting)
    weeks = weekly(date(2020, 1, 6), 3)
    table.put_new_week(WeekRecord(week=weeks[0], prices=prices(albany="3.00")))
    table.put_new_week(WeekRecord(week=weeks[2], prices=prices(albany="9.99")))
    records_before = len(stream_records(table.name))
    operations: list[Any] = [
        {"Put": {"TableName": table.name, "Item": WeekRecord(week=weeks[1], prices=prices()).to_item()}},
        {
            "Update": {
                "TableName": table.name,
                "Key": week_key(weeks[0]),
                "UpdateExpression": "SET #p.#r = :v",
                "ExpressionAttributeNames": {"#p": "prices", "#r": "albany"},
                "ExpressionAttributeValues": {":v": {"N": "1.00"}},
            }
        },
        {
            "Put": {
                "TableName": table.name,
                "Item": WeekRecord(week=weeks[2], prices=prices()).to_item(),
                "ConditionExpression": "attribute_not_exists(sk)",
            }
        },
    ]

    with pytest.raises(ClientError, match="TransactionCanceled"):
        aws.dynamodb().transact_write_items(TransactItems=operations)

    assert table_copies == []
    stored = {record.week: record.prices for record in table.all_weeks()}
    assert stored == {weeks[0]: {"albany": Decimal("3.00")}, weeks[2]: {"albany": Decimal("9.99")}}
    assert len(stream_records(table.name)) == records_before, "the rolled-back writes left no stream record"
