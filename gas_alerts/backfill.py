"""Loads the whole price history into the table: paged reads, week items like the weekly check's, batched writes."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import httpx

from gas_alerts.compare import Revision, find_drops, find_revision
from gas_alerts.prices import SourceDataError, WeekPrices, parse_rows
from gas_alerts.source import TIMEOUT, fetch_json_rows, is_url, load_rows
from gas_alerts.store import PriceTable
from gas_publisher.batching import batch_put
from gas_publisher.contract import REGION_BY_ID, REGION_IDS
from gas_publisher.week import WeekRecord

# The API's own default page; the full history (about 900 weeks) fits in one.
PAGE_SIZE = 1000
ORIGIN = "backfill"

# (weeks written so far, weeks to write)
ProgressListener = Callable[[int, int], None]

# The flow's parameters must stay plain values for its deployment, so a terminal listens here instead.
_listeners: list[ProgressListener] = []


@contextmanager
def listening_to_progress(listener: ProgressListener) -> Iterator[None]:
    """Call `listener(done, total)` whenever a backfill in this process writes a batch."""
    _listeners.append(listener)
    try:
        yield
    finally:
        _listeners.remove(listener)


def report_progress(done: int, total: int) -> None:
    """Tell every listener how far the writes are."""
    for listener in list(_listeners):
        listener(done, total)


def fetch_history_rows(
    url: str,
    *,
    since: date | None = None,
    page_size: int = PAGE_SIZE,
    app_token: str | None = None,
    http: httpx.Client | None = None,
) -> list[Any]:
    """Every row of the Socrata API, newest first, page by page; with `since`, down to the week before it."""
    rows: list[Any] = []
    owned = http is None
    client = http or httpx.Client(timeout=TIMEOUT, follow_redirects=True)
    try:
        while True:
            page = fetch_json_rows(url, limit=page_size, offset=len(rows), app_token=app_token, http=client)
            if not isinstance(page, list):
                raise SourceDataError(f"expected a JSON list of rows at offset {len(rows)}, got {type(page).__name__}")
            rows.extend(page)
            # Newest first: once a page reaches past `since`, the week before it is already in hand.
            if len(page) < page_size or (since is not None and _row_day(page[-1]) < since.isoformat()):
                return rows
    finally:
        if owned:
            client.close()


def _row_day(row: object) -> str:
    """The row's ISO day, or '' when it has none (validation names that later)."""
    return str(row.get("date", ""))[:10] if isinstance(row, Mapping) else ""


def load_history(
    source: str,
    *,
    since: date | None = None,
    today: date | None = None,
    page_size: int = PAGE_SIZE,
    app_token: str | None = None,
) -> list[WeekPrices]:
    """Validated weeks, oldest first, from the API (paged) or a CSV; with `since`, from the week before it on."""
    if is_url(source) and not source.split("?", 1)[0].endswith(".csv"):
        rows = fetch_history_rows(source, since=since, page_size=page_size, app_token=app_token)
    else:
        rows = load_rows(source, limit=page_size, app_token=app_token)
    weeks = parse_rows(rows, today=today or date.today())
    if since is None:
        return weeks
    first = next((index for index, week in enumerate(weeks) if week.week >= since), len(weeks))
    return weeks[max(first - 1, 0) :]


@dataclass(frozen=True)
class BackfillPlan:
    """What a backfill will write: missing weeks oldest first, revisions of stored weeks, and what it skips."""

    writes: Sequence[WeekRecord] = ()
    revisions: Sequence[Revision] = ()
    skipped: Sequence[date] = ()
    left_to_check: Sequence[date] = ()
    regions: tuple[str, ...] = ()
    first_week: date | None = None
    last_week: date | None = None


def plan_backfill(
    history: Sequence[WeekPrices],
    stored: Sequence[WeekRecord],
    *,
    since: date | None = None,
    recorded_at: str = "",
) -> BackfillPlan:
    """Plan silent week items for the missing weeks and revisions for the stored weeks the source changed."""
    # Like the weekly check, each week is compared with the newest earlier week at its current source
    # value (the stored one if the source no longer has that week), so a corrected error is no drop.
    ordered = sorted(history, key=lambda week: week.week)
    stored_by_week = {record.week: record for record in stored}
    known: dict[date, Mapping[str, Decimal]] = {week: record.prices for week, record in stored_by_week.items()}
    known.update({week.week: week.prices for week in ordered})
    days = sorted(known)
    revisions = [
        revision
        for week in ordered
        if week.week in stored_by_week
        if (revision := find_revision(stored_by_week[week.week], week)) is not None
    ]
    targets = [week for week in ordered if since is None or week.week >= since]
    # Weeks newer than the newest one the weekly check stored are its to write, and to alert on.
    checked_until = max((day for day, record in stored_by_week.items() if record.origin != ORIGIN), default=None)
    writes: list[WeekRecord] = []
    skipped: list[date] = []
    left_to_check: list[date] = []
    for week in targets:
        if checked_until is not None and week.week > checked_until:
            left_to_check.append(week.week)
            continue
        if week.week in stored_by_week:
            skipped.append(week.week)
            continue
        position = bisect_left(days, week.week)
        previous = days[position - 1] if position else None
        previous_prices = known[previous] if previous is not None else {}
        writes.append(
            WeekRecord(
                week=week.week,
                prices=dict(week.prices),
                previous_week=previous,
                previous_prices=dict(previous_prices),
                drops=find_drops(week.prices, previous_prices) if previous is not None else (),
                alert=False,
                origin=ORIGIN,
                recorded_at=recorded_at,
            )
        )
    priced = {region for week in targets for region in week.prices}
    return BackfillPlan(
        writes=writes,
        revisions=revisions,
        skipped=skipped,
        left_to_check=left_to_check,
        regions=tuple(region for region in REGION_IDS if region in priced),
        first_week=targets[0].week if targets else None,
        last_week=targets[-1].week if targets else None,
    )


def write_weeks(table: PriceTable, records: Sequence[WeekRecord], on_batch: Callable[[int], None]) -> int:
    """Put the weeks with BatchWriteItem, 25 a call, oldest first; returns the number of calls."""
    items = [record.to_item() for record in records]
    return batch_put(table.client, table.name, items, on_call=on_batch)


def apply_revisions(table: PriceTable, revisions: Sequence[Revision], seen_at: str) -> list[date]:
    """Record each revision on its stored week (an update, never an alert); returns the weeks revised."""
    return [revision.week for revision in revisions if table.apply_revision(revision, seen_at)]


def describe_revision(revision: Revision) -> str:
    """'2023-02-13: Albany 3.85 → 3.57, ...' for logs and summaries."""
    changes = ", ".join(
        f"{REGION_BY_ID[region].name} {revision.old.get(region, '-')} → {price}"
        for region, price in sorted(revision.new.items())
    )
    return f"{revision.week}: {changes}"


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
            ("BatchWriteItem calls", str(self.write_calls)),
        ]


def summarize(plan: BackfillPlan, revised: Sequence[date], write_calls: int) -> BackfillSummary:
    """Combine the plan and what was written into the backfill's summary."""
    return BackfillSummary(
        written=len(plan.writes),
        skipped=len(plan.skipped),
        revised=list(revised),
        left_to_check=list(plan.left_to_check),
        regions=plan.regions,
        first_week=plan.first_week,
        last_week=plan.last_week,
        write_calls=write_calls,
    )
