"""`gas-alerts sweep`: the publisher's scheduled sweep, run once here, with the deployed function's environment."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

from gas_alerts.settings import Settings
from gas_ops.publisher import publisher_environment, publisher_handler
from gas_ops.stream import InvocationContext
from gas_publisher.sweep import SweepRequest

# A sweep run by hand may take longer than the function's 60 s: it then sends everything in one go.
CLI_TIMEOUT_SECONDS = 15 * 60
DURATION = re.compile(r"(?P<number>\d+)(?P<unit>[smhd]?)")
UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86_400}


class DurationError(ValueError):
    """A duration that is not a whole number with an optional unit."""


def parse_duration(text: str) -> timedelta:
    """'0', '90s', '30m', '2h' or '1d' as a timedelta (a bare number is seconds)."""
    found = DURATION.fullmatch(text.strip().lower())
    if found is None:
        raise DurationError(f"{text[:40]!r} is not a duration: use a whole number with s, m, h or d, such as 30m or 0")
    return timedelta(seconds=int(found["number"]) * UNIT_SECONDS[found["unit"]])


def run_sweep(settings: Settings, request: SweepRequest) -> dict[str, Any]:
    """Invoke the publisher's handler here with the sweep's event, as the schedule does; its report."""
    handler = publisher_handler(publisher_environment(settings))
    context = InvocationContext(
        function_name="gas-alerts sweep",
        invoked_function_arn=f"gas-alerts sweep {uuid.uuid4()}",
        timeout_seconds=CLI_TIMEOUT_SECONDS,
    )
    report: dict[str, Any] = handler(request.to_event(), context)
    return report
