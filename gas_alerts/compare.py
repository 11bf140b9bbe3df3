"""The comparison rules: which weeks are new, what the guard holds, which regions dropped, which stored weeks changed.

The weekly check (plan_check), the backfill (plan_backfill) and replay all walk the weeks through `walk`: each
week is judged by the data-quality guard against the trusted weeks before it, then compared with them.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

from gas_alerts.guard import GUARD_WEEKS, find_suspects
from gas_alerts.prices import WeekPrices
from gas_publisher.contract import REGION_IDS
from gas_publisher.week import Comparison, Origin, Revision, WeekRecord

# How many of the newest weeks a check fetches: enough to see the source's recent revisions.
LOOKBACK_WEEKS = 8
# `low_weeks` counts at most this many trusted weeks back.
LOW_WEEKS_CAP = 52
# How many stored weeks a check reads (one Query with this Limit, whatever the history's size): 52 trusted
# weeks for low_weeks, even across the GUARD_WEEKS a held value can span.
HISTORY_WEEKS = LOW_WEEKS_CAP + GUARD_WEEKS

Prices = Mapping[str, Decimal]


@dataclass(frozen=True)
class Judged:
    """One week's values and the ones the guard holds."""

    week: date
    prices: Prices
    suspect: Mapping[str, str] = field(default_factory=dict)

    @property
    def trusted(self) -> dict[str, Decimal]:
        """The values the guard did not hold."""
        return {region: price for region, price in self.prices.items() if region not in self.suspect}


@dataclass(frozen=True)
class Step:
    """A week on the walk: its values, what the guard held, and its comparison with the weeks before it."""

    judged: Judged
    comparison: Comparison

    @property
    def week(self) -> date:
        """The week's Monday."""
        return self.judged.week


@dataclass(frozen=True)
class CheckPlan:
    """What one check will write: new weeks oldest first, and revisions of stored weeks."""

    writes: Sequence[WeekRecord] = ()
    revisions: Sequence[Revision] = ()
    baseline: bool = False
    latest_stored: date | None = None
    window_gap: bool = False
    # One alert item per region the source published late in the newest stored week, when it is a drop.
    late: Sequence[WeekRecord] = ()

    @property
    def newest(self) -> WeekRecord | None:
        """The newest week to write, the only one that may alert."""
        return self.writes[-1] if self.writes else None


@dataclass(frozen=True)
class BackfillPlan:
    """What a backfill will write: missing weeks oldest first, revisions of stored weeks, and what it skips."""

    writes: Sequence[WeekRecord] = ()
    revisions: Sequence[Revision] = ()
    skipped: Sequence[date] = ()
    left_to_check: Sequence[date] = ()
    regions: tuple[str, ...] = ()
    first_week: date | None = None
    last_week: date | None = None


def find_drops(current: Prices, previous: Prices, regions: Collection[str] = REGION_IDS) -> tuple[str, ...]:
    """Regions priced in both whose price is strictly lower now, in the dataset's region order."""
    return tuple(
        region
        for region in REGION_IDS
        if region in regions and region in current and region in previous and current[region] < previous[region]
    )


def find_revision(stored: WeekRecord, source: WeekPrices) -> Revision | None:
    """The regions whose source value now differs from the stored one, if any."""
    changed = {region: price for region, price in source.prices.items() if stored.prices.get(region) != price}
    if not changed:
        return None
    old = {region: stored.prices[region] for region in changed if region in stored.prices}
    return Revision(source.week, old, changed, stored.rev)


def known_prices(source: Sequence[WeekPrices], stored: Mapping[date, WeekRecord]) -> dict[date, Prices]:
    """Every week's prices, the source's current value winning over the stored one.

    So a corrected error in the source can never look like a drop: the next week compares with the fix.
    """
    known: dict[date, Prices] = {day: record.prices for day, record in stored.items()}
    known.update({week.week: week.prices for week in source})
    return known


def judge(week: date, prices: Prices, before: Sequence[Judged]) -> Judged:
    """The week with the values the guard holds, judged against the trusted weeks before it (newest first)."""
    return Judged(week, prices, find_suspects(prices, [earlier.trusted for earlier in before[:GUARD_WEEKS]]))


def compare(current: Judged, before: Sequence[Judged], regions: Collection[str] = REGION_IDS) -> Comparison:
    """Compare a week with the weeks before it (newest first): each trusted region against its last trusted value.

    A region held in the weeks before is compared with the week it was last trusted; a region with no value in a
    week before that has none to compare with, and is never treated as 0.
    """
    if not before:
        return Comparison(suspect=dict(current.suspect))
    previous = before[0]
    bases = dict(previous.trusted)
    since: dict[str, date] = {}
    for region in current.trusted:
        if region in bases or region not in previous.suspect:
            continue  # compared with last week, or not published last week: then there is nothing to compare
        for earlier in before[1:]:
            if region in earlier.trusted:
                bases[region], since[region] = earlier.trusted[region], earlier.week
                break
            if region not in earlier.suspect:
                break
    drops = find_drops(current.trusted, bases, regions)
    lows = {region: _weeks_higher(region, current.prices[region], before, since.get(region)) for region in drops}
    return Comparison(
        suspect=dict(current.suspect),
        previous_week=previous.week,
        previous_prices=bases,
        since=since,
        drops=drops,
        low_weeks={region: count for region, (count, _) in lows.items()},
        low_since={region: first for region, (_, first) in lows.items()},
    )


def _weeks_higher(region: str, price: Decimal, before: Sequence[Judged], base: date | None) -> tuple[int, date]:
    """For how many weeks in a row, back from the base week, the region's trusted price was higher, and since when.

    Weeks without a trusted value for the region are passed over; the count stops at LOW_WEEKS_CAP.
    """
    count, first = 0, before[0].week
    for earlier in before:
        if count == LOW_WEEKS_CAP:
            break
        if base is not None and earlier.week > base:
            continue
        value = earlier.trusted.get(region)
        if value is None:
            continue
        if value <= price:
            break
        count, first = count + 1, earlier.week
    return count, first


def walk(source: Sequence[WeekPrices], stored: Mapping[date, WeekRecord], regions: Collection[str]) -> list[Step]:
    """Every week of the table and the source, oldest first, judged and compared at its current values.

    Stored weeks older than the source's oldest week keep their stored verdict and comparison: the source no longer
    shows them, so nothing about them can have changed.
    """
    known = known_prices(source, stored)
    first_fetched = min((week.week for week in source), default=None)
    steps: list[Step] = []
    newest_first: list[Judged] = []
    for day in sorted(known):
        record = stored.get(day)
        if record is not None and (first_fetched is None or day < first_fetched):
            step = Step(Judged(day, record.prices, record.suspect), record.comparison)
        else:
            current = judge(day, known[day], newest_first)
            step = Step(current, compare(current, newest_first[:HISTORY_WEEKS], regions))
        steps.append(step)
        newest_first.insert(0, step.judged)
    return steps


def record_for(step: Step, *, alert: bool, origin: Origin, recorded_at: str) -> WeekRecord:
    """The item for a week on the walk; `alert` is kept only when something dropped."""
    return WeekRecord(
        week=step.week,
        prices=dict(step.judged.prices),
        alert=alert and bool(step.comparison.drops),
        origin=origin,
        recorded_at=recorded_at,
        **step.comparison.fields(),
    )


def find_updates(steps: Sequence[Step], stored: Mapping[date, WeekRecord]) -> list[Revision]:
    """What to update on stored weeks: the source's new values, and a comparison that no longer holds.

    A week's comparison is derived again once its own values or verdict changed, or those of a week before it;
    a week whose inputs are all as stored keeps its stored comparison (a baseline keeps naming no drops).
    """
    updates = []
    changed_before = False
    for step in steps:
        record = stored.get(step.week)
        if record is None:
            continue
        own = find_revision(record, WeekPrices(step.week, step.judged.prices))
        changed_here = own is not None or dict(record.suspect) != dict(step.judged.suspect)
        if (changed_here or changed_before) and _differs(record.comparison, step.comparison):
            updates.append(replace(own or Revision(record.week, {}, {}, record.rev), comparison=step.comparison))
        elif own is not None:
            updates.append(own)
        changed_before = changed_before or changed_here
    return updates


def _differs(old: Comparison, new: Comparison) -> bool:
    """Whether two comparisons disagree on anything but the informative low-week counts."""
    return (old.suspect, old.previous_week, old.previous_prices, old.since, old.drops) != (
        new.suspect,
        new.previous_week,
        new.previous_prices,
        new.since,
        new.drops,
    )


def plan_check(
    fetched: Sequence[WeekPrices],
    stored: Sequence[WeekRecord],
    *,
    regions: Collection[str] = REGION_IDS,
    recorded_at: str = "",
) -> CheckPlan:
    """Decide the writes for one check, given the source's recent weeks and the stored recent weeks."""
    source = sorted(fetched, key=lambda week: week.week)
    stored_by_week = {record.week: record for record in stored}
    latest_stored = max(stored_by_week, default=None)
    if not source:
        return CheckPlan(latest_stored=latest_stored)
    steps = walk(source, stored_by_week, regions)
    if latest_stored is None:
        # A baseline records how the week compares with the source's weeks before it, but never names drops.
        newest = steps[-1]
        quiet = replace(newest.comparison, drops=(), low_weeks={}, low_since={})
        baseline = record_for(Step(newest.judged, quiet), alert=False, origin=Origin.BASELINE, recorded_at=recorded_at)
        return CheckPlan(writes=[baseline], baseline=True)
    revisions = find_updates(steps, stored_by_week)
    new_steps = [step for step in steps if step.week > latest_stored]
    writes = [
        record_for(step, alert=step is new_steps[-1], origin=Origin.WEEKLY, recorded_at=recorded_at)
        for step in new_steps
    ]
    # The window starts after the newest stored week: weeks in between may exist that it cannot see.
    window_gap = bool(new_steps) and source[0].week > latest_stored
    newest_stored = next(step for step in steps if step.week == latest_stored)
    late = [] if new_steps else late_alerts(stored_by_week[latest_stored], newest_stored, recorded_at)
    return CheckPlan(writes=writes, revisions=revisions, latest_stored=latest_stored, window_gap=window_gap, late=late)


def late_alerts(stored: WeekRecord, step: Step, recorded_at: str) -> list[WeekRecord]:
    """An alert item for each region the source added to the newest stored week whose value is a drop.

    A region published after its week was stored comes in as a revision, which never alerts; its subscribers
    would otherwise never hear of that week's fall. It alerts once, as if it had come with the week: against its
    own base, with its low-week count. A later week makes it stale, so only the newest stored week is looked at.
    """
    comparison = step.comparison
    added = [region for region in comparison.drops if region not in stored.prices]
    return [
        WeekRecord(
            week=step.week,
            prices={region: step.judged.prices[region]},
            previous_week=comparison.since.get(region, comparison.previous_week),
            previous_prices={region: comparison.previous_prices[region]},
            drops=(region,),
            alert=True,
            origin=Origin.WEEKLY,
            recorded_at=recorded_at,
            low_weeks={region: comparison.low_weeks[region]},
            low_since={region: comparison.low_since[region]},
            late_region=region,
        )
        for region in added
    ]


def plan_backfill(
    history: Sequence[WeekPrices],
    stored: Sequence[WeekRecord],
    *,
    since: date | None = None,
    recorded_at: str = "",
) -> BackfillPlan:
    """Plan silent week items for the missing weeks and revisions for the stored weeks the source changed."""
    ordered = sorted(history, key=lambda week: week.week)
    stored_by_week = {record.week: record for record in stored}
    steps = walk(ordered, stored_by_week, REGION_IDS)
    targets = [week.week for week in ordered if since is None or week.week >= since]
    # The source's newest week, and any week newer than the newest one the weekly check stored, are the
    # check's to write and to alert on: a backfill that wrote them silently would swallow their alerts.
    newest = ordered[-1].week if ordered else None
    checked_until = max(
        (day for day, record in stored_by_week.items() if record.origin != Origin.BACKFILL), default=None
    )
    by_week = {step.week: step for step in steps}
    writes: list[WeekRecord] = []
    skipped: list[date] = []
    left_to_check: list[date] = []
    for day in targets:
        if day in stored_by_week:
            skipped.append(day)
        elif day == newest or (checked_until is not None and day > checked_until):
            left_to_check.append(day)
        else:
            writes.append(record_for(by_week[day], alert=False, origin=Origin.BACKFILL, recorded_at=recorded_at))
    revisions = find_updates(steps, stored_by_week)
    chosen = set(targets)
    priced = {region for week in ordered if week.week in chosen for region in week.prices}
    return BackfillPlan(
        writes=writes,
        revisions=revisions,
        skipped=skipped,
        left_to_check=left_to_check,
        regions=tuple(region for region in REGION_IDS if region in priced),
        first_week=targets[0] if targets else None,
        last_week=targets[-1] if targets else None,
    )
