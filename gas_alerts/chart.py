"""A picture of the prices: each region's weekly price as SVG, with the weeks that alerted and the values held.

Seventeen small panels share one price range, so a height means the same dollars in every region. The SVG is
written here, in a couple of hundred lines, rather than by a charting library: the picture is lines and dots, the
domain stays pure Python, and the check, the demo and replay draw it without a new dependency.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import TypeAlias
from xml.sax.saxutils import escape

from gas_alerts.prices import WeekPrices
from gas_publisher.contract import REGIONS
from gas_publisher.week import WeekRecord

# A year of weeks: what the check's chart shows of the stored history.
CHART_WEEKS = 52
# Three panels a row: the Prefect UI shows an artifact about 650 px wide, so the text keeps 9 px or more there.
COLUMNS = 3
WIDTH = 780
HEADER = 58
# Each line of a note adds this much to the header.
NOTE_LINE = 16
PANEL_W, PANEL_H = WIDTH // COLUMNS, 140
# The plot inside a panel: room for the region's name above, dollar labels left and month labels below.
PLOT_X, PLOT_Y, PLOT_W, PLOT_H = 48, 32, 200, 84
# Dollar steps for the grid lines; the smallest that draws at most this many lines is used.
PRICE_STEPS = (Decimal("0.05"), Decimal("0.1"), Decimal("0.25"), Decimal("0.5"), Decimal(1), Decimal(2))
MAX_PRICE_LINES = 6
MONTH_STEPS = (1, 2, 3, 6, 12, 24, 36, 60)
MAX_MONTH_TICKS = 4
RADIUS = {"alerted": 2.8, "held": 3.6}
# About as many characters of 12 px text as fit across the chart; a note takes at most two such lines.
NOTE_WIDTH = 120
# Colours chosen for a dark card, so the chart reads the same in the Prefect UI's dark and light themes.
STYLE = (
    "text{font:12px system-ui,sans-serif;fill:#cbd5e1}"
    ".bg{fill:#0f172a}.panel{fill:#1e293b}.grid{stroke:#334155;stroke-width:1}"
    ".title{font-size:17px;font-weight:600;fill:#f1f5f9}.name{font-size:13px;font-weight:600;fill:#f1f5f9}"
    ".note{fill:#94a3b8}.price{fill:none;stroke:#60a5fa;stroke-width:1.6;stroke-linejoin:round}"
    ".muted .price{stroke:#64748b}.alerted{fill:#4ade80;stroke:#0f172a;stroke-width:.8}"
    ".held{fill:none;stroke:#f472b6;stroke-width:1.6}"
)

DayScale: TypeAlias = Callable[[date], float]
PriceScale: TypeAlias = Callable[[Decimal], float]


@dataclass(frozen=True)
class ChartWeek:
    """One week on the chart: each region's price, the regions whose fall alerted, and the values held (reasons)."""

    week: date
    prices: Mapping[str, Decimal]
    alerted: frozenset[str] = frozenset()
    held: Mapping[str, str] = field(default_factory=dict)


def alerted_regions(record: WeekRecord) -> frozenset[str]:
    """The regions whose fall in a stored week was sent: every region an alerting week told.

    A week stored without alert (baseline, backfill, history) told its falls silently; a fall told late in such a
    week is known only to its late item, which the chart does not read.
    """
    return frozenset(record.told_regions) if record.alert else frozenset()


def chart_weeks(
    records: Iterable[WeekRecord],
    source: Iterable[WeekPrices] = (),
    late: Iterable[WeekRecord] = (),
    limit: int = CHART_WEEKS,
) -> list[ChartWeek]:
    """The newest `limit` weeks, oldest first: the stored weeks with what they told and held.

    The late items add the falls they told; a source week that is not stored adds its prices alone (a table that
    holds fewer weeks than the chart).
    """
    told_late: dict[date, set[str]] = {}
    for item in late:
        told_late.setdefault(item.week, set()).update(item.late_regions)
    weeks = {week.week: ChartWeek(week.week, week.prices) for week in source}
    for record in records:
        alerted = alerted_regions(record) | told_late.get(record.week, set())
        weeks[record.week] = ChartWeek(record.week, record.prices, alerted, dict(record.suspect))
    return [weeks[day] for day in sorted(weeks)[-limit:]]


def price_chart(weeks: Sequence[ChartWeek], *, title: str, note: str = "", muted: Collection[str] = ()) -> str:
    """The SVG document: one panel per region, its line of trusted prices, a dot per alert and a ring per held value.

    `note` goes under the line that gives the weeks (two lines at most); regions in `muted` (outside a subscriber's
    filter) are drawn in grey.
    """
    notes = textwrap.wrap(note, NOTE_WIDTH, max_lines=2, placeholder=" …")
    header = HEADER + NOTE_LINE * len(notes)
    rows = math.ceil((len(REGIONS) + 1) / COLUMNS)
    height = header + rows * PANEL_H
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}">',
        f"<style>{STYLE}</style>",
        f'<rect class="bg" width="{WIDTH}" height="{height}" rx="8"/>',
        f'<text class="title" x="16" y="26">{escape(title)}</text>',
    ]
    trusted = [price for week in weeks for region, price in week.prices.items() if region not in week.held]
    if not trusted:
        return "".join([*parts, '<text class="note" x="16" y="48">No prices to draw.</text></svg>'])
    low, high, step = price_range(min(trusted), max(trusted))
    first, last = weeks[0].week, weeks[-1].week
    span = (last - first).days

    def x(day: date) -> float:
        return PLOT_X + (PLOT_W * (day - first).days / span if span else PLOT_W / 2)

    def y(price: Decimal) -> float:
        return PLOT_Y + PLOT_H * float((high - min(max(price, low), high)) / (high - low))

    parts += [
        f'<text class="note" x="16" y="46">{_span(weeks)}, all on one $/gal scale</text>',
        *(
            f'<text class="note" x="16" y="{46 + NOTE_LINE * (n + 1)}">{escape(line)}</text>'
            for n, line in enumerate(notes)
        ),
        _grid((low, high, step), (first, last), x, y),
    ]
    for index, region in enumerate(REGIONS):
        left, top = (index % COLUMNS) * PANEL_W, header + (index // COLUMNS) * PANEL_H
        priced = [week for week in weeks if region.id in week.prices]
        alerted = [week for week in priced if region.id in week.alerted]
        held = [week for week in priced if region.id in week.held]
        latest = f"${priced[-1].prices[region.id]:.2f}" if priced else "no price"
        count = f"{len(alerted)} alert{'s' * (len(alerted) != 1)}"
        parts += [
            f'<g class="series{" muted" * (region.id in muted)}" data-region="{region.id}" '
            f'transform="translate({left},{top})">',
            f'<rect class="panel" x="4" y="4" width="{PANEL_W - 8}" height="{PANEL_H - 8}" rx="4"/><use href="#grid"/>',
            f'<text class="name" x="12" y="22">{escape(region.name)}</text>',
            f'<text class="note" x="{PANEL_W - 12}" y="22" text-anchor="end">{latest} · {count}</text>',
            f'<path class="price" d="{_path(weeks, region.id, x, y)}"/>',
        ]
        marks = [(week, f"{week.week} ${week.prices[region.id]:.2f}") for week in alerted]
        parts.append(_marks("alerted", marks, region.id, x, y))
        marks = [(week, f"{week.week} ${week.prices[region.id]:.2f} held: {week.held[region.id]}") for week in held]
        parts.append(_marks("held", marks, region.id, x, y))
        parts.append("</g>")
    return "".join([*parts, _legend(len(REGIONS), header, muted=bool(muted)), "</svg>"])


def _span(weeks: Sequence[ChartWeek]) -> str:
    return f"{len(weeks)} week{'s' * (len(weeks) != 1)}, {weeks[0].week} to {weeks[-1].week}"


def price_range(low: Decimal, high: Decimal) -> tuple[Decimal, Decimal, Decimal]:
    """The chart's range widened to whole grid steps, and the smallest step that draws at most a few grid lines."""
    for step in PRICE_STEPS:
        bottom = (low / step).to_integral_value(ROUND_FLOOR) * step
        top = max((high / step).to_integral_value(ROUND_CEILING) * step, bottom + step)
        if (top - bottom) / step < MAX_PRICE_LINES or step == PRICE_STEPS[-1]:
            break
    return bottom, top, step


def month_ticks(first: date, last: date) -> list[date]:
    """The first days of months after the first week, every few months, so that a panel has at most a few."""
    months = (last.year - first.year) * 12 + last.month - first.month
    step = next((step for step in MONTH_STEPS if months / step <= MAX_MONTH_TICKS), MONTH_STEPS[-1])
    ticks = []
    month = first.year * 12 + first.month  # counted from 0, so this is the month after the first week's
    while (tick := date(month // 12, month % 12 + 1, 1)) <= last:
        if month % step == 0:
            ticks.append(tick)
        month += 1
    return ticks


def _path(weeks: Sequence[ChartWeek], region: str, x: DayScale, y: PriceScale) -> str:
    """The line through a region's trusted prices: it passes over a held value and breaks where a week has none."""
    commands: list[str] = []
    move = True
    for week in weeks:
        price = week.prices.get(region)
        if price is None:
            move = True
        elif region not in week.held:
            commands.append(f"{'M' if move else 'L'}{x(week.week):.1f} {y(price):.1f}")
            move = False
    return "".join(commands)


def _marks(kind: str, marks: Sequence[tuple[ChartWeek, str]], region: str, x: DayScale, y: PriceScale) -> str:
    """A group of dots on a region's prices, each titled with its week (a browser shows it on hovering)."""
    dots = "".join(
        f'<circle cx="{x(week.week):.1f}" cy="{y(week.prices[region]):.1f}" r="{RADIUS[kind]}">'
        f"<title>{escape(note)}</title></circle>"
        for week, note in marks
    )
    return f'<g class="{kind}">{dots}</g>' if dots else ""


def _grid(prices: tuple[Decimal, Decimal, Decimal], span: tuple[date, date], x: DayScale, y: PriceScale) -> str:
    """The grid every panel shares (defined once, used by each): a line per dollar step and a tick per few months."""
    lines = []
    price, high, step = prices
    while price <= high:
        level = y(price)
        lines.append(f'<line class="grid" x1="{PLOT_X}" x2="{PLOT_X + PLOT_W}" y1="{level:.1f}" y2="{level:.1f}"/>')
        lines.append(f'<text x="{PLOT_X - 4}" y="{level + 4:.1f}" text-anchor="end">${price:.2f}</text>')
        price += step
    ticks = month_ticks(*span)
    yearly = len(ticks) > 1 and (ticks[1] - ticks[0]).days > 300
    for tick in ticks:
        label = str(tick.year) if yearly else tick.strftime("%b %Y" if tick.month == 1 else "%b")
        lines.append(f'<line class="grid" x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="{PLOT_Y}" y2="{PLOT_Y + PLOT_H}"/>')
        lines.append(f'<text x="{x(tick):.1f}" y="{PLOT_Y + PLOT_H + 13}" text-anchor="middle">{label}</text>')
    return f'<defs><g id="grid">{"".join(lines)}</g></defs>'


def _legend(cell: int, header: int, *, muted: bool) -> str:
    """The legend, in the grid cells after the last region's."""
    left, top = (cell % COLUMNS) * PANEL_W + 16, header + (cell // COLUMNS) * PANEL_H + 26
    return (
        f'<g class="legend" transform="translate({left},{top})">'
        '<path class="price" d="M0 0h22"/><text x="30" y="4">price, $/gal</text>'
        f'<circle class="alerted" cx="11" cy="24" r="{RADIUS["alerted"] + 1}"/>'
        '<text x="30" y="28">fell: alerted</text>'
        f'<circle class="held" cx="11" cy="48" r="{RADIUS["held"] + 1}"/>'
        '<text x="30" y="52">held by the guard</text>'
        + (
            '<g class="muted"><path class="price" d="M0 72h22"/></g><text x="30" y="76">outside the filter</text>'
            * muted
        )
        + "</g>"
    )
