"""The alert email: ASCII subjects SNS accepts, singular cents, and the handler naming missing configuration."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from gas_ops.stream import InvocationContext
from gas_publisher.alert import Alert
from gas_publisher.contract import REGIONS
from gas_publisher.handler import lambda_handler


@pytest.mark.parametrize("region", [region.id for region in REGIONS])
@pytest.mark.parametrize("newest", [date(2026, 11, 23), date(2026, 12, 7)], ids=["newest-week", "older-week"])
def test_subjects_are_ascii_and_short_enough_for_sns(region: str, newest: date) -> None:
    """SNS accepts only ASCII subjects under 100 characters; every region's subject fits, naming an older week too."""
    week = date(2026, 11, 23)
    alert = Alert(week, region, Decimal("13.995"), date(2026, 11, 16), Decimal("14.999"), source_newest=newest)
    assert alert.subject.isascii()
    assert len(alert.subject) < 100
    assert alert.subject.startswith("Gas fell 100.4 cents in ")
    assert ("in the week of Monday 23 November 2026" in alert.subject) is (newest > week)


def test_every_alert_names_its_week_in_words() -> None:
    """The body names the week as 'Monday 2 March 2026'; an older week reads 'That week', not 'This week'."""
    older = Alert(
        date(2026, 3, 2), "albany", Decimal("3.40"), date(2026, 2, 23), Decimal("3.45"), source_newest=date(2026, 3, 9)
    )
    assert "in the week of Monday 2 March 2026." in older.body
    assert "That week (2026-03-02):" in older.body
    assert older.subject == "Gas fell 5 cents in Albany in the week of Monday 2 March 2026: $3.40/gal"


def test_one_cent_reads_singular() -> None:
    """A one-cent drop says 'cent', and whole-cent prices keep two decimals."""
    alert = Alert(date(2026, 11, 23), "albany", Decimal("3.4"), date(2026, 11, 16), Decimal("3.41"))
    assert alert.subject == "Gas fell 1 cent in Albany: $3.40/gal"


def test_lambda_handler_without_configuration_names_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Missing environment variables fail loudly with their names."""
    for name in ("TOPIC_ARN", "DIGEST_TOPIC_ARN", "TABLE_NAME"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(RuntimeError, match=r"variables TOPIC_ARN, DIGEST_TOPIC_ARN, TABLE_NAME$"):
        lambda_handler({"Records": []}, InvocationContext())
