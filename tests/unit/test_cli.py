"""The `gas-alerts` command line: every command has help, and the help documents the environment."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from gas_cli.app import app

runner = CliRunner()


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
