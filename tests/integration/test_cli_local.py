"""The local commands on moto: provisioning, and delivery before provisioning."""

from __future__ import annotations

from typer.testing import CliRunner

from gas_alerts.settings import Settings
from gas_cli.app import app

runner = CliRunner()


def test_deliver_before_provision_says_what_to_run(settings: Settings) -> None:
    """Without the local resources, deliver exits 1 and tells the user to provision first."""
    result = runner.invoke(app, ["local", "deliver"], env=settings.to_environment())
    assert result.exit_code == 1
    assert "run `gas-alerts local provision` first" in result.output


def test_provision_is_idempotent_and_shows_the_filter(settings: Settings) -> None:
    """Provisioning twice succeeds both times and prints the subscriber's filter policy."""
    first = runner.invoke(
        app, ["local", "provision", "--regions", "albany", "--min-drop-cents", "3"], env=settings.to_environment()
    )
    second = runner.invoke(app, ["local", "provision"], env=settings.to_environment())
    assert first.exit_code == 0, first.output
    assert "{'region': ['albany'], 'drop_cents': [{'numeric': ['>=', 3]}]}" in first.output
    assert second.exit_code == 0, second.output
    assert "none (every alert)" in second.output
