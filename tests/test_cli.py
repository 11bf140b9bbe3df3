"""The `gas-alerts` command line: help, clear errors with exit codes, and the local commands on moto."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from gas_alerts.cli import app
from gas_alerts.settings import Settings

runner = CliRunner()


def settings_env(settings: Settings) -> dict[str, str]:
    return {
        "GAS_ALERTS_TABLE": settings.table_name,
        "GAS_ALERTS_TOPIC": settings.topic_name,
        "GAS_ALERTS_INBOX_QUEUE": settings.inbox_queue,
        "GAS_ALERTS_DLQ": settings.dead_letter_queue,
        "GAS_ALERTS_OUTBOX": str(settings.outbox),
        "GAS_ALERTS_STATE_DIR": str(settings.state_dir),
    }


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["demo"],
        ["check"],
        ["backfill"],
        ["replay"],
        ["local"],
        ["local", "provision"],
        ["local", "deliver"],
        ["local", "up"],
        ["local", "down"],
        ["local", "status"],
    ],
)
def test_every_command_has_help(command: list[str]) -> None:
    """Each command answers --help with a usage line and exits 0."""
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_help_lists_the_environment_variables() -> None:
    """The top-level help documents the variables that override resource names."""
    result = runner.invoke(app, ["--help"])
    assert "GAS_ALERTS_TABLE (default: gas-alerts-prices)" in result.output


def test_unknown_region_is_a_usage_error_naming_the_known_ones() -> None:
    """A misspelt region stops before any work, with exit status 2 and the valid ids."""
    result = runner.invoke(app, ["check", "--regions", "nyc"])
    assert result.exit_code == 2
    assert "unknown region(s): nyc" in result.output
    assert "new_york_city" in result.output


def test_deliver_before_provision_says_what_to_run(settings: Settings) -> None:
    """Without the local resources, deliver exits 1 and tells the user to provision first."""
    result = runner.invoke(app, ["local", "deliver"], env=settings_env(settings))
    assert result.exit_code == 1
    assert "run `gas-alerts local provision` first" in result.output


def test_provision_is_idempotent_and_shows_the_filter(settings: Settings) -> None:
    """Provisioning twice succeeds both times and prints the subscriber's filter policy."""
    first = runner.invoke(
        app, ["local", "provision", "--regions", "albany", "--min-drop-cents", "3"], env=settings_env(settings)
    )
    second = runner.invoke(app, ["local", "provision"], env=settings_env(settings))
    assert first.exit_code == 0, first.output
    assert "{'region': ['albany'], 'drop_cents': [{'numeric': ['>=', 3]}]}" in first.output
    assert second.exit_code == 0, second.output
    assert "none (every alert)" in second.output


@pytest.mark.prefect
@pytest.mark.usefixtures("prefect_server")
def test_check_with_a_missing_file_fails_clearly(settings: Settings) -> None:
    """A source that is neither a URL nor a file exits 1 with the reason, and nothing is written."""
    runner.invoke(app, ["local", "provision"], env=settings_env(settings))
    result = runner.invoke(app, ["check", "--source", "nowhere.csv"], env=settings_env(settings))
    assert result.exit_code == 1
    assert "nowhere.csv is neither an http(s) URL nor an existing CSV file" in result.output
