"""The comparison rules: which weeks are new, what the guard holds, which regions dropped, which stored weeks changed.

The weekly check (plan_check), the backfill (plan_backfill) and replay all walk the weeks through `walk`: each
week is judged by the data-quality guard against the trusted weeks before it, then compared with them.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from functools import cached_property

from gas_alerts.failures import PermanentError
from gas_alerts.guard import GUARD_WEEKS, find_suspects
from gas_alerts.prices import WeekPrices
from gas_publisher.contract import REGION_IDS
from gas_publisher.week import Comparison, Origin, Revision, WeekRecord

# How many of the newest weeks a check fetches: enough to see the source's recent revisions.
LOOKBACK_WEEKS = 8
# A week more than this older than the source's newest week, when first seen, is history: stored without alert
# (a backfill after an outage). Every newer week's falls are told, however late they become known.
HISTORY_AFTER = timedelta(days=14)
# The fewest weeks a check may fetch: every week that can still alert, and the week before the oldest of them.
MIN_LOOKBACK_WEEKS = HISTORY_AFTER.days // 7 + 2
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

    @cached_property
    def trusted(self) -> dict[str, Decimal]:
        """The values the guard did not hold (worked out once: a backfill's walk asks each week 52 times a region)."""
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
    """What one check will write: new weeks oldest first, late items, and updates of stored weeks."""

    writes: Sequence[WeekRecord] = ()
    revisions: Sequence[Revision] = ()
    baseline: bool = False
    latest_stored: date | None = None
    window_gap: bool = False
    # One item per stored week whose falls became known after it was stored (a region filled in, a held value
    # corrected, a revision of the week before): it tells those falls, once.
    late: Sequence[WeekRecord] = ()
    # New weeks more than HISTORY_AFTER older than the source's newest week: stored without alert.
    history: Sequence[date] = ()
    # (week, region) of each fall first seen in a stored week older than that: stored as history, without alert.
    late_history: Sequence[tuple[date, str]] = ()
    source_newest: date | None = None
    # Set when the source's newest week is older than the newest stored one: then nothing is written.
    older_source: bool = False

    @property
    def newest(self) -> WeekRecord | None:
        """The newest week to write."""
        return self.writes[-1] if self.writes else None

    @property
    def alerting(self) -> list[WeekRecord]:
        """Every item of the plan that tells falls, in week order."""
        return sorted([*(record for record in self.writes if record.alert), *self.late], key=lambda r: r.week)


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


def news_horizon(source_newest: date) -> date:
    """The oldest week whose falls are still news when first seen; older weeks are history."""
    return source_newest - HISTORY_AFTER


def record_for(
    step: Step,
    *,
    alert: bool,
    origin: Origin,
    recorded_at: str,
    told: tuple[str, ...] | None = None,
    source_newest: date | None = None,
) -> WeekRecord:
    """The item for a week on the walk; `alert` is kept only when something dropped."""
    return WeekRecord(
        week=step.week,
        prices=dict(step.judged.prices),
        alert=alert and bool(step.comparison.drops),
        origin=origin,
        recorded_at=recorded_at,
        told=told,
        source_newest=source_newest if alert and step.comparison.drops else None,
        **step.comparison.fields(),
    )


def history_records(weeks: Sequence[WeekPrices], recorded_at: str = "") -> list[WeekRecord]:
    """Every week as silent history, compared as the check would: a table loaded before anybody was told."""
    return [
        record_for(step, alert=False, origin=Origin.BACKFILL, recorded_at=recorded_at, told=step.comparison.drops)
        for step in walk(sorted(weeks, key=lambda week: week.week), {}, REGION_IDS)
    ]


def find_updates(
    steps: Sequence[Step], stored: Mapping[date, WeekRecord], new_weeks: Collection[date] = ()
) -> list[Revision]:
    """What to update on stored weeks: the source's new values, and a comparison that no longer holds.

    A week's comparison is derived again once its own values or verdict changed, or those of a week before it
    (a week stored now in a gap counts as changed); a week whose inputs are all as stored keeps its stored
    comparison (a baseline keeps naming no drops).
    """
    updates = []
    changed_before = False
    for step in steps:
        record = stored.get(step.week)
        if record is None:
            changed_before = changed_before or step.week in new_weeks
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


def plan_check(fetched: Sequence[WeekPrices], stored: Sequence[WeekRecord], *, recorded_at: str = "") -> CheckPlan:
    """Decide the writes for one check, given the source's recent weeks and the stored recent weeks.

    Every region is compared and stored; subscribers choose regions with their filter policies.
    """
    source = sorted(fetched, key=lambda week: week.week)
    stored_by_week = {record.week: record for record in stored}
    latest_stored = max(stored_by_week, default=None)
    if not source:
        return CheckPlan(latest_stored=latest_stored)
    newest = source[-1].week
    if latest_stored is not None and newest < latest_stored:
        # An older copy of the data (a stale export, a cache) must never rewrite what a newer one stored.
        return CheckPlan(latest_stored=latest_stored, source_newest=newest, older_source=True)
    steps = walk(source, stored_by_week, REGION_IDS)
    if latest_stored is None:
        # A baseline records how the week compares with the source's weeks before it, but never names drops; its
        # falls count as told, so only what becomes known later about it can alert.
        last = steps[-1]
        quiet = replace(last.comparison, drops=(), low_weeks={}, low_since={})
        baseline = record_for(
            Step(last.judged, quiet),
            alert=False,
            origin=Origin.BASELINE,
            recorded_at=recorded_at,
            told=last.comparison.drops,
        )
        return CheckPlan(writes=[baseline], baseline=True, source_newest=newest)
    horizon = news_horizon(newest)
    # A week newer than the table's oldest stored week and not stored is new: published after the check, or late.
    # Older ones are before the table's start, the backfill's to load.
    first_stored = min(stored_by_week)
    new_steps = [step for step in steps if step.week not in stored_by_week and step.week > first_stored]
    writes = [
        record_for(
            step,
            alert=step.week >= horizon,
            origin=Origin.WEEKLY,
            recorded_at=recorded_at,
            told=step.comparison.drops,
            source_newest=newest,
        )
        for step in new_steps
    ]
    updates = find_updates(steps, stored_by_week, {step.week for step in new_steps})
    late, updates = late_news(
        steps, stored_by_week, updates, horizon=horizon, source_newest=newest, recorded_at=recorded_at
    )
    return CheckPlan(
        writes=writes,
        revisions=updates,
        latest_stored=latest_stored,
        # The window starts after the newest stored week: weeks in between may exist that it cannot see.
        window_gap=bool(new_steps) and source[0].week > latest_stored,
        late=late,
        history=[step.week for step in new_steps if step.week < horizon],
        late_history=late_history(steps, stored_by_week, horizon),
        source_newest=newest,
    )


def late_news(
    steps: Sequence[Step],
    stored: Mapping[date, WeekRecord],
    updates: Sequence[Revision],
    *,
    horizon: date,
    source_newest: date,
    recorded_at: str,
) -> tuple[list[WeekRecord], list[Revision]]:
    """A late item for each stored week since the horizon with falls not told yet, and the updates that say so.

    A fall becomes known after its week was stored when the source fills in a region, corrects a held value, or
    revises the week before. Each is told once: the week's `told` grows in the same transaction, on condition that
    it is still as read, and the stored comparison becomes the one that was told.
    """
    by_week = {update.week: update for update in updates}
    late = []
    for step in steps:
        record = stored.get(step.week)
        if record is None or step.week < horizon:
            continue
        told = record.told_regions
        untold = tuple(region for region in step.comparison.drops if region not in told)
        if not untold:
            continue
        late.append(late_item(step, untold, source_newest, recorded_at, told=told))
        update = by_week.get(step.week) or Revision(record.week, {}, {}, record.rev)
        now_told = tuple(region for region in REGION_IDS if region in told or region in untold)
        by_week[step.week] = replace(update, comparison=step.comparison, told=now_told, told_before=record.told)
    return late, sorted(by_week.values(), key=lambda update: update.week)


def late_history(steps: Sequence[Step], stored: Mapping[date, WeekRecord], horizon: date) -> list[tuple[date, str]]:
    """The falls first seen now in stored weeks older than the horizon: history, stored without alert.

    A fall counts once: when the stored comparison does not name it yet (the update this check makes then does).
    """
    return [
        (step.week, region)
        for step in steps
        if step.week < horizon and (record := stored.get(step.week)) is not None
        for region in step.comparison.drops
        if region not in record.told_regions and region not in record.drops
    ]


def late_item(
    step: Step, regions: tuple[str, ...], source_newest: date, recorded_at: str, *, told: Collection[str] = ()
) -> WeekRecord:
    """The item that tells these regions' falls in a stored week: each against its own base, with its low weeks.

    Its `drops` are the week's falls so far: these regions and those of `told` (the week's told regions) that
    still fall at the source's current values, so the digest it makes carries the week's totals.
    """
    comparison = step.comparison
    fallen = tuple(region for region in comparison.drops if region in regions or region in told)
    return WeekRecord(
        week=step.week,
        prices={region: step.judged.prices[region] for region in fallen},
        previous_week=comparison.previous_week,
        previous_prices={region: comparison.previous_prices[region] for region in fallen},
        since={region: day for region, day in comparison.since.items() if region in fallen},
        drops=fallen,
        alert=True,
        origin=Origin.WEEKLY,
        recorded_at=recorded_at,
        low_weeks={region: comparison.low_weeks[region] for region in fallen},
        low_since={region: comparison.low_since[region] for region in fallen},
        late_regions=regions,
        source_newest=source_newest,
    )


class OlderSourceError(PermanentError):
    """A backfill source whose newest week is older than the table's: it would rewrite newer values with older."""


def plan_backfill(
    history: Sequence[WeekPrices],
    stored: Sequence[WeekRecord],
    *,
    since: date | None = None,
    recorded_at: str = "",
    allow_older: bool = False,
) -> BackfillPlan:
    """Plan silent week items for the missing history and revisions for the stored history the source changed.

    Every week from the news horizon on (14 days before the source's newest week) is the weekly check's, stored or
    not: its falls may still be told, and a backfill that stored or revised it silently would swallow them.
    """
    ordered = sorted(history, key=lambda week: week.week)
    stored_by_week = {record.week: record for record in stored}
    stored_newest = max(stored_by_week, default=None)
    older = bool(ordered) and stored_newest is not None and ordered[-1].week < stored_newest
    if older and not allow_older:
        raise OlderSourceError(
            f"the source's newest week {ordered[-1].week} is older than the table's newest {stored_newest}: it would "
            "rewrite stored weeks with older values, so nothing was written; pass --allow-older-source to add only "
            "the weeks the table lacks"
        )
    # An older source only fills what the table lacks: the stored values stay what every comparison uses.
    steps = walk(
        [week for week in ordered if week.week not in stored_by_week] if older else ordered, stored_by_week, REGION_IDS
    )
    targets = [week.week for week in ordered if since is None or week.week >= since]
    newest = max([week.week for week in ordered[-1:]] + ([stored_newest] if stored_newest else []), default=None)
    horizon = news_horizon(newest) if newest else date.max
    by_week = {step.week: step for step in steps}
    writes: list[WeekRecord] = []
    skipped: list[date] = []
    left_to_check: list[date] = []
    for day in targets:
        if day in stored_by_week:
            skipped.append(day)
        elif day >= horizon:
            left_to_check.append(day)
        else:
            step = by_week[day]
            told = step.comparison.drops
            writes.append(record_for(step, alert=False, origin=Origin.BACKFILL, recorded_at=recorded_at, told=told))
    new_weeks = {record.week for record in writes}
    updates = [] if older else find_updates(steps, stored_by_week, new_weeks)
    revisions = [update for update in updates if update.week < horizon]
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
