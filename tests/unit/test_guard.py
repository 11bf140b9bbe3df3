"""The data-quality guard on real and injected errors: what it holds, why, and what subscribers then receive.

Errors are injected into real weeks far from the two the source really published, so the guard is tested on errors
it was not tuned on. Expected values come from the data (the true prices), never from the code under test.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import cache
from itertools import pairwise

import pytest

from gas_alerts.compare import LOOKBACK_WEEKS, Step, history_records, plan_check, walk
from gas_alerts.guard import GUARD_WEEKS, find_suspects
from gas_alerts.prices import WeekPrices
from gas_alerts.replay import ReplayReport, replay
from gas_publisher.contract import REGION_IDS, STATE_AVERAGE
from tests.support.data import FULL_HISTORY_CSV, LATEST_SNAPSHOT_CSV, snapshot_weeks

COPIES = {"published": snapshot_weeks(FULL_HISTORY_CSV), "corrected": snapshot_weeks(LATEST_SNAPSHOT_CSV)}
ISOLATED = "isolated move"
INCONSISTENT = "inconsistent week"
NYC = "new_york_city"
# The two errors the as-published copy holds, and the values they hold.
WRONG_WEEK = date(2023, 2, 13)
WRONG_SYRACUSE = date(2023, 9, 18)
ONE_WEEK = timedelta(weeks=1)
CENT = Decimal("0.01")

Prices = Mapping[str, Decimal]


@dataclass(frozen=True)
class Case:
    """A published error in a real week: the copy it is in, its wrong and true values, and the reason kind to expect."""

    copy: str
    week: date
    wrong: tuple[tuple[str, Decimal], ...]
    right: tuple[tuple[str, Decimal], ...]
    kind: str

    def history(self, values: tuple[tuple[str, Decimal], ...]) -> list[WeekPrices]:
        """The copy with this week's values set to `values`."""
        return [
            WeekPrices(week.week, {**week.prices, **dict(values)}) if week.week == self.week else week
            for week in COPIES[self.copy]
        ]

    @property
    def published(self) -> list[WeekPrices]:
        """The weeks as the source publishes them, error included."""
        return self.history(self.wrong)

    @property
    def true(self) -> list[WeekPrices]:
        """The weeks as a revision eventually gives them."""
        return self.history(self.right)

    @property
    def held(self) -> set[str]:
        """The series the guard must hold: the wrong one alone, or the whole week when it contradicts itself."""
        if self.kind == INCONSISTENT:
            return set(prices_of(self.copy, self.week))
        return {region for region, _ in self.wrong}

    @property
    def before(self) -> date:
        """The last week before the error."""
        return week_before(self.copy, self.week)

    @property
    def after(self) -> date:
        """The first week after the error."""
        return week_before(self.copy, self.week, -1)


def prices_of(copy: str, day: date) -> Prices:
    """One week's prices in a bundled copy."""
    return next(week.prices for week in COPIES[copy] if week.week == day)


def week_before(copy: str, day: date, back: int = 1) -> date:
    """The week `back` rows before `day` in a copy (negative: after)."""
    days = [week.week for week in COPIES[copy]]
    return days[days.index(day) - back]


def isolated(copy: str, day: date, region: str, delta: str) -> Case:
    """One region published `delta` away from its true price."""
    true = prices_of(copy, day)[region]
    return Case(copy, day, ((region, true + Decimal(delta)),), ((region, true),), ISOLATED)


def uniform(copy: str, day: date, delta: str) -> Case:
    """Every region published `delta` away from its true price, the state average right."""
    true = {region: price for region, price in prices_of(copy, day).items() if region != STATE_AVERAGE}
    wrong = tuple((region, price + Decimal(delta)) for region, price in true.items())
    return Case(copy, day, wrong, tuple(true.items()), INCONSISTENT)


def state_alone(copy: str, day: date, delta: str) -> Case:
    """The state average published `delta` away from its true value, the regions right."""
    true = prices_of(copy, day)[STATE_AVERAGE]
    return Case(copy, day, ((STATE_AVERAGE, true + Decimal(delta)),), ((STATE_AVERAGE, true),), INCONSISTENT)


def real(day: date, kind: str) -> Case:
    """An error of the as-published copy, with the values the corrected copy gives that week."""
    published, corrected = prices_of("published", day), prices_of("corrected", day)
    changed = [region for region in published if corrected[region] != published[region]]
    return Case(
        "published",
        day,
        tuple((region, published[region]) for region in changed),
        tuple((region, corrected[region]) for region in changed),
        kind,
    )


INJECTED = [
    pytest.param(isolated("published", date(2010, 6, 14), "albany", "0.40"), id="2010-06-14-albany+0.40"),
    pytest.param(isolated("published", date(2010, 11, 8), "nassau", "-0.40"), id="2010-11-08-nassau-0.40"),
    pytest.param(isolated("published", date(2015, 3, 16), "buffalo", "-0.40"), id="2015-03-16-buffalo-0.40"),
    pytest.param(isolated("published", date(2015, 8, 24), "syracuse", "0.40"), id="2015-08-24-syracuse+0.40"),
    pytest.param(isolated("corrected", date(2019, 5, 13), "ithaca", "0.40"), id="2019-05-13-ithaca+0.40"),
    pytest.param(isolated("corrected", date(2019, 10, 21), "watertown", "-0.40"), id="2019-10-21-watertown-0.40"),
    pytest.param(isolated("corrected", date(2025, 2, 10), "white_plains", "0.40"), id="2025-02-10-white_plains+0.40"),
    pytest.param(isolated("corrected", date(2025, 7, 14), "elmira", "-0.40"), id="2025-07-14-elmira-0.40"),
    pytest.param(uniform("published", date(2011, 4, 4), "0.30"), id="2011-04-04-all-regions+0.30"),
    pytest.param(uniform("published", date(2013, 1, 14), "-0.30"), id="2013-01-14-all-regions-0.30"),
    pytest.param(uniform("published", date(2016, 8, 15), "0.30"), id="2016-08-15-all-regions+0.30"),
    pytest.param(uniform("corrected", date(2020, 6, 1), "0.30"), id="2020-06-01-all-regions+0.30"),
    pytest.param(uniform("corrected", date(2024, 9, 9), "0.30"), id="2024-09-09-all-regions+0.30"),
    pytest.param(state_alone("published", date(2009, 5, 4), "0.40"), id="2009-05-04-state-average+0.40"),
    pytest.param(state_alone("corrected", date(2021, 10, 4), "-0.30"), id="2021-10-04-state-average-0.30"),
]
PUBLISHED_ERRORS = [
    pytest.param(real(WRONG_WEEK, INCONSISTENT), id="2023-02-13-all-regions-high"),
    pytest.param(real(WRONG_SYRACUSE, ISOLATED), id="2023-09-18-syracuse"),
]
ERRORS = INJECTED + PUBLISHED_ERRORS


@cache
def replayed(case: Case) -> ReplayReport:
    """The weekly check run on the error's week and the week after, on a table kept since the copy began."""
    return replay(case.published, start=case.week, end=case.after)


@cache
def walked(copy: str) -> dict[date, Step]:
    """Every week of a bundled copy judged and compared, as a backfill of the whole copy would store it."""
    return {step.week: step for step in walk(COPIES[copy], {}, REGION_IDS)}


@pytest.mark.parametrize("case", ERRORS)
def test_an_error_is_held_alone_with_its_kind_of_reason(case: Case) -> None:
    """The wrong value is held as an isolated move, or the whole inconsistent week is; nothing else that week is."""
    held = {value.region: value.reason for value in replayed(case).held if value.week == case.week}

    assert set(held) == case.held
    assert all(reason.startswith(f"{case.kind}: ") for reason in held.values()), held


@pytest.mark.parametrize("case", ERRORS)
def test_a_held_value_sends_no_alert_and_the_rest_of_its_week_alerts_as_usual(case: Case) -> None:
    """In the error's week no held series alerts, and every other series alerts exactly when it fell."""
    before = prices_of(case.copy, case.before)
    now = next(week.prices for week in case.published if week.week == case.week)
    expected = {
        region for region in now if region not in case.held and region in before and now[region] < before[region]
    }

    alerted = {alert.region for alert in replayed(case).alerts if alert.week == case.week}

    assert alerted == expected


@pytest.mark.parametrize("case", ERRORS)
def test_the_week_after_compares_with_the_last_trusted_week_and_sends_no_false_drop(case: Case) -> None:
    """The week after, each held series compares with the week before the error, so every alert is a true drop."""
    true = {week.week: week.prices for week in case.true}
    now = true[case.after]
    bases = {region: case.before if region in case.held else case.week for region in now}
    expected = {
        (region, bases[region], true[bases[region]][region], price)
        for region, price in now.items()
        if region in true[bases[region]] and price < true[bases[region]][region]
    }

    report = replayed(case)

    sent = [alert for alert in report.alerts if alert.week == case.after]
    assert {(alert.region, alert.previous_week, alert.previous_price, alert.price) for alert in sent} == expected
    dropped = {region for region, _, _, _ in expected}
    assert {alert.region for alert in sent if alert.held_between} == dropped & case.held
    assert not [value for value in report.held if value.week == case.after]


@pytest.mark.parametrize("case", ERRORS)
def test_a_revision_to_the_true_value_clears_the_hold(case: Case) -> None:
    """A revision to the true value clears the stored hold, and the week after compares with the revised week again."""
    through_after = [week for week in case.published if week.week <= case.after + ONE_WEEK]
    stored = history_records(through_after)
    stored_error = next(record for record in stored if record.week == case.week)
    assert set(stored_error.suspect) == case.held, "history stores the held values with their reasons"
    assert not stored_error.alert
    window = [week for week in case.true if week.week <= case.after + ONE_WEEK][-LOOKBACK_WEEKS:]

    plan = plan_check(window, stored)

    revised = {revision.week: revision for revision in plan.revisions}
    assert revised[case.week].new == dict(case.right)
    error_comparison, after_comparison = revised[case.week].comparison, revised[case.after].comparison
    assert error_comparison is not None
    assert error_comparison.suspect == {}
    assert after_comparison is not None
    assert (after_comparison.previous_week, after_comparison.since) == (case.week, {})
    assert plan.writes == []


def state_below_its_regions(prices: Prices) -> str:
    """What the reason must say of a state average below every regional value."""
    lowest = min(price for region, price in prices.items() if region != STATE_AVERAGE)
    return f"state average {prices[STATE_AVERAGE]} is {lowest - prices[STATE_AVERAGE]} below the regional range"


def syracuse_moving_alone(prices: Prices) -> str:
    """What the reason must say of Syracuse's one-week move."""
    before = prices_of("published", week_before("published", WRONG_SYRACUSE))
    return f"{prices['syracuse'] - before['syracuse']:+} in a week"


@pytest.mark.parametrize(
    ("day", "kind", "says"),
    [
        pytest.param(WRONG_WEEK, INCONSISTENT, state_below_its_regions, id="2023-02-13-state-below-its-regions"),
        pytest.param(WRONG_SYRACUSE, ISOLATED, syracuse_moving_alone, id="2023-09-18-syracuse-alone"),
    ],
)
def test_the_published_errors_are_held_for_what_is_wrong_with_them(
    day: date, kind: str, says: Callable[[Prices], str]
) -> None:
    """Each held value of a published error carries its kind and the fact that gave it away."""
    expected = f"{kind}: {says(prices_of('published', day))}"

    suspect = walked("published")[day].judged.suspect

    assert suspect
    assert all(reason.startswith(expected) for reason in suspect.values()), suspect


def test_replaying_the_published_copy_sends_no_alert_5_cents_off_the_corrected_drop() -> None:
    """Week by week over 2017-2023 as published, every alert is within 5 cents of the corrected drop over its span."""
    first, last = COPIES["corrected"][0].week, COPIES["published"][-1].week
    corrected = {week.week: week.prices for week in COPIES["corrected"]}
    published = [week for week in COPIES["published"] if first <= week.week <= last]

    report = replay(published, start=first, end=last)

    true_drops = {
        alert: corrected[alert.previous_week][alert.region] - corrected[alert.week][alert.region]
        for alert in report.alerts
    }
    off = [
        alert.subject
        for alert, drop in true_drops.items()
        if abs(alert.previous_price - alert.price - drop) >= 5 * CENT
    ]
    assert report.alerts
    assert off == []


@pytest.mark.parametrize("copy", ["published", "corrected"])
def test_nothing_is_held_in_2007_2026_but_the_two_published_errors(copy: str) -> None:
    """Walking a whole copy week by week holds the two known errors of the published copy and nothing else."""
    known = {(WRONG_WEEK, series) for series in prices_of(copy, WRONG_WEEK)} | {(WRONG_SYRACUSE, "syracuse")}
    expected = known if copy == "published" else set()

    held = {(day, series) for day, step in walked(copy).items() for series in step.judged.suspect}

    assert held == expected


def largest_move(copy: str, first: date, last: date) -> Decimal:
    """The largest one-week move of any series in the weeks from `first` to `last`."""
    return max(
        abs(now.prices[series] - before.prices[series])
        for before, now in pairwise(COPIES[copy])
        if first <= now.week <= last
        for series in now.prices
        if series in before.prices
    )


@pytest.mark.parametrize(
    ("copy", "first", "last", "at_least"),
    [
        pytest.param("published", date(2008, 10, 6), date(2008, 12, 29), "0.20", id="2008-crash"),
        pytest.param("corrected", date(2017, 9, 4), date(2017, 9, 18), "0.25", id="2017-09-rise"),
        pytest.param("corrected", date(2022, 3, 7), date(2022, 3, 21), "0.42", id="2022-03-4.02-to-4.44"),
        pytest.param("corrected", date(2022, 7, 4), date(2022, 8, 1), "0.13", id="2022-07-falls"),
        pytest.param("corrected", date(2026, 3, 2), date(2026, 4, 6), "0.30", id="2026-03-rises"),
    ],
)
def test_large_moves_shared_by_every_region_are_not_held(copy: str, first: date, last: date, at_least: str) -> None:
    """Real weeks of large common moves, rises and falls, pass the guard untouched."""
    assert largest_move(copy, first, last) >= Decimal(at_least), "the weeks chosen really moved that much"

    held = {
        day: step.judged.suspect for day, step in walked(copy).items() if first <= day <= last and step.judged.suspect
    }

    assert held == {}


def test_every_drop_of_july_2022_alerts_against_the_week_before() -> None:
    """In the weeks of July 2022, when every series fell every week, each drop alerts for its full one-week fall."""
    first, last = date(2022, 7, 4), date(2022, 8, 1)
    weeks = [week for week in COPIES["corrected"] if week_before("corrected", first) <= week.week <= last]
    expected = {
        (now.week, series, before.week, before.prices[series], now.prices[series])
        for before, now in pairwise(weeks)
        for series in now.prices
        if now.prices[series] < before.prices[series]
    }
    assert len(expected) == len(REGION_IDS) * (len(weeks) - 1), "every series fell every week"

    report = replay(COPIES["corrected"], start=first, end=last)

    sent = {
        (alert.week, alert.region, alert.previous_week, alert.previous_price, alert.price) for alert in report.alerts
    }
    assert sent == expected


def prices_between(copy: str, region: str, first: date, last: date, skip: Collection[date] = ()) -> list[Decimal]:
    """The region's prices in a copy from `first` to `last`, but for the weeks skipped."""
    return [
        week.prices[region]
        for week in COPIES[copy]
        if first <= week.week <= last and week.week not in skip and region in week.prices
    ]


@pytest.mark.parametrize(
    ("copy", "day", "base", "expected", "held"),
    [
        pytest.param("corrected", date(2022, 7, 18), date(2022, 7, 11), (8, date(2022, 5, 23)), (), id="2022-07-18"),
        pytest.param(
            "published", date(2023, 2, 20), date(2023, 2, 6), (2, date(2023, 1, 30)), (WRONG_WEEK,), id="after-a-hold"
        ),
    ],
)
def test_low_weeks_counts_back_from_the_base_week_to_the_last_lower_price(
    copy: str, day: date, base: date, expected: tuple[int, date], held: tuple[date, ...]
) -> None:
    """A drop says for how many trusted weeks, back from its base week, the price had been higher, and since when."""
    weeks, since = expected
    price = prices_of(copy, day)[NYC]
    higher = prices_between(copy, NYC, since, base, skip=held)
    assert len(higher) == weeks
    assert all(earlier > price for earlier in higher)
    assert prices_of(copy, week_before(copy, since))[NYC] <= price, "the count ends at a lower or equal price"

    comparison = walked(copy)[day].comparison

    assert comparison.since.get(NYC, comparison.previous_week) == base
    assert (comparison.low_weeks[NYC], comparison.low_since[NYC]) == expected


def test_low_weeks_stops_at_52() -> None:
    """A price lower than for more than a year counts 52 weeks, back to the 52nd published week before it."""
    day, region = date(2025, 1, 6), STATE_AVERAGE
    price, base = prices_of("corrected", day)[region], week_before("corrected", day)
    since = week_before("corrected", base, 51)
    assert all(
        earlier > price for earlier in prices_between("corrected", region, week_before("corrected", since), base)
    )

    comparison = walked("corrected")[day].comparison

    assert (comparison.low_weeks[region], comparison.low_since[region]) == (52, since)


def test_low_weeks_reaches_52_after_a_held_week() -> None:
    """A drop compared across a held week still counts up to 52 trusted weeks back from its base week."""
    case = isolated("published", date(2008, 11, 3), NYC, "0.40")
    price = prices_of(case.copy, case.after)[NYC]
    oldest = week_before(case.copy, case.before, 51)
    assert all(
        earlier > price for earlier in prices_between(case.copy, NYC, week_before(case.copy, oldest), case.before)
    )
    steps = {step.week: step for step in walk(case.published, {}, REGION_IDS)}
    assert steps[case.week].judged.suspect.keys() == {NYC}

    comparison = steps[case.after].comparison

    assert comparison.since[NYC] == case.before
    assert (comparison.low_weeks[NYC], comparison.low_since[NYC]) == (52, oldest)


def trusted_before(copy: str, day: date) -> list[dict[str, Decimal]]:
    """The trusted prices of the weeks before `day`, newest first, as the guard reads them."""
    earlier = [step.judged.trusted for week, step in walked(copy).items() if week < day]
    return earlier[::-1][:GUARD_WEEKS]


@pytest.mark.parametrize("case", PUBLISHED_ERRORS)
def test_the_guard_judges_the_values_alone_so_a_revised_week_is_cleared(case: Case) -> None:
    """find_suspects holds a published error, nothing once it is revised, and the error again if it comes back."""
    history = trusted_before(case.copy, case.week)
    wrong = {**prices_of(case.copy, case.week), **dict(case.wrong)}
    right = {**wrong, **dict(case.right)}

    verdicts = [find_suspects(prices, history) for prices in (wrong, right, wrong)]

    assert [set(verdict) for verdict in verdicts] == [case.held, set(), case.held]
    assert verdicts[0] == verdicts[2]


def shifted(prices: Prices, series: Collection[str], delta: str) -> dict[str, Decimal]:
    """The prices with `delta` added to the given series."""
    return {name: price + Decimal(delta) if name in series else price for name, price in prices.items()}


def test_limit_an_error_shared_by_every_series_alike_looks_like_a_real_move() -> None:
    """Known limit: +0.30 on the state average and every region alike is a consistent week, and nothing is held."""
    day = date(2020, 6, 1)
    prices = prices_of("corrected", day)

    assert find_suspects(shifted(prices, prices, "0.30"), trusted_before("corrected", day)) == {}


def test_limit_an_error_shared_by_half_the_regions_can_pass() -> None:
    """Known limit: +0.30 on 8 of the 16 regions moves the regions' median half-way; in this week nothing is held."""
    day = date(2020, 6, 1)
    prices = prices_of("corrected", day)
    half = [region for region in REGION_IDS if region != STATE_AVERAGE][:8]

    assert find_suspects(shifted(prices, half, "0.30"), trusted_before("corrected", day)) == {}


def test_limit_the_first_value_of_a_new_region_is_not_judged() -> None:
    """Known limit: a region with no trusted value in the weeks the guard reads has no base, so any value passes."""
    day = date(2017, 1, 16)
    history = trusted_before("published", day)
    assert not any("batavia" in week for week in history), "Batavia's first published week"
    prices = prices_of("published", day)

    assert find_suspects(shifted(prices, ["batavia"], "1.00"), history) == {}


def test_a_region_missing_from_the_week_before_is_not_compared_across_the_gap() -> None:
    """A region the source did not publish last week, and the guard did not hold, has nothing to compare with."""
    first, missing, now = weeks = [date(2026, 10, 26) + index * ONE_WEEK for index in range(3)]
    regions = {region: Decimal("3.50") for region in ("albany", "buffalo", "nassau", "rochester", "utica")}
    source = [
        WeekPrices(first, regions),
        WeekPrices(missing, {region: price for region, price in regions.items() if region != "albany"}),
        WeekPrices(now, {**regions, "albany": Decimal("3.40")}),
    ]
    stored = history_records(source[:2])
    assert [record.week for record in stored] == weeks[:2]
    assert not any(record.suspect for record in stored), "nothing is held: Albany is simply not published"

    [record] = plan_check(source, stored).writes

    assert "albany" not in record.drops
    assert record.since == {}
