"""Falls the table says were told but the sent ledger does not hold: what a lost stream batch left unsent."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

from gas_alerts.store import PriceTable, StoredItemError
from gas_publisher.digest import DIGEST, late_digest_name
from gas_publisher.ledger import SentLedger
from gas_publisher.week import WeekRecord


def expected_messages(weeks: Iterable[WeekRecord], late: Iterable[WeekRecord]) -> dict[date, tuple[str, ...]]:
    """The ledger names each week's items ask for: a flagged week's own falls and digest, each late item's too.

    A week item's own falls are the regions it told when it was stored: its told regions less the late items'.
    """
    late_by_week: dict[date, list[WeekRecord]] = {}
    for record in late:
        late_by_week.setdefault(record.week, []).append(record)
    expected: dict[date, tuple[str, ...]] = {}
    for record in weeks:
        items = late_by_week.pop(record.week, [])
        later = {region for item in items for region in item.late_regions}
        names: list[str] = []
        if record.alert:
            names += [region for region in record.told_regions if region not in later] + [DIGEST]
        for item in items:
            names += [*item.late_regions, late_digest_name(item.late_regions)]
        if names:
            expected[record.week] = tuple(names)
    return expected


@dataclass(frozen=True)
class Unsent:
    """The told messages the sent ledger lacks, by week, and the stored items that could not be read for it."""

    missing: Mapping[date, tuple[str, ...]] = field(default_factory=dict)
    # One line per malformed late item, naming the table and its keys: its messages are not counted.
    unreadable: tuple[str, ...] = ()


def unsent(table: PriceTable, ledger: SentLedger, weeks: int) -> Unsent:
    """For each of the newest `weeks` stored weeks, the told messages the sent ledger does not hold.

    A malformed late item is named and left out, so the rest is still reported.
    """
    stored = table.recent_weeks(weeks)
    if not stored:
        return Unsent()
    malformed: list[StoredItemError] = []
    late = table.late_items(min(record.week for record in stored), on_malformed=malformed.append)
    expected = expected_messages(stored, late)
    sent = ledger.read(expected)
    missing = _missing(expected, {week: entry.sent for week, entry in sent.items()})
    return Unsent(missing, tuple(str(error) for error in malformed))


def _missing(
    expected: Mapping[date, tuple[str, ...]], sent: Mapping[date, frozenset[str]]
) -> dict[date, tuple[str, ...]]:
    missing = {
        week: tuple(name for name in names if name not in sent.get(week, frozenset()))
        for week, names in sorted(expected.items())
    }
    return {week: names for week, names in missing.items() if names}
