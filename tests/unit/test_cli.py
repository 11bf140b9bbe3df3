"""The `gas-alerts` command line: every command has help, and the help documents the environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gas_cli.app import app
from tests.support.data import LATEST_SNAPSHOT_CSV

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


def test_a_check_that_fails_before_its_run_ends_without_importing_prefect(tmp_path: Path) -> None:
    """No AWS credentials: the command ends with its one line before Prefect (about a second of imports) loads."""
    script = (
        "import sys\n"
        "from gas_cli.app import app\n"
        "try:\n"
        "    app(['check', '--source', sys.argv[1]], prog_name='gas-alerts')\n"
        "except SystemExit as ended:\n"
        "    print('exit', ended.code, 'prefect imported' if 'prefect' in sys.modules else 'no prefect')\n"
    )
    environment = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    environment.update(
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
        AWS_CONFIG_FILE=str(tmp_path / "none"),
        AWS_EC2_METADATA_DISABLED="true",
    )
    done = subprocess.run(  # noqa: S603 (this interpreter, with the script written here)
        [sys.executable, "-c", script, str(LATEST_SNAPSHOT_CSV)],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert "error: no AWS credentials" in done.stderr
    assert done.stdout.splitlines()[-1] == "exit 1 no prefect"
