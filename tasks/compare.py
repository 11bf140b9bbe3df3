"""The pure step of the weekly check: compare the source with what is stored."""

from __future__ import annotations

from collections.abc import Sequence

from prefect import task
from prefect.cache_policies import NONE

from gas_alerts.compare import CheckPlan, plan_check
from gas_alerts.prices import WeekPrices
from gas_publisher.week import WeekRecord


@task(name="compare-weeks", cache_policy=NONE)
def compare_weeks(fetched: Sequence[WeekPrices], stored: Sequence[WeekRecord], recorded_at: str) -> CheckPlan:
    """Plan the writes: baseline, new weeks with their drops, late items, and updates of stored weeks."""
    return plan_check(fetched, stored, recorded_at=recorded_at)
