"""The documented Prefect automation is valid and matches the events the check emits."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import yaml
from prefect.events.schemas.automations import AutomationCore, EventTrigger
from prefect.events.schemas.events import Resource, ResourceSpecification

from gas_alerts.run_report import DROP_EVENT, drop_event
from gas_publisher.alert import Alert

EXAMPLE = Path(__file__).resolve().parents[2] / "deployments" / "automations" / "nyc-price-drop.yaml"


def test_example_automation_parses_and_matches_a_new_york_city_drop_event() -> None:
    """The YAML is a valid Prefect automation whose trigger names the event and resource the flow emits."""
    automation = AutomationCore.model_validate(yaml.safe_load(EXAMPLE.read_text(encoding="utf-8")))
    trigger = automation.trigger
    assert isinstance(trigger, EventTrigger)
    emitted = drop_event(
        Alert(date(2026, 11, 23), "new_york_city", Decimal("3.38"), date(2026, 11, 16), Decimal("3.45"))
    )
    assert trigger.expect == {DROP_EVENT} == {emitted["event"]}
    match = trigger.match
    assert isinstance(match, ResourceSpecification)
    assert match.matches(Resource(emitted["resource"]))
    other_region = drop_event(Alert(date(2026, 11, 23), "albany", Decimal("3.38"), date(2026, 11, 16), Decimal("3.45")))
    assert not match.matches(Resource(other_region["resource"]))
    for field in ("subject", "price", "previous_price", "drop_cents", "week"):
        assert field in emitted["payload"]
