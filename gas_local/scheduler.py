"""The local stand-in for EventBridge Scheduler: the deployed schedules that target the publisher, run on their rate.

When Terraform made the stack, moto holds its schedule (expression, target, input); this runs the function's own
package with that input each time the rate comes round, as Scheduler invokes it. Without a deployed schedule
(`gas-alerts local provision`), it runs the handler in this process with the contract's sweep and rate.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from gas_alerts import aws
from gas_alerts.settings import Settings
from gas_local.lambda_runtime import PackagedFunction
from gas_ops.publisher import publisher_environment, publisher_handler
from gas_ops.stream import InvocationContext
from gas_publisher.contract import FUNCTION_TIMEOUT_SECONDS, SWEEP_SCHEDULE
from gas_publisher.sweep import SweepRequest

logger = logging.getLogger(__name__)
RATE = re.compile(r"rate\((?P<number>\d+) (?P<unit>minutes?|hours?|days?)\)")
UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86_400}
Invoke = Callable[[dict[str, Any], Any], Any]


class UnsupportedScheduleError(ValueError):
    """A schedule expression the local scheduler does not run (only rate() is implemented)."""


def rate_interval(expression: str) -> timedelta:
    """How often a `rate(...)` schedule fires; UnsupportedScheduleError names any other expression."""
    found = RATE.fullmatch(expression.strip())
    if found is None:
        raise UnsupportedScheduleError(f"the local scheduler runs rate(...) expressions only, not {expression[:60]!r}")
    return timedelta(seconds=int(found["number"]) * UNIT_SECONDS[found["unit"].rstrip("s")])


@dataclass
class LocalSchedule:
    """One schedule: when it fires, what it sends, and when it is next due (monotonic seconds)."""

    name: str
    interval: timedelta
    event: Mapping[str, Any]
    next_due: float = 0.0


@dataclass
class LocalScheduler:
    """Invokes the function with each schedule's input whenever its rate comes round."""

    invoke: Invoke
    schedules: list[LocalSchedule]
    timeout_seconds: float = FUNCTION_TIMEOUT_SECONDS
    # Where it runs: the deployed package in a fresh process, or the handler in this process.
    how: str = ""
    clock: Callable[[], float] = time.monotonic
    reports: list[Any] = field(default_factory=list)

    def start(self, *, at_once: bool) -> None:
        """Set each schedule's first run: now, or one interval from now as Scheduler's first rate invocation is."""
        now = self.clock()
        for schedule in self.schedules:
            schedule.next_due = now if at_once else now + schedule.interval.total_seconds()

    def run_due(self) -> list[Any]:
        """Invoke every schedule that is due, and set its next run; the invocations' results."""
        results = []
        for schedule in self.schedules:
            if self.clock() < schedule.next_due:
                continue
            schedule.next_due += schedule.interval.total_seconds()
            context = InvocationContext(function_name=schedule.name, timeout_seconds=self.timeout_seconds)
            try:
                result = self.invoke(dict(schedule.event), context)
            except Exception:
                # Scheduler only counts a failed invocation (the function's errors alarm sees it); the next runs go on.
                logger.exception("the schedule %s failed to run", schedule.name)
                continue
            logger.info("schedule %s ran: %s", schedule.name, json.dumps(result, default=str)[:500])
            results.append(result)
        self.reports += results
        return results

    def seconds_to_next(self) -> float:
        """How long until the next schedule is due."""
        return max(min(schedule.next_due for schedule in self.schedules) - self.clock(), 0.0)

    @classmethod
    def connect(cls, settings: Settings, *, package: Path, every: timedelta | None = None) -> LocalScheduler:
        """The schedules deployed for the publisher, run with its own package; the contract's sweep without them."""
        deployed = _deployed(settings)
        if deployed is not None:
            configuration, schedules = deployed
            function: Invoke = PackagedFunction(package, configuration, aws.client("scheduler").meta.endpoint_url)
            timeout = float(configuration.get("Timeout", FUNCTION_TIMEOUT_SECONDS))
            how = f"the deployed schedules run the function {configuration.get('FunctionName')} from {package.name}"
        else:
            interval = rate_interval(SWEEP_SCHEDULE)
            schedules = [LocalSchedule("sweep (contract.json)", interval, SweepRequest().to_event())]
            function = publisher_handler(publisher_environment(settings))
            timeout = FUNCTION_TIMEOUT_SECONDS
            how = "no schedule is deployed: the handler runs in this process with the contract's sweep"
        if every is not None:
            for schedule in schedules:
                schedule.interval = every
        return cls(function, schedules, timeout, how)


def _deployed(settings: Settings) -> tuple[Mapping[str, Any], list[LocalSchedule]] | None:
    """The publisher function's configuration and its enabled schedules, if Terraform deployed them."""
    function_name = f"{settings.name_prefix}-publisher"
    try:
        configuration = aws.lambda_client().get_function(FunctionName=function_name)["Configuration"]
        scheduler = aws.client("scheduler")
        names = [
            entry["Name"]
            for page in scheduler.get_paginator("list_schedules").paginate()
            for entry in page.get("Schedules", [])
        ]
    except ClientError:
        return None  # no function deployed by that name, or an endpoint without these APIs
    schedules = []
    for name in names:
        schedule = scheduler.get_schedule(Name=name)
        target = schedule.get("Target", {})
        if target.get("Arn") != configuration["FunctionArn"] or schedule.get("State", "ENABLED") != "ENABLED":
            continue
        event = json.loads(target.get("Input") or "{}")
        schedules.append(LocalSchedule(name, rate_interval(schedule["ScheduleExpression"]), event))
    return (configuration, schedules) if schedules else None
