"""What a check or a backfill did, in the words a person reads in the terminal and the Prefect UI."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from gas_alerts.compare import BackfillPlan, CheckPlan
from gas_alerts.coverage import Coverage
from gas_alerts.store import PutOutcome, WriteResult
from gas_publisher.contract import REGION_BY_ID, REGION_IDS


@dataclass(frozen=True)
class CheckSummary:
    """The outcome of one check, for people and for the demo."""

    newest_week: date | None
    written: list[date] = field(default_factory=list)
    baseline: bool = False
    # (week, region) of every fall told by this check, in week order.
    alerts: tuple[tuple[date, str], ...] = ()
    revised: list[date] = field(default_factory=list)
    # "week region price: reason" for each value the data-quality guard held in the weeks written.
    held: tuple[str, ...] = ()
    # (week, region) of the falls in stored weeks that became known now (a region filled in, a value corrected).
    late: tuple[tuple[date, str], ...] = ()
    # New weeks more than 14 days older than the source's newest week: stored without alert.
    history: tuple[date, ...] = ()
    # (week, region) of falls first seen in stored weeks more than 14 days older than the newest: history too.
    late_history: tuple[tuple[date, str], ...] = ()
    # The newest week's regions against the week before's, and any column that is no region.
    coverage: str = ""
    # The source's newest week, when it was older than the table's newest (then nothing was written).
    older_source: date | None = None
    # Why the source looks stale (its newest week is older than its alarm allows), for a warning line; '' when not.
    stale_source: str = ""

    @classmethod
    def of(
        cls, plan: CheckPlan, result: WriteResult, coverage: Coverage | None = None, stale_source: str = ""
    ) -> CheckSummary:
        """Combine the plan and what was written."""
        newest = plan.newest
        written = plan.writes if result.written else ()
        told = [(record, (record.week, region)) for record in result.alerting for region in record.news]
        return cls(
            newest_week=newest.week if newest else plan.latest_stored,
            written=result.written,
            baseline=plan.baseline,
            alerts=tuple(fall for _, fall in told),
            revised=result.revised,
            late=tuple(fall for record, fall in told if record.late_regions),
            history=tuple(plan.history) if result.written else (),
            late_history=() if result.conflict else tuple(plan.late_history),
            coverage=coverage.message if coverage else "",
            older_source=plan.source_newest if plan.older_source else None,
            stale_source=stale_source,
            held=tuple(
                f"{record.week} {REGION_BY_ID[region].name} {record.prices[region]}: {reason}"
                for record in written
                for region, reason in record.suspect.items()
            ),
        )

    @property
    def message(self) -> str:
        """One line a person reads in the UI or the terminal."""
        fresh = [fall for fall in self.alerts if fall not in self.late]
        if self.older_source is not None:
            outcome = (
                f"Nothing written: the source's newest week {self.older_source} is older than the table's "
                f"newest {self.newest_week}"
            )
        elif self.baseline and self.written:
            outcome = f"Baseline stored ({self.newest_week})"
        elif not self.written:
            outcome = "No new week"
        else:
            weeks = f"{len(self.written)} new weeks" if len(self.written) > 1 else "New week"
            outcome = f"{weeks} (newest {self.newest_week}), {counted(len(fresh), 'alert')}"
            alerted_weeks = {week for week, _ in fresh}
            if len(alerted_weeks) > 1:
                outcome += f" in {len(alerted_weeks)} weeks"
        if self.history:
            outcome += f"; {counted(len(self.history), 'week')} older than 14 days stored without alert"
        if self.late_history:
            values = ", ".join(f"{REGION_BY_ID[region].name}, week of {week}" for week, region in self.late_history)
            outcome += f"; {counted(len(self.late_history), 'late value')} stored as history: {values}"
        if self.revised:
            count = len(self.revised)
            outcome += f"; the source revised {count} stored week{'s' if count > 1 else ''}"
        if self.late:
            names = ", ".join(f"{REGION_BY_ID[region].name} ({week})" for week, region in self.late)
            outcome += f"; falls that became known late, alerted now: {names}"
        if self.held:
            count = len(self.held)
            outcome += f"; {count} value{'s' if count > 1 else ''} held as suspect (see the logs)"
        if self.coverage:
            outcome += f"; {self.coverage}"
        return outcome


@dataclass(frozen=True)
class BackfillSummary:
    """The outcome of one backfill, for the terminal, the Prefect UI and the tests."""

    written: int
    skipped: int
    revised: list[date] = field(default_factory=list)
    left_to_check: list[date] = field(default_factory=list)
    regions: tuple[str, ...] = ()
    first_week: date | None = None
    last_week: date | None = None
    write_calls: int = 0

    @classmethod
    def of(cls, plan: BackfillPlan, revised: Sequence[date], put: PutOutcome) -> BackfillSummary:
        """Combine the plan and what was written (a week another writer stored first counts as skipped)."""
        return cls(
            written=len(put.written),
            skipped=len(plan.skipped) + len(put.already_stored),
            revised=list(revised),
            left_to_check=list(plan.left_to_check),
            regions=plan.regions,
            first_week=plan.first_week,
            last_week=plan.last_week,
            write_calls=put.calls,
        )

    @property
    def message(self) -> str:
        """One line a person reads."""
        span = f" ({self.first_week} → {self.last_week})" if self.first_week else ""
        left = f", {len(self.left_to_check)} newer weeks left to the weekly check" if self.left_to_check else ""
        return (
            f"Backfill{span}: {self.written} weeks written, {self.skipped} already stored, "
            f"{len(self.revised)} revised, {len(self.regions)} regions{left}"
        )

    def rows(self) -> list[tuple[str, str]]:
        """The summary as label/value pairs, for a table."""
        return [
            ("Weeks written", str(self.written)),
            ("Weeks already stored (skipped)", str(self.skipped)),
            ("Weeks revised", ", ".join(map(str, self.revised)) or "none"),
            ("Newer weeks left to the weekly check", ", ".join(map(str, self.left_to_check)) or "none"),
            ("Regions", f"{len(self.regions)}: {', '.join(self.regions)}"),
            ("Source weeks", f"{self.first_week} → {self.last_week}" if self.first_week else "none"),
            ("TransactWriteItems calls (conditional puts)", str(self.write_calls)),
        ]


def describe_drops(plan: CheckPlan) -> str:
    """'3 of 17 regions dropped; New York City 3.45 → 3.38, ...' for the newest week."""
    newest = plan.newest
    if newest is None or newest.previous_week is None:
        return "no comparison"
    moves = ", ".join(f"{REGION_BY_ID[r].name} {newest.previous_prices[r]} → {newest.prices[r]}" for r in newest.drops)
    return f"{len(newest.drops)} of {len(REGION_IDS)} regions dropped" + (f"; {moves}" if moves else "")


def counted(number: int, noun: str) -> str:
    """'1 alert', '3 alerts': a number and its noun, plural unless it is one."""
    return f"{number} {noun}" + ("" if number == 1 else "s")
