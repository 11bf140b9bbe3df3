"""Replays past weeks through the weekly check's own rules: the alerts a subscriber would have received."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from gas_alerts.chart import ChartWeek
from gas_alerts.compare import LOOKBACK_WEEKS, history_records, plan_check
from gas_alerts.filter_policy import admits
from gas_alerts.prices import WeekPrices
from gas_alerts.table_model import TableModel
from gas_publisher.alert import Alert, alerts_for
from gas_publisher.contract import REGION_IDS
from gas_publisher.week import WeekRecord


@dataclass(frozen=True)
class Held:
    """A value the data-quality guard held in a replayed week, with its reason."""

    week: date
    region: str
    price: str
    reason: str


@dataclass(frozen=True)
class ReplayReport:
    """The weeks walked, the alerts that would have been delivered, and the values held, oldest first."""

    weeks: list[date] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    held: list[Held] = field(default_factory=list)
    regions: tuple[str, ...] = REGION_IDS

    def chart_weeks(self, history: Iterable[WeekPrices]) -> list[ChartWeek]:
        """The replayed weeks as the chart draws them: the source's prices, the alerts kept and the values held."""
        alerted: dict[date, set[str]] = {}
        for alert in self.alerts:
            alerted.setdefault(alert.week, set()).add(alert.region)
        held: dict[date, dict[str, str]] = {}
        for value in self.held:
            held.setdefault(value.week, {})[value.region] = value.reason
        replayed = set(self.weeks)
        return [
            ChartWeek(week.week, week.prices, frozenset(alerted.get(week.week, ())), held.get(week.week, {}))
            for week in sorted(history, key=lambda week: week.week)
            if week.week in replayed
        ]

    def per_region(self) -> dict[str, int]:
        """How many alerts each chosen region would have received, in the dataset's region order."""
        counts = dict.fromkeys(self.regions, 0)
        for alert in self.alerts:
            counts[alert.region] += 1
        return counts


def replay(
    history: Iterable[WeekPrices],
    *,
    start: date,
    end: date,
    regions: Collection[str] = REGION_IDS,
    policy: Mapping[str, Any] | None = None,
    lookback_weeks: int = LOOKBACK_WEEKS,
) -> ReplayReport:
    """Run the weekly check for each week from `start` to `end`, as if it had run every week on a kept table.

    The weeks before `start` are the table as history leaves it (silent). Each replayed week then goes through
    plan_check with the newest weeks as the source shows them, and what it writes is kept as the check keeps it,
    so the guard's verdicts carry from week to week. Only the chosen regions' alerts are reported. `policy` is an
    SNS filter policy, applied to each alert's message attributes exactly as SNS applies it.
    """
    ordered = sorted(history, key=lambda week: week.week)
    first = next((index for index, week in enumerate(ordered) if week.week >= start), len(ordered))
    table = TableModel({record.week: record for record in history_records(ordered[:first])})
    report = ReplayReport(regions=tuple(region for region in REGION_IDS if region in regions))
    for index in range(first, len(ordered)):
        week = ordered[index]
        if week.week > end:
            break
        fetched = ordered[max(index - lookback_weeks + 1, 0) : index + 1]
        plan = plan_check(fetched, table.recent())
        report.weeks.append(week.week)
        for record in plan.writes:
            report.held.extend(_held(record))
        report.alerts.extend(
            alert
            for record in table.apply(plan)
            for alert in alerts_for(record)
            if alert.region in regions and (policy is None or admits(policy, _attribute_values(alert)))
        )
    return report


def _held(record: WeekRecord) -> list[Held]:
    return [Held(record.week, region, str(record.prices[region]), reason) for region, reason in record.suspect.items()]


def _attribute_values(alert: Alert) -> dict[str, str]:
    return {name: value["StringValue"] for name, value in alert.message_attributes().items()}


def history_from_table(records: Iterable[WeekRecord]) -> list[WeekPrices]:
    """Stored week items as source weeks (their current, revised prices)."""
    return [WeekPrices(record.week, record.prices) for record in records]
