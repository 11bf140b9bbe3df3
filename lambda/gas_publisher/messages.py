"""What an item flagged for alerting tells: one alert per fallen region and the digest of them."""

from __future__ import annotations

from gas_publisher.alert import Alert, alerts_for, falls_for
from gas_publisher.digest import Digest
from gas_publisher.week import MalformedItemError, WeekRecord

Message = Alert | Digest


def messages_for(record: WeekRecord) -> list[Message]:
    """The item's alerts and its digest; MalformedItemError when a flagged item names no drop it can show.

    A late item alerts its own regions; its digest names every fall of the week so far (Digest).
    """
    alerts = alerts_for(record)
    if not alerts:
        raise MalformedItemError("flagged for alerting, but names no drop")
    return [*alerts, Digest.of(falls_for(record), new=record.late_regions)]
