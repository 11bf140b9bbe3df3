"""Which regions the source published in its newest week: one missing since last week, or a column it renamed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gas_alerts.prices import WeekPrices
from gas_publisher.contract import REGION_BY_ID, REGION_IDS


@dataclass(frozen=True)
class Coverage:
    """The newest week's regions against the week before's, and the source's columns that are no region."""

    published: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()

    @classmethod
    def of(cls, weeks: Sequence[WeekPrices]) -> Coverage:
        """The coverage of the newest of these weeks (oldest first)."""
        if not weeks:
            return cls()
        newest = weeks[-1]
        before = weeks[-2].prices if len(weeks) > 1 else {}
        missing = tuple(region for region in REGION_IDS if region in before and region not in newest.prices)
        unknown = tuple(dict.fromkeys(name for week in weeks[-2:] for name in week.unknown))
        return cls(tuple(region for region in REGION_IDS if region in newest.prices), missing, unknown)

    @property
    def message(self) -> str:
        """'16 of 17 regions published; missing: New York City', and any unknown column; '' when all is well."""
        parts = []
        if self.missing:
            names = ", ".join(REGION_BY_ID[region].name for region in self.missing)
            total = len(self.published) + len(self.missing)
            parts.append(f"{len(self.published)} of {total} regions published; missing: {names}")
        if self.unknown:
            parts.append(
                f"unknown column{'s' if len(self.unknown) > 1 else ''} in the source: {', '.join(self.unknown)}"
            )
        return "; ".join(parts)
