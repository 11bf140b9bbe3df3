"""The weekly comparison rules: which weeks are new, which regions dropped, which stored weeks were revised."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from gas_alerts.prices import WeekPrices
from gas_publisher.contract import REGION_IDS
from gas_publisher.week import WeekRecord


@dataclass(frozen=True)
class Revision:
    """The source changed a week that is already stored: the old and new value of each changed region."""

    week: date
    old: Mapping[str, Decimal]
    new: Mapping[str, Decimal]
    stored_rev: int


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


def find_drops(
    current: Mapping[str, Decimal], previous: Mapping[str, Decimal], regions: Collection[str] = REGION_IDS
) -> tuple[str, ...]:
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
    revisions = [
        revision
        for week in source
        if week.week in stored_by_week
        if (revision := find_revision(stored_by_week[week.week], week)) is not None
    ]
    if not source:
        return CheckPlan(revisions=revisions, latest_stored=latest_stored)
    if latest_stored is None:
        newest = source[-1]
        previous = source[-2] if len(source) > 1 else None
        baseline = _record(newest, previous, (), alert=False, origin="baseline", recorded_at=recorded_at)
        return CheckPlan(writes=[baseline], baseline=True)
    # The source's current value wins over the stored one, so a corrected error cannot look like a drop.
    known: dict[date, Mapping[str, Decimal]] = {week: record.prices for week, record in stored_by_week.items()}
    known.update({week.week: week.prices for week in source})
    new_weeks = [week for week in source if week.week > latest_stored]
    writes = []
    for position, week in enumerate(new_weeks):
        earlier = [day for day in known if day < week.week]
        previous = WeekPrices(max(earlier), known[max(earlier)]) if earlier else None
        drops = find_drops(week.prices, previous.prices, regions) if previous else ()
        is_newest = position == len(new_weeks) - 1
        writes.append(
            _record(week, previous, drops, alert=is_newest and bool(drops), origin="weekly", recorded_at=recorded_at)
        )
    # The window starts after the newest stored week: weeks in between may exist that it cannot see.
    window_gap = bool(new_weeks) and source[0].week > latest_stored
    return CheckPlan(writes=writes, revisions=revisions, latest_stored=latest_stored, window_gap=window_gap)


def _record(
    week: WeekPrices,
    previous: WeekPrices | None,
    drops: tuple[str, ...],
    *,
    alert: bool,
    origin: str,
    recorded_at: str,
) -> WeekRecord:
    return WeekRecord(
        week=week.week,
        prices=dict(week.prices),
        previous_week=previous.week if previous else None,
        previous_prices=dict(previous.prices) if previous else {},
        drops=drops,
        alert=alert,
        origin=origin,
        recorded_at=recorded_at,
    )
