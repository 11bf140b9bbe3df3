"""`make demo`: replay recent weeks of the real data through the real flow, stream, handler and SNS, offline."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from gas_alerts import aws
from gas_alerts.chart import CHART_WEEKS, chart_weeks, price_chart
from gas_alerts.prices import WeekPrices, parse_rows
from gas_alerts.run_report import chart_title
from gas_alerts.settings import Settings
from gas_alerts.source import rows_from_csv
from gas_alerts.store import PriceTable
from gas_local.delivery import LocalDelivery
from gas_local.moto_server import local_aws
from gas_local.outbox import DeliveredAlert
from gas_local.provision import provision
from gas_local.socrata import local_socrata

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
DEMO_DATA = DATA_DIR / "ny_gas_prices_weekly_2017_2026.csv"


@dataclass
class WeekOutcome:
    """What happened when one replayed week was checked and delivered."""

    week: date
    message: str
    written: int
    alerts: list[tuple[DeliveredAlert, Path]] = field(default_factory=list)
    rerun: bool = False


@dataclass
class DemoReport:
    """Everything the demo's closing summary shows."""

    weeks: list[WeekOutcome] = field(default_factory=list)
    rerun: WeekOutcome | None = None
    http_requests: int = 0
    seconds: float = 0.0
    outbox: Path = Path()
    # The chart of the demo's weeks, beside its emails.
    chart: Path | None = None

    @property
    def items_written(self) -> int:
        """Week items the flow wrote."""
        return sum(outcome.written for outcome in self.weeks) + (self.rerun.written if self.rerun else 0)

    @property
    def alerts_sent(self) -> int:
        """Region alert emails delivered to the outbox."""
        return sum(not alert.is_digest for alert in self._delivered())

    @property
    def digests_sent(self) -> int:
        """Weekly digest emails delivered to the outbox."""
        return sum(alert.is_digest for alert in self._delivered())

    def _delivered(self) -> list[DeliveredAlert]:
        outcomes = [*self.weeks, *([self.rerun] if self.rerun else [])]
        return [alert for outcome in outcomes for alert, _ in outcome.alerts]


def demo_weeks(rows: list[dict[str, Any]], count: int) -> list[date]:
    """The newest `count` weeks of the bundled data, oldest first."""
    weeks = [week.week for week in parse_rows(rows, today=date.today())]
    return weeks[-count:]


def write_chart(table: PriceTable, history: list[WeekPrices], outbox: Path) -> Path:
    """Draw the demo's table as its checks left it, beside the emails; the bundled data fills in the weeks before.

    The dots are the falls the demo's checks told, so each has its .eml file in the outbox.
    """
    stored = table.recent_weeks(CHART_WEEKS)
    first = min(record.week for record in stored)
    newest = max(record.week for record in stored)
    weeks = chart_weeks(stored, source=[week for week in history if week.week <= newest], late=table.late_items(first))
    note = "The dots are the emails this demo sent; the bundled data fills in the weeks before its first check."
    outbox.mkdir(parents=True, exist_ok=True)
    path = outbox / f"prices-{newest}.svg"
    path.write_text(price_chart(weeks, title=chart_title(weeks), note=note), encoding="utf-8")
    return path


def run_demo(
    *,
    weeks: int,
    settings: Settings,
    verbose: bool = False,
    on_progress: Callable[[str], None] = lambda _: None,
    on_week: Callable[[WeekOutcome], None] = lambda _: None,
) -> DemoReport:
    """Replay the newest `weeks` weeks one by one, then re-run the last one to show it is a no-op."""
    from flows.check_prices import check_gas_prices

    started = time.perf_counter()
    rows = rows_from_csv(DEMO_DATA.read_text(encoding="utf-8"))
    replay = demo_weeks(rows, weeks)
    report = DemoReport(outbox=settings.outbox)
    with tempfile.TemporaryDirectory(prefix="gas-alerts-demo-") as state, local_aws(), local_socrata(rows) as socrata:
        demo_settings = Settings(**{**settings.__dict__, "state_dir": Path(state)})
        on_progress("Creating the table, stream, topic and inbox on the local AWS (moto)")
        provision(demo_settings)
        delivery = LocalDelivery.connect(demo_settings, log_level="INFO" if verbose else "WARNING")
        for index, week in enumerate([*replay, replay[-1]]):
            socrata.reveal_until(week)
            if index == 0:
                on_progress("Starting Prefect's embedded server (about 12 s, once)")
            summary = check_gas_prices(source=socrata.url, table_name=demo_settings.table_name)
            _, delivered = delivery.deliver_once()
            outcome = WeekOutcome(week, summary.message, len(summary.written), delivered, rerun=index >= len(replay))
            if index < len(replay):
                report.weeks.append(outcome)
            else:
                report.rerun = outcome
            on_week(outcome)
        report.http_requests = len(socrata.requests)
        on_progress("Drawing the chart")
        table = PriceTable(aws.dynamodb(), demo_settings.table_name)
        report.chart = write_chart(table, parse_rows(rows, today=date.today()), settings.outbox)
    report.seconds = time.perf_counter() - started
    return report
