"""The alert email: ASCII subjects SNS accepts, singular cents, and the handler naming missing configuration."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from gas_local.stream_runner import LocalContext
from gas_publisher.alert import Alert
from gas_publisher.contract import REGIONS
from gas_publisher.handler import lambda_handler


@pytest.mark.parametrize("region", [region.id for region in REGIONS])
def test_subjects_are_ascii_and_short_enough_for_sns(region: str) -> None:
    """SNS accepts only ASCII subjects under 100 characters; every region's subject fits."""
    alert = Alert(date(2026, 11, 23), region, Decimal("13.99"), date(2026, 11, 16), Decimal("14.99"))
    assert alert.subject.isascii()
    assert len(alert.subject) < 100
    assert alert.subject.startswith("Gas fell 100 cents in ")


def test_one_cent_reads_singular() -> None:
    """A one-cent drop says 'cent', and whole-cent prices keep two decimals."""
    alert = Alert(date(2026, 11, 23), "albany", Decimal("3.4"), date(2026, 11, 16), Decimal("3.41"))
    assert alert.subject == "Gas fell 1 cent in Albany: $3.40/gal"


def test_lambda_handler_without_configuration_names_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Missing environment variables fail loudly with their names."""
    for name in ("TOPIC_ARN", "DIGEST_TOPIC_ARN", "TABLE_NAME"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(RuntimeError, match=r"variables TOPIC_ARN, DIGEST_TOPIC_ARN, TABLE_NAME$"):
        lambda_handler({"Records": []}, LocalContext())
