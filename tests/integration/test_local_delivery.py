"""The local delivery's last step, inbox to outbox: an alert leaves the inbox only once its email file exists."""

from __future__ import annotations

import pytest

from gas_alerts import aws
from gas_alerts.settings import Settings
from gas_local.delivery import LocalDelivery
from gas_local.provision import provision
from gas_publisher.handler import process_batch
from gas_publisher.publisher import Publisher
from tests.support.data import load_event


def test_an_alert_whose_email_cannot_be_written_stays_in_the_inbox(settings: Settings) -> None:
    """GIVEN two alerts in the inbox and an outbox that cannot be written WHEN delivered THEN none is lost."""
    resources = provision(settings)
    process_batch(
        load_event("alert_insert.json"), Publisher(aws.sns(), aws.dynamodb(), resources.topic_arn, settings.table_name)
    )
    delivery = LocalDelivery.connect(settings)
    settings.outbox.parent.mkdir(parents=True, exist_ok=True)
    settings.outbox.write_text("a file where the outbox folder should be", encoding="utf-8")

    with pytest.raises(OSError, match="outbox"):
        delivery.deliver_once()
    settings.outbox.unlink()
    _, delivered = delivery.deliver_once()

    assert sorted(alert.region for alert, _ in delivered) == ["albany", "new_york_city"]
    assert sorted(path.name for path in settings.outbox.iterdir()) == sorted(path.name for _, path in delivered)
    assert all(path.suffix == ".eml" for path in settings.outbox.iterdir()), "no temporary file is left behind"
