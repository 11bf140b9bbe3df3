"""The demo's closing summary counts region alerts and weekly digests apart."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from gas_local.demo import DemoReport, WeekOutcome
from gas_local.outbox import DeliveredAlert
from gas_publisher.contract import ATTR_DROP_CENTS, ATTR_LARGEST_DROP_CENTS, ATTR_REGION, ATTR_REGIONS_FALLEN

SENT_AT = datetime(2026, 3, 2, 12, tzinfo=UTC)


def email(attributes: dict[str, str]) -> tuple[DeliveredAlert, Path]:
    """A delivered message with these attributes, and where the outbox put it."""
    return DeliveredAlert("id", "subject", "body", attributes, SENT_AT), Path("outbox/x.eml")


def test_the_summary_counts_alerts_and_digests_apart() -> None:
    """GIVEN a week with 3 region alerts and its digest WHEN summed up THEN 3 alerts and 1 digest, not 4 alerts."""
    alerts = [email({ATTR_REGION: region, ATTR_DROP_CENTS: "1"}) for region in ("albany", "ithaca", "batavia")]
    digest = email({ATTR_REGIONS_FALLEN: "3", ATTR_LARGEST_DROP_CENTS: "1"})
    report = DemoReport(weeks=[WeekOutcome(date(2026, 3, 2), "New week", 1, [*alerts, digest])])

    assert (report.alerts_sent, report.digests_sent) == (3, 1)
