"""`make bench`: what the data-quality guard changes for subscribers, measured on the bundled data.

Replays the as-published copy (which still holds the 2023 errors) through the product's weekly check and judges
every alert against the corrected copy; the plain comparison (each region against the source's previous week, no
guard) is what the product did before the guard. docs/data-quality.md quotes this output.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from itertools import pairwise
from pathlib import Path
from statistics import median
from textwrap import wrap

from gas_alerts.compare import Step, find_drops, walk
from gas_alerts.guard import (
    GUARD_WEEKS,
    MIN_OTHERS,
    REGION_LIMIT_OLDER_BASE,
    REGION_LIMIT_ONE_WEEK,
    STATE_LIMIT_OLDER_BASE,
    STATE_LIMIT_ONE_WEEK,
    find_suspects,
)
from gas_alerts.prices import WeekPrices, parse_rows
from gas_alerts.replay import replay
from gas_alerts.source import rows_from_csv
from gas_publisher.contract import REGION_IDS, STATE_AVERAGE

REPO = Path(__file__).resolve().parents[1]
PUBLISHED = REPO / "data" / "ny_gas_prices_weekly.csv"
CORRECTED = REPO / "data" / "ny_gas_prices_weekly_2017_2026.csv"
# Any date after both copies' newest week: the parser rejects weeks dated in the future.
TODAY = date(2026, 11, 28)
# The span both copies cover: every alert of the replay can be judged against the corrected copy.
REPLAY_START = date(2017, 1, 2)
REPLAY_END = date(2023, 11, 20)
OFF_BY = Decimal("0.05")
WORTH_ALERTING = Decimal("0.03")
# SNS email delivers at most 10 messages a second to one subscription.
MANY_FALLING = 10
SHOWN_WEEK = date(2022, 7, 18)
CENT = Decimal("0.01")
WIDTH = 110

Prices = Mapping[str, Decimal]
History = Mapping[date, Prices]


@dataclass(frozen=True)
class Sent:
    """One alert: a region's price in a week, below its price in the week it was compared with."""

    week: date
    region: str
    base_week: date
    base_price: Decimal
    price: Decimal

    @property
    def drop(self) -> Decimal:
        """How much the price fell, in dollars."""
        return self.base_price - self.price


@dataclass(frozen=True)
class Judged:
    """How the alerts of one way of comparing measure up against the corrected copy."""

    alerts: Sequence[Sent]
    off: Sequence[tuple[Sent, Decimal | None]]
    missed: Sequence[tuple[date, str, Decimal]]
    # The corrected drops of WORTH_ALERTING or more, alerted or not.
    worth: int
    # The alerts compared with an older week than the one before (a held value in between).
    older_base: int


def load(path: Path) -> list[WeekPrices]:
    """Every week of a bundled CSV copy, oldest first."""
    return parse_rows(rows_from_csv(path.read_text(encoding="utf-8")), today=TODAY)


def guarded_alerts(published: Sequence[WeekPrices]) -> list[Sent]:
    """The alerts the product sends, replayed week by week through its own weekly check."""
    report = replay(published, start=REPLAY_START, end=REPLAY_END)
    return [
        Sent(alert.week, alert.region, alert.previous_week, alert.previous_price, alert.price)
        for alert in report.alerts
    ]


def plain_alerts(published: Sequence[WeekPrices]) -> list[Sent]:
    """The alerts of the old rule: every region below its value in the source's previous week."""
    return [
        Sent(current.week, region, previous.week, previous.prices[region], current.prices[region])
        for previous, current in pairwise(published)
        for region in find_drops(current.prices, previous.prices)
    ]


def corrected_drop(alert: Sent, corrected: History) -> Decimal | None:
    """The corrected copy's drop over the alert's own span, if the copy has both values."""
    before, now = corrected.get(alert.base_week, {}), corrected.get(alert.week, {})
    if alert.region not in before or alert.region not in now:
        return None
    return before[alert.region] - now[alert.region]


def judge(alerts: Sequence[Sent], corrected: History, weeks: Sequence[date]) -> Judged:
    """The alerts 5 cents or more off the corrected drop, and the corrected drops of 3 cents or more not alerted.

    `weeks` are the replayed weeks, oldest first; a corrected drop is one week's fall from the week before.
    """
    off = []
    for alert in alerts:
        true = corrected_drop(alert, corrected)
        if true is None or abs(alert.drop - true) >= OFF_BY:
            off.append((alert, true))
    alerted = {(alert.week, alert.region) for alert in alerts}
    worth = [
        (now, region, corrected[before][region] - corrected[now][region])
        for before, now in pairwise(weeks)
        for region in find_drops(corrected[now], corrected[before])
        if corrected[before][region] - corrected[now][region] >= WORTH_ALERTING
    ]
    missed = [drop for drop in worth if drop[:2] not in alerted]
    previous = {now: before for before, now in pairwise(weeks)}
    older = sum(alert.base_week != previous[alert.week] for alert in alerts)
    return Judged(alerts, off, missed, len(worth), older)


def cents(amount: Decimal) -> str:
    """An amount in dollars as whole cents: 0.30 -> '30¢'."""
    return f"{(amount / CENT).quantize(Decimal(1))}¢"


def print_replay(published: Sequence[WeekPrices], corrected: History) -> Judged:
    """The replay figures: alerts off the corrected drop, and corrected drops left without an alert; returns guarded."""
    span = [week for week in published if REPLAY_START <= week.week <= REPLAY_END]
    weeks = [week.week for week in span]
    results = {
        "plain": judge(plain_alerts(span), corrected, weeks),
        "guarded": judge(guarded_alerts(span), corrected, weeks),
    }
    print(f"Replay of {PUBLISHED.name} as published, {REPLAY_START} -> {REPLAY_END} ({len(span)} weeks; the first")
    print(f"is the first run, a silent baseline), every alert judged against {CORRECTED.name}:")
    plain, guarded = results["plain"], results["guarded"]
    rows = [
        ("alerts sent", len(plain.alerts), len(guarded.alerts)),
        ("  compared with an older week (value held)", plain.older_base, guarded.older_base),
        (f"alerts {cents(OFF_BY)} or more off the corrected drop", len(plain.off), len(guarded.off)),
        (
            f"corrected drops of {cents(WORTH_ALERTING)}+ with no alert (of {guarded.worth})",
            len(plain.missed),
            len(guarded.missed),
        ),
    ]
    print(f"  {'':48}{'plain':>8}{'guarded':>9}")
    for label, plain_count, guarded_count in rows:
        print(f"  {label:48}{plain_count:>8}{guarded_count:>9}")
    for name, judged in results.items():
        print(f"  {name}: the alerts {cents(OFF_BY)} or more off (alerted/corrected drop over the same span):")
        print_off(judged.off)
    print_misses(plain, guarded)
    return guarded


def print_off(off: Sequence[tuple[Sent, Decimal | None]]) -> None:
    """The alerts off the corrected drop, week by week, each as alerted/corrected."""
    if not off:
        print("    none")
    for week in sorted({alert.week for alert, _ in off}):
        listed = ", ".join(
            f"{alert.region} {cents(alert.drop)}/{'?' if true is None else cents(true)}"
            for alert, true in off
            if alert.week == week
        )
        base = min(alert.base_week for alert, _ in off if alert.week == week)
        print_wrapped(f"{week} vs {base}: {listed}")


def print_wrapped(text: str) -> None:
    """A long line of the report, indented and wrapped."""
    print("\n".join(wrap(text, WIDTH, initial_indent="    ", subsequent_indent="      ")))


def print_misses(plain: Judged, guarded: Judged) -> None:
    """The drops both leave without an alert, and each one only the guarded product leaves, with what came next."""
    both = sorted(set(guarded.missed) & set(plain.missed))
    print(f"  corrected drops of {cents(WORTH_ALERTING)}+ missed by both: {len(both)}")
    for week in sorted({week for week, _, _ in both}):
        print_wrapped(f"{week}: " + ", ".join(f"{region} {cents(drop)}" for day, region, drop in both if day == week))
    extra = sorted(set(guarded.missed) - set(plain.missed))
    print(f"  missed by guarded only: {len(extra)}")
    for week, region, drop in extra:
        later = next((alert for alert in guarded.alerts if alert.region == region and alert.week > week), None)
        then = (
            "no later alert"
            if later is None
            else f"alerted on {later.week} as {cents(later.drop)} ({later.base_price} -> {later.price}, "
            f"vs {later.base_week})"
        )
        print_wrapped(f"{week} {region}: corrected drop {cents(drop)}, its week was held; {then}")


def print_held(name: str, weeks: Sequence[WeekPrices]) -> None:
    """Every value the guard holds when the whole copy is walked week by week, grouped by week and reason."""
    held = [
        (step.week, reason, region, step.judged.prices[region])
        for step in walk(weeks, {}, REGION_IDS)
        for region, reason in step.judged.suspect.items()
    ]
    print(f"Values held in {name} ({weeks[0].week} -> {weeks[-1].week}, {len(weeks)} weeks): {len(held)}")
    for week, reason in sorted({(week, reason) for week, reason, _, _ in held}):
        values = [f"{region} {price}" for day, why, region, price in held if (day, why) == (week, reason)]
        print(f"  {week} {reason}")
        print_wrapped(f"{len(values)} held: {', '.join(values)}")


def falling(before: Prices, now: Prices, series: Iterable[str]) -> int:
    """How many of the series are lower now than before."""
    return len(find_drops(now, before, frozenset(series)))


def print_many_falling(corrected: Sequence[WeekPrices], guarded: Sequence[Sent]) -> None:
    """How often more than 10 series fall at once, and the drops of one such week with the product's alerts."""
    pairs = list(pairwise(corrected))
    regions = [region for region in REGION_IDS if region != STATE_AVERAGE]
    print(f"Week pairs of {CORRECTED.name} with more than {MANY_FALLING} series falling at once:")
    for label, series in (("all 17 series", REGION_IDS), ("the 16 regions", regions)):
        many = sum(falling(before.prices, now.prices, series) > MANY_FALLING for before, now in pairs)
        print(f"  {label:16} {many} of {len(pairs)}")
    index = [week.week for week in corrected].index(SHOWN_WEEK)
    before, now = corrected[index - 1].prices, corrected[index].prices
    drops = find_drops(now, before)
    sent = {alert.region: alert for alert in guarded if alert.week == SHOWN_WEEK}
    print(
        f"  {SHOWN_WEEK} vs {corrected[index - 1].week}: {len(drops)} fell; the guarded replay sent {len(sent)} alerts"
    )
    for region in drops:
        alerted = f"alert {cents(sent[region].drop)}" if region in sent else "no alert"
        print(f"    {region:16} {before[region]} -> {now[region]}  {cents(before[region] - now[region]):>4}  {alerted}")


@dataclass(frozen=True)
class Injection:
    """An error placed in a real week: which series it moves, and by how much."""

    label: str
    delta: Decimal
    # How many regions it moves together, in the dataset's order; None: each region alone, in turn.
    regions: int | None
    with_state: bool = False

    def targets(self, prices: Prices) -> list[list[str]]:
        """The groups of series to move in one week, one injection each."""
        regions = [region for region in REGION_IDS if region != STATE_AVERAGE and region in prices]
        if self.regions is None:
            return [[region] for region in regions]
        return [[*([STATE_AVERAGE] if self.with_state else []), *regions[: self.regions]]]


INJECTIONS = (
    Injection("one region +0.40", Decimal("0.40"), None),
    Injection("one region -0.40", Decimal("-0.40"), None),
    Injection("one region +0.30", Decimal("0.30"), None),
    Injection("one region +0.20", Decimal("0.20"), None),
    Injection("4 regions +0.40", Decimal("0.40"), 4),
    Injection("8 regions +0.30 (about half)", Decimal("0.30"), 8),
    Injection("8 regions +0.40 (about half)", Decimal("0.40"), 8),
    Injection("9 regions +0.30 (a majority)", Decimal("0.30"), 9),
    Injection("12 regions +0.30", Decimal("0.30"), 12),
    Injection("all 16 regions +0.30, state right", Decimal("0.30"), 16),
    Injection("all 16 regions -0.30, state right", Decimal("-0.30"), 16),
    Injection("all 17 series +0.30 alike", Decimal("0.30"), 16, with_state=True),
)


@dataclass(frozen=True)
class Tally:
    """What the guard did with one kind of injected error, over every week it was tried in."""

    tried: int = 0
    all_held: int = 0
    none_held: int = 0
    others_held: int = 0

    def add(self, group: Sequence[str], held: Mapping[str, str]) -> Tally:
        """This tally with one more try, whose error moved `group` and whose verdict held `held`."""
        return Tally(
            self.tried + 1,
            self.all_held + all(series in held for series in group),
            self.none_held + (not held),
            self.others_held + bool(set(held) - set(group)),
        )


def tally(injection: Injection, steps: Sequence[Step]) -> Tally:
    """Inject the error into each week in turn and judge it against the trusted weeks before it."""
    result = Tally()
    for index in range(1, len(steps)):
        history = [step.judged.trusted for step in reversed(steps[max(index - GUARD_WEEKS, 0) : index])]
        prices = steps[index].judged.prices
        for group in injection.targets(prices):
            # A series with no trusted value in the weeks read has no base: a new region's first values.
            if not any(series in week for week in history for series in group):
                continue
            moved = {**prices, **{series: prices[series] + injection.delta for series in group}}
            result = result.add(group, find_suspects(moved, history))
    return result


def print_injected(corrected: Sequence[WeekPrices]) -> None:
    """Errors injected into each week of the corrected copy, judged against the trusted weeks before it."""
    steps = walk(corrected, {}, REGION_IDS)
    print(f"Errors injected into each week of {CORRECTED.name}, judged against the trusted weeks before it:")
    print(f"  {'':38}{'tried':>7}{'all held':>10}{'none held':>11}{'others held':>13}")
    for injection in INJECTIONS:
        counts = tally(injection, steps)
        others = str(counts.others_held) if injection.regions is None else "-"
        print(f"  {injection.label:38}{counts.tried:>7}{counts.all_held:>10}{counts.none_held:>11}{others:>13}")


@dataclass(frozen=True)
class Deviation:
    """How far one series' move departed from the median move of the regions (the others, for a region)."""

    week: date
    series: str
    span: int
    deviation: Decimal
    spread: Decimal


def deviations(weeks: Sequence[WeekPrices], span: int) -> list[Deviation]:
    """Every series' deviation over `span` rows, measured from the same base row for all series, as the guard does."""
    found = []
    for base, now in zip(weeks, weeks[span:], strict=False):
        moves = {series: price - base.prices[series] for series, price in now.prices.items() if series in base.prices}
        for series, move in moves.items():
            others = [other for name, other in moves.items() if name not in {series, STATE_AVERAGE}]
            if len(others) < MIN_OTHERS:
                continue
            centre = median(others)
            spread = median(abs(other - centre) for other in others)
            found.append(Deviation(now.week, series, span, abs(move - centre), spread))
    return found


def percentile(values: Sequence[Decimal], share: Decimal) -> Decimal:
    """The value below which `share` percent of the values lie, interpolating linearly between ranks."""
    ordered = sorted(values)
    rank = share / 100 * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def print_legitimate(published: Sequence[WeekPrices], corrected: Sequence[WeekPrices]) -> None:
    """The legitimate deviations of 2007-2026 that the guard's limits sit above, and their spread."""
    weeks = [week for week in published if week.week < corrected[0].week] + list(corrected)
    rows = {span: deviations(weeks, span) for span in range(1, GUARD_WEEKS + 1)}
    print(f"Legitimate moves, {weeks[0].week} -> {weeks[-1].week} ({len(weeks)} weeks: {PUBLISHED.name} before")
    print(f"{corrected[0].week}, then {CORRECTED.name}, so neither published error is in it):")
    print(
        f"  |move - median of the regions' moves|{'n':>8}{'p50':>7}{'p99':>7}{'p99.9':>7}{'max':>7}  where{'limit':>33}"
    )
    groups = (
        ("regions, one week", False, (1,), REGION_LIMIT_ONE_WEEK),
        ("regions, base 2-4 weeks old", False, range(2, GUARD_WEEKS + 1), REGION_LIMIT_OLDER_BASE),
        ("state average, one week", True, (1,), STATE_LIMIT_ONE_WEEK),
        ("state average, base 2-4 weeks old", True, range(2, GUARD_WEEKS + 1), STATE_LIMIT_OLDER_BASE),
    )
    for label, state, spans, limit in groups:
        chosen = [row for span in spans for row in rows[span] if (row.series == STATE_AVERAGE) is state]
        values = [row.deviation for row in chosen]
        top = max(chosen, key=lambda row: row.deviation)
        where = f"{top.week} {top.series}" + ("" if len(spans) == 1 else f" ({top.span} wks)")
        quantiles = "".join(f"{percentile(values, Decimal(share)):>7.3f}" for share in ("50", "99", "99.9"))
        print(f"  {label:37}{len(values):>8}{quantiles}{top.deviation:>7.3f}  {where:36}{limit:>5}")
    print_spread(rows)
    print_range(weeks)


def print_spread(rows: Mapping[int, Sequence[Deviation]]) -> None:
    """The spread of the regions' moves, and how many spreads apart a legitimate deviation ever got."""
    one_week = rows[1]
    print(f"  largest spread (MAD) of the regions' one-week moves: {max(row.spread for row in one_week)}")
    for label, state, spans in (("regions, one week", False, (1,)), ("state average, any base", True, rows)):
        wide = [row for span in spans for row in rows[span] if (row.series == STATE_AVERAGE) is state]
        ratio = max(row.deviation / row.spread for row in wide if row.spread >= Decimal("0.02"))
        print(f"  largest deviation / MAD where the MAD is 0.02 or more, {label}: {ratio:.1f}")


def print_range(weeks: Sequence[WeekPrices]) -> None:
    """Whether a legitimate state average ever left its regions' range, and how close it came."""
    margins = []
    for week in weeks:
        regions = [price for series, price in week.prices.items() if series != STATE_AVERAGE]
        state = week.prices.get(STATE_AVERAGE)
        if state is not None and regions:
            margins.append((min(state - min(regions), max(regions) - state), len(regions), week.week))
    outside = [margin for margin in margins if margin[0] < 0]
    closest = min(margins)
    print(
        f"  state average outside its regions' range: {len(outside)} weeks; closest inside: {closest[0]} "
        f"({closest[2]}, {closest[1]} regions)"
    )


def main() -> None:
    """Print the figures docs/data-quality.md quotes."""
    published, corrected = load(PUBLISHED), load(CORRECTED)
    guarded = print_replay(published, {week.week: week.prices for week in corrected})
    print()
    print_held(PUBLISHED.name, published)
    print_held(CORRECTED.name, corrected)
    print()
    print_many_falling(corrected, guarded.alerts)
    print()
    print_legitimate(published, corrected)
    print()
    print_injected(corrected)


if __name__ == "__main__":
    main()
