"""The weekly comparison rules of DESIGN.md, as plain functions on real and synthetic weeks."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from gas_alerts.compare import find_drops, plan_check
from gas_alerts.prices import WeekPrices
from gas_alerts.store import WriteResult
from gas_alerts.summary import CheckSummary
from gas_alerts.table_model import TableModel
from gas_publisher.contract import REGION_IDS
from gas_publisher.week import WeekRecord
from tests.support.data import FULL_HISTORY_CSV, LATEST_SNAPSHOT_CSV, prices, snapshot_weeks, weekly

W1, W2, W3, W4, W5 = weekly(date(2026, 10, 26), 5)


def week(day: date, **values: str) -> WeekPrices:
    return WeekPrices(day, prices(**values))


def stored(day: date, **values: str) -> WeekRecord:
    """A stored week whose falls were all told when it was stored."""
    return WeekRecord(week=day, prices=prices(**values), told=REGION_IDS)


def test_first_run_stores_only_a_baseline_and_alerts_nobody() -> None:
    """On an empty table the newest week is stored as a baseline with no alert, even if prices fell."""
    plan = plan_check([week(W1, albany="3.50"), week(W2, albany="3.40")], [])
    assert plan.baseline
    assert [record.week for record in plan.writes] == [W2]
    [baseline] = plan.writes
    assert not baseline.alert
    assert baseline.drops == ()
    assert baseline.origin == "baseline"


def test_rerun_of_the_same_week_writes_nothing() -> None:
    """When the newest source week is already stored, nothing is written."""
    plan = plan_check([week(W1, albany="3.50"), week(W2, albany="3.40")], [stored(W2, albany="3.40")])
    assert plan.writes == []
    assert plan.revisions == []


def test_a_drop_is_strictly_lower_than_last_week() -> None:
    """Lower alerts; equal and higher do not."""
    current = prices(albany="3.40", nassau="3.50", utica="3.61")
    previous = prices(albany="3.41", nassau="3.50", utica="3.60")
    assert find_drops(current, previous) == ("albany",)


def test_drops_only_in_the_checked_regions() -> None:
    """Regions not asked for never alert."""
    current = prices(albany="3.40", nassau="3.40")
    previous = prices(albany="3.50", nassau="3.50")
    assert find_drops(current, previous, regions=("nassau",)) == ("nassau",)


def test_region_missing_in_either_week_is_skipped() -> None:
    """A region without a price this week or last week is not compared (never treated as 0)."""
    assert find_drops(prices(albany="3.40"), prices(nassau="3.50")) == ()


def test_new_week_alerts_for_its_drops() -> None:
    """The newest new week carries its drops and the alert flag, and remembers the week it was compared with."""
    plan = plan_check(
        [week(W1, albany="3.50", nassau="3.10"), week(W2, albany="3.45", nassau="3.20")],
        [stored(W1, albany="3.50", nassau="3.10")],
    )
    [record] = plan.writes
    assert record.alert
    assert record.drops == ("albany",)
    assert record.previous_week == W1
    assert record.previous_prices == prices(albany="3.50", nassau="3.10")


def test_weeks_seen_in_one_run_each_alert_unless_older_than_14_days() -> None:
    """Four new weeks at once: each is written oldest first and tells its drops, but W2, 21 days older than W5."""
    falling = ["3.50", "3.40", "3.30", "3.20", "3.10"]
    source = [week(day, albany=price) for day, price in zip([W1, W2, W3, W4, W5], falling, strict=True)]

    plan = plan_check(source, [stored(W1, albany="3.50")])

    assert [record.week for record in plan.writes] == [W2, W3, W4, W5]
    assert [record.alert for record in plan.writes] == [False, True, True, True]
    assert [record.drops for record in plan.writes] == [("albany",)] * 4
    assert [record.told for record in plan.writes] == [("albany",)] * 4, "history counts as told: never later"
    assert [record.previous_week for record in plan.writes] == [W1, W2, W3, W4]
    assert plan.history == [W2]
    assert [record.week for record in plan.alerting] == [W3, W4, W5]
    assert {record.source_newest for record in plan.alerting} == {W5}


def test_no_drop_means_no_alert_flag() -> None:
    """A new week where nothing fell is stored without the alert flag."""
    plan = plan_check([week(W1, albany="3.50"), week(W2, albany="3.60")], [stored(W1, albany="3.50")])
    [record] = plan.writes
    assert not record.alert


def test_revised_stored_week_is_recorded_and_never_alerts() -> None:
    """A stored week whose source value changed becomes a revision (old and new), not a new week or alert."""
    plan = plan_check([week(W1, albany="3.45", nassau="3.10")], [stored(W1, albany="3.50", nassau="3.10")])
    assert plan.writes == []
    [revision] = plan.revisions
    assert revision.week == W1
    assert revision.old == {"albany": Decimal("3.50")}
    assert revision.new == {"albany": Decimal("3.45")}


def test_window_that_misses_stored_weeks_is_flagged() -> None:
    """When the lookback window starts after the newest stored week, the plan says there may be a gap."""
    plan = plan_check([week(W3, albany="3.50"), week(W4, albany="3.40")], [stored(W1, albany="3.60")])
    assert plan.window_gap
    assert plan.writes[0].previous_week == W1


@pytest.mark.parametrize(
    ("error_week", "next_week", "region", "wrong", "corrected"),
    [
        pytest.param(date(2023, 2, 13), date(2023, 2, 20), "albany", "3.85", "3.57", id="2023-02-13-all-regions-high"),
        pytest.param(date(2023, 9, 18), date(2023, 9, 25), "syracuse", "4.78", "3.91", id="2023-09-18-syracuse"),
    ],
)
def test_real_corrected_errors_raise_no_false_alert(
    error_week: date, next_week: date, region: str, wrong: str, corrected: str
) -> None:
    """Replaying the real data errors: the stored wrong week is revised, and the next week compares with the fix."""
    with_error = {w.week: w for w in snapshot_weeks(FULL_HISTORY_CSV)}
    corrected_source = {w.week: w for w in snapshot_weeks(LATEST_SNAPSHOT_CSV)}
    stored_history = [WeekRecord(week=d, prices=w.prices) for d, w in with_error.items() if d <= error_week][-8:]
    window = [w for d, w in sorted(corrected_source.items()) if d <= next_week][-8:]
    assert with_error[error_week].prices[region] == Decimal(wrong)

    plan = plan_check(window, stored_history)

    revision = next(r for r in plan.revisions if r.week == error_week)
    assert revision.old[region] == Decimal(wrong)
    assert revision.new[region] == Decimal(corrected)
    [record] = plan.writes
    assert record.previous_prices[region] == Decimal(corrected)
    true_drop = corrected_source[next_week].prices[region] < Decimal(corrected)
    assert (region in record.drops) is true_drop
    if true_drop:
        drop = record.previous_prices[region] - record.prices[region]
        assert drop < Decimal(wrong) - record.prices[region]


def compared(day: date, previous_day: date, previous: dict[str, str], **values: str) -> WeekRecord:
    """A stored week as a check wrote it: compared with `previous`, its drops found, flagged if any."""
    drops = find_drops(prices(**values), prices(**previous))
    return WeekRecord(
        week=day,
        prices=prices(**values),
        previous_week=previous_day,
        previous_prices=prices(**previous),
        drops=drops,
        alert=bool(drops),
    )


def test_a_revision_re_derives_the_next_weeks_comparison() -> None:
    """When W1 is revised, W2's stored previous prices and drops follow the new W1 in the same plan."""
    stored_w2 = compared(W2, W1, {"albany": "3.50", "nassau": "3.30"}, albany="3.45", nassau="3.31")
    source = [week(W1, albany="3.40", nassau="3.32"), week(W2, albany="3.45", nassau="3.31")]

    plan = plan_check(source, [stored(W1, albany="3.50", nassau="3.30"), stored_w2])

    by_week = {revision.week: revision for revision in plan.revisions}
    assert by_week[W1].new == prices(albany="3.40", nassau="3.32")
    assert by_week[W2].new == {}, "W2's own prices did not change"
    comparison = by_week[W2].comparison
    assert comparison is not None
    assert (comparison.previous_prices, comparison.drops) == (prices(albany="3.40", nassau="3.32"), ("nassau",))
    assert plan.writes == []
    [late] = plan.late
    assert (late.week, late.late_regions, late.previous_prices) == (W2, ("nassau",), prices(nassau="3.32"))
    assert by_week[W2].told == ("albany", "nassau"), "W2 told Albany when stored, and Nassau now"


def test_a_value_first_published_more_than_14_days_after_its_week_is_counted_as_history_once() -> None:
    """Albany filled in lower for a week by then 21 days older than the newest: no alert, and the summary says so."""
    steady = {"new_york_state": "3.50", "albany": "3.50", "nassau": "3.52", "utica": "3.48", "buffalo": "3.46"}
    unfilled = {region: price for region, price in steady.items() if region != "albany"}
    table = TableModel()
    table.apply(plan_check([week(W1, **steady)], []))
    table.apply(plan_check([week(W1, **steady), week(W2, **unfilled)], table.recent()))
    table.apply(plan_check([week(day, **steady) for day in (W1, W3, W4, W5)] + [week(W2, **unfilled)], table.recent()))
    filled = [week(W1, **steady), week(W2, **{**steady, "albany": "3.44"})]
    filled += [week(day, **steady) for day in (W3, W4, W5)]

    plan = plan_check(filled, table.recent())
    told = table.apply(plan)
    again = plan_check(filled, table.recent())

    assert (plan.late, told) == ([], [])
    assert "1 late value stored as history: Albany, week of 2026-11-02" in CheckSummary.of(plan, WriteResult()).message
    assert "late value" not in CheckSummary.of(again, WriteResult()).message, "counted once, when first seen"
