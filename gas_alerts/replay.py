"""Replays past weeks through the weekly check's own rules: the alerts a subscriber would have received."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from gas_alerts.compare import LOOKBACK_WEEKS, plan_check
from gas_alerts.prices import WeekPrices
from gas_publisher.alert import Alert, alerts_for
from gas_publisher.contract import REGION_IDS
from gas_publisher.week import WeekRecord


@dataclass(frozen=True)
class ReplayReport:
    """The weeks walked and the alerts that would have been delivered, oldest first."""

    weeks: list[date] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    regions: tuple[str, ...] = REGION_IDS

    def per_region(self) -> dict[str, int]:
        """How many alerts each chosen region would have received, in the dataset's region order."""
        counts = dict.fromkeys(self.regions, 0)
        for alert in self.alerts:
            counts[alert.region] += 1
        return counts


def passes_filter(alert: Alert, min_drop_cents: int | None) -> bool:
    """Whether a subscription with this minimum drop receives the alert (the SNS policy's `>=`)."""
    return min_drop_cents is None or alert.drop_cents >= min_drop_cents


def replay(
    history: Iterable[WeekPrices],
    *,
    start: date,
    end: date,
    regions: Collection[str] = REGION_IDS,
    min_drop_cents: int | None = None,
    lookback_weeks: int = LOOKBACK_WEEKS,
) -> ReplayReport:
    """Run the weekly comparison for each week from `start` to `end`, as if the check had run every week."""
    ordered = sorted(history, key=lambda week: week.week)
    report = ReplayReport(regions=tuple(region for region in REGION_IDS if region in regions))
    for index, week in enumerate(ordered):
        if not start <= week.week <= end:
            continue
        report.weeks.append(week.week)
        newest = _check_week(ordered, index, regions, lookback_weeks)
        if newest is not None:
            report.alerts.extend(alert for alert in alerts_for(newest) if passes_filter(alert, min_drop_cents))
    return report


def _check_week(
    ordered: Sequence[WeekPrices], index: int, regions: Collection[str], lookback_weeks: int
) -> WeekRecord | None:
    """The week item the weekly check would have written when `ordered[index]` was the newest week."""
    fetched = ordered[max(index - lookback_weeks + 1, 0) : index + 1]
    earlier = ordered[max(index - lookback_weeks, 0) : index]
    stored = [WeekRecord(week=week.week, prices=week.prices) for week in earlier]
    return plan_check(fetched, stored, regions=regions).newest


def history_from_table(records: Iterable[WeekRecord]) -> list[WeekPrices]:
    """Stored week items as source weeks (their current, revised prices)."""
    return [WeekPrices(record.week, record.prices) for record in records]
