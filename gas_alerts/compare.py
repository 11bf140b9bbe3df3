"""The comparison rules: which weeks are new, which regions dropped, which stored weeks the source revised."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from gas_alerts.prices import WeekPrices
from gas_publisher.contract import REGION_IDS
from gas_publisher.week import Origin, Revision, WeekRecord

# How many of the newest weeks a check fetches and reads: enough to see the source's recent revisions.
LOOKBACK_WEEKS = 8

Prices = Mapping[str, Decimal]


@dataclass(frozen=True)
class CheckPlan:
    """What one check will write: new weeks oldest first, and revisions of stored weeks."""

    writes: Sequence[WeekRecord] = ()
    revisions: Sequence[Revision] = ()
    baseline: bool = False
    latest_stored: date | None = None
    window_gap: bool = False

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
    """Regions priced in both weeks whose price is strictly lower now, in the dataset's region order."""
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


def find_revisions(
    source: Sequence[WeekPrices], stored: Mapping[date, WeekRecord], regions: Collection[str] = REGION_IDS
) -> list[Revision]:
    """A revision for each stored week whose values, or whose previous week's values, the source changed.

    A week compared with a revised week gets its comparison (previous prices and drops) re-derived in the same
    writes, so no stored item ever contradicts the table; its alert flag is history and stays as it is.
    """
    own = {
        week.week: revision
        for week in source
        if week.week in stored
        if (revision := find_revision(stored[week.week], week)) is not None
    }
    known = known_prices(source, stored)
    revisions = []
    for day, record in sorted(stored.items()):
        revision = own.get(day)
        previous = record.previous_week
        if previous is not None and (previous in own or revision is not None):
            current_previous = known.get(previous, record.previous_prices)
            drops = find_drops(known[day], current_previous, regions)
            if current_previous != record.previous_prices or drops != record.drops:
                base = revision or Revision(day, {}, {}, record.rev)
                revision = replace(base, previous_prices=dict(current_previous), drops=drops)
        if revision is not None:
            revisions.append(revision)
    return revisions


def known_prices(source: Sequence[WeekPrices], stored: Mapping[date, WeekRecord]) -> dict[date, Prices]:
    """Every week's prices, the source's current value winning over the stored one.

    So a corrected error in the source can never look like a drop: the next week compares with the fix.
    """
    known: dict[date, Prices] = {day: record.prices for day, record in stored.items()}
    known.update({week.week: week.prices for week in source})
    return known


def week_record(
    week: WeekPrices,
    previous: WeekPrices | None,
    *,
    regions: Collection[str] = REGION_IDS,
    alert: bool,
    origin: Origin,
    recorded_at: str,
) -> WeekRecord:
    """The item for a week compared with the week before it; `alert` is kept only when something dropped."""
    drops = find_drops(week.prices, previous.prices, regions) if previous else ()
    return WeekRecord(
        week=week.week,
        prices=dict(week.prices),
        previous_week=previous.week if previous else None,
        previous_prices=dict(previous.prices) if previous else {},
        drops=drops,
        alert=alert and bool(drops),
        origin=origin,
        recorded_at=recorded_at,
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
    revisions = find_revisions(source, stored_by_week, regions)
    if not source:
        return CheckPlan(revisions=revisions, latest_stored=latest_stored)
    if latest_stored is None:
        previous = source[-2] if len(source) > 1 else None
        # No regions compared: a baseline records the week before it but never names drops.
        baseline = week_record(
            source[-1], previous, regions=(), alert=False, origin=Origin.BASELINE, recorded_at=recorded_at
        )
        return CheckPlan(writes=[baseline], baseline=True)
    known = known_prices(source, stored_by_week)
    days = sorted(known)
    new_weeks = [week for week in source if week.week > latest_stored]
    writes = [
        week_record(
            week,
            _previous(days, known, week.week),
            regions=regions,
            alert=position == len(new_weeks) - 1,
            origin=Origin.WEEKLY,
            recorded_at=recorded_at,
        )
        for position, week in enumerate(new_weeks)
    ]
    # The window starts after the newest stored week: weeks in between may exist that it cannot see.
    window_gap = bool(new_weeks) and source[0].week > latest_stored
    return CheckPlan(writes=writes, revisions=revisions, latest_stored=latest_stored, window_gap=window_gap)


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
    known = known_prices(ordered, stored_by_week)
    days = sorted(known)
    targets = [week for week in ordered if since is None or week.week >= since]
    # The source's newest week, and any week newer than the newest one the weekly check stored, are the
    # check's to write and to alert on: a backfill that wrote them silently would swallow their alerts.
    newest = ordered[-1].week if ordered else None
    checked_until = max(
        (day for day, record in stored_by_week.items() if record.origin != Origin.BACKFILL), default=None
    )
    writes: list[WeekRecord] = []
    skipped: list[date] = []
    left_to_check: list[date] = []
    for week in targets:
        if week.week in stored_by_week:
            skipped.append(week.week)
        elif week.week == newest or (checked_until is not None and week.week > checked_until):
            left_to_check.append(week.week)
        else:
            previous = _previous(days, known, week.week)
            writes.append(week_record(week, previous, alert=False, origin=Origin.BACKFILL, recorded_at=recorded_at))
    priced = {region for week in targets for region in week.prices}
    return BackfillPlan(
        writes=writes,
        revisions=find_revisions(ordered, stored_by_week),
        skipped=skipped,
        left_to_check=left_to_check,
        regions=tuple(region for region in REGION_IDS if region in priced),
        first_week=targets[0].week if targets else None,
        last_week=targets[-1].week if targets else None,
    )


def _previous(days: Sequence[date], known: Mapping[date, Prices], week: date) -> WeekPrices | None:
    """The newest known week before `week` (`days` is `known`'s keys, sorted)."""
    position = bisect_left(days, week)
    return WeekPrices(days[position - 1], known[days[position - 1]]) if position else None
