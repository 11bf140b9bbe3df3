"""The price table in memory, changed by a check's plan the way its conditional writes change DynamoDB.

Replays run hundreds of checks; this keeps them to plain function calls. gas_alerts.store is what writes the real
table, and the tests hold the two to the same outcome.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date

from gas_alerts.compare import HISTORY_WEEKS, CheckPlan
from gas_publisher.week import Revision, WeekRecord


@dataclass
class TableModel:
    """Week items by week, and the late items written so far."""

    weeks: dict[date, WeekRecord] = field(default_factory=dict)
    late: list[WeekRecord] = field(default_factory=list)

    def recent(self, limit: int = HISTORY_WEEKS) -> list[WeekRecord]:
        """The newest `limit` weeks, newest first, as the check's Query returns them."""
        return [self.weeks[day] for day in sorted(self.weeks, reverse=True)[:limit]]

    def apply(self, plan: CheckPlan) -> list[WeekRecord]:
        """Store the plan's new weeks and late items and apply its updates; returns the items that tell falls."""
        for record in plan.writes:
            if record.week in self.weeks:
                raise ValueError(f"{record.week} is already stored: the conditional put would fail")
            self.weeks[record.week] = record
        self.late += plan.late
        for revision in plan.revisions:
            self.weeks[revision.week] = updated(self.weeks[revision.week], revision)
        return plan.alerting


def updated(record: WeekRecord, revision: Revision) -> WeekRecord:
    """A stored week after its update: the source's new values, the comparison derived again, the told regions."""
    if revision.stored_rev != record.rev:
        raise ValueError(f"{record.week} changed since it was read: the conditional update would fail")
    if revision.told is not None and record.told != revision.told_before:
        raise ValueError(f"{record.week} was told more since it was read: the conditional update would fail")
    if revision.changes_prices:
        record = replace(record, prices={**record.prices, **revision.new}, rev=record.rev + 1)
    if revision.comparison is not None:
        record = replace(record, **revision.comparison.fields())
    if revision.told is not None:
        record = replace(record, told=revision.told)
    return record
