"""What a check shows in the Prefect UI: the price table, the price chart, the trend sparkline and the drop events."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from gas_alerts.chart import ChartWeek, chart_weeks, price_chart
from gas_alerts.compare import CheckPlan
from gas_alerts.coverage import Coverage
from gas_alerts.prices import WeekPrices
from gas_alerts.summary import counted
from gas_alerts.table_model import TableModel
from gas_publisher.alert import Alert
from gas_publisher.contract import REGION_BY_ID, REGIONS, STATE_AVERAGE
from gas_publisher.week import Comparison, Revision, WeekRecord

NEW_YORK = ZoneInfo("America/New_York")
SPARK = "▁▂▃▄▅▆▇█"
DROP_EVENT = "gas-alerts.price.dropped"
SUSPECT_EVENT = "gas-alerts.data.suspect"
MISSING_REGION_EVENT = "gas-alerts.data.region-missing"
UNKNOWN_COLUMN_EVENT = "gas-alerts.data.unknown-column"
TABLE_ARTIFACT_KEY = "gas-prices-latest-week"
TREND_ARTIFACT_KEY = "gas-price-trend"
CHART_ARTIFACT_KEY = "gas-price-chart"


def run_name_for(week: date) -> str:
    """The flow run name for a checked week, e.g. week-2026-11-23."""
    return f"week-{week.isoformat()}"


def backfill_run_name(first: date, last: date) -> str:
    """A backfill run's name once its history is read, e.g. backfill-2017-01-02-2026-04-06."""
    return f"backfill-{first.isoformat()}-{last.isoformat()}"


def neutral_run_name(flow: str, now: datetime | None = None) -> str:
    """A run's name before the source says which weeks it has: when it started (New York time), never a week."""
    moment = (now or datetime.now(NEW_YORK)).astimezone(NEW_YORK)
    return f"{flow}-started-{moment:%Y-%m-%d-%H%M%S}"


def check_run_name() -> str:
    """A new check run's name; the run is renamed week-<newest week> once the source is read."""
    return neutral_run_name("check")


def backfill_start_name() -> str:
    """A new backfill run's name; renamed backfill-<first>-<last> once the history is read."""
    return neutral_run_name("backfill")


def price_rows(
    current: WeekPrices,
    previous: WeekPrices | None,
    alerted: Sequence[str],
    comparison: Comparison | None = None,
) -> list[dict[str, str]]:
    """One row per region: this week, the compared price, the change, whether it alerted, and what the guard held.

    With the week's stored comparison, each region is shown against its own base (an older week after a held
    value) and a held value shows its reason; without it, against the source's previous week.
    """
    rows = []
    for region in REGIONS:
        now = current.prices.get(region.id)
        if comparison is not None:
            before = comparison.previous_prices.get(region.id)
            since = comparison.since.get(region.id)
            held = comparison.suspect.get(region.id, "")
        else:
            before = previous.prices.get(region.id) if previous else None
            since, held = None, ""
        change = "" if now is None or before is None or held else f"{(now - before) * 100:+.0f}"
        status = "yes" if region.id in alerted else "no"
        rows.append(
            {
                "region": region.name,
                "this week ($/gal)": "" if now is None else f"{now:.2f}",
                "last week ($/gal)": "" if before is None else f"{before:.2f}" + (f" ({since})" if since else ""),
                "change (¢)": change,
                "alerted": status,
                "held (data quality)": held,
            }
        )
    return rows


def sparkline(values: Sequence[Decimal]) -> str:
    """A one-line chart of the values, lowest ▁ to highest █."""
    if not values:
        return ""
    low, high = min(values), max(values)
    span = high - low
    if span == 0:
        return SPARK[3] * len(values)
    return "".join(SPARK[int((value - low) / span * (len(SPARK) - 1))] for value in values)


def trend_markdown(weeks: Sequence[WeekPrices], revisions: Sequence[Revision] = ()) -> str:
    """Markdown for the state average over the window, with any revisions the source made."""
    priced = [(week.week, week.prices[STATE_AVERAGE]) for week in weeks if STATE_AVERAGE in week.prices]
    if not priced:
        return "No state average in the window."
    first, last = priced[0], priced[-1]
    lines = [
        f"## New York State average, {first[0]} → {last[0]}",
        "",
        f"`{sparkline([price for _, price in priced])}`  ${first[1]:.2f} → ${last[1]:.2f} "
        f"({(last[1] - first[1]) * 100:+.0f}¢ over {len(priced)} weeks)",
        "",
        "| week | $/gal |",
        "|---|---|",
        *(f"| {week} | {price:.2f} |" for week, price in priced),
    ]
    revised = [revision for revision in revisions if revision.changes_prices]
    if revised:
        lines += ["", "### Revised by the source this run", ""]
        lines += [f"- {revision.describe()}" for revision in revised]
    return "\n".join(lines)


def checked_weeks(fetched: Sequence[WeekPrices], stored: Sequence[WeekRecord], plan: CheckPlan) -> list[ChartWeek]:
    """The weeks a check's chart shows: the stored weeks as its writes leave them, and any the table lacks.

    Built from what the check read and wrote, so the chart costs no call to AWS. Call it only once the plan was
    written (a conflicting plan is not what the table holds).
    """
    table = TableModel({record.week: record for record in stored})
    table.apply(plan)
    return chart_weeks(table.weeks.values(), source=fetched, late=table.late)


def chart_title(weeks: Sequence[ChartWeek]) -> str:
    """The chart's heading: what it shows, up to which week."""
    return f"NY gasoline, $/gal by region, to the week of {weeks[-1].week}" if weeks else "NY gasoline, $/gal"


def chart_markdown(weeks: Sequence[ChartWeek]) -> str:
    """Markdown for the Prefect UI: the chart as an embedded image, and what it marks in words.

    The Prefect UI shows a markdown image whose source is a data: URL (both its UIs, checked in a browser); it
    strips an SVG written inline in markdown down to its text.
    """
    svg = price_chart(weeks, title=chart_title(weeks))
    image = base64.b64encode(svg.encode()).decode()
    alerts = sum(len(week.alerted) for week in weeks)
    held = sum(len(week.held) for week in weeks)
    return "\n".join(
        [
            f"![Each region's price over {len(weeks)} weeks, {alerts} alerts marked]"
            f"(data:image/svg+xml;base64,{image})",
            "",
            f"{counted(alerts, 'alert')} and {counted(held, 'held value')} in these {len(weeks)} weeks. "
            "Green dots: a fall that alerted; pink rings: a value the data-quality guard held.",
        ]
    )


def drop_event(alert: Alert) -> dict[str, Any]:
    """emit_event arguments for one drop: the region is the resource, so an automation can match it."""
    return {
        "event": DROP_EVENT,
        "resource": {
            "prefect.resource.id": f"gas-alerts.region.{alert.region}",
            "prefect.resource.name": alert.region_name,
        },
        "payload": {
            "week": alert.week.isoformat(),
            "price": str(alert.price),
            "previous_price": str(alert.previous_price),
            "drop_cents": str(alert.drop_cents),
            "subject": alert.subject,
        },
    }


def suspect_events(record: WeekRecord) -> list[dict[str, Any]]:
    """emit_event arguments for each value the guard held: the region is the resource, the reason the payload."""
    return [
        {
            "event": SUSPECT_EVENT,
            "resource": {
                "prefect.resource.id": f"gas-alerts.region.{region}",
                "prefect.resource.name": REGION_BY_ID[region].name,
            },
            "payload": {"week": record.week.isoformat(), "price": str(record.prices[region]), "reason": reason},
        }
        for region, reason in record.suspect.items()
    ]


def coverage_events(week: date, coverage: Coverage) -> list[dict[str, Any]]:
    """emit_event arguments for each region missing from the newest week, and each column that is no region."""
    missing = [
        {
            "event": MISSING_REGION_EVENT,
            "resource": {
                "prefect.resource.id": f"gas-alerts.region.{region}",
                "prefect.resource.name": REGION_BY_ID[region].name,
            },
            "payload": {"week": week.isoformat(), "message": coverage.message},
        }
        for region in coverage.missing
    ]
    unknown = [
        {
            "event": UNKNOWN_COLUMN_EVENT,
            "resource": {"prefect.resource.id": "gas-alerts.source", "prefect.resource.name": "the data source"},
            "payload": {"week": week.isoformat(), "column": name},
        }
        for name in coverage.unknown
    ]
    return missing + unknown
