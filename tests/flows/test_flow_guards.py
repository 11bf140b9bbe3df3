"""A flow run guards itself first: redaction installed, narrowing and missing sources refused before any work."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from prefect.exceptions import ParameterBindError
from typer.testing import CliRunner

from flows.check_prices import check_gas_prices
from gas_alerts import aws, redaction
from gas_alerts.settings import Settings
from gas_cli.app import app
from gas_local.provision import ensure_table
from gas_local.socrata import local_socrata
from tests.support.data import uniform_row


@pytest.mark.prefect
@pytest.mark.usefixtures("prefect_server")
def test_the_flow_installs_the_redaction_before_anything_else(tmp_path: Path) -> None:
    """A flow run, even one that fails at once, leaves log redaction installed for the rest of the process."""
    redaction.uninstall_log_redaction()
    try:
        state = check_gas_prices(source=str(tmp_path / "missing.csv"), return_state=True)
        assert state.is_failed()
        assert redaction.is_installed()
    finally:
        redaction.uninstall_log_redaction()


@pytest.mark.prefect
@pytest.mark.usefixtures("prefect_server")
def test_a_run_asking_for_some_regions_only_is_refused_before_fetching_or_writing(settings: Settings) -> None:
    """An older deployment's `regions` parameter is refused: a check always compares and stores every region."""
    ensure_table(aws.dynamodb(), settings.table_name)
    with local_socrata([uniform_row(date(2026, 11, 23), "3.10")]) as socrata:
        with pytest.raises(ParameterBindError, match="unexpected keyword argument 'regions'"):
            check_gas_prices(source=socrata.url, regions=["albany"], table_name=settings.table_name)  # type: ignore[call-overload]
        assert socrata.requests == []
    assert aws.dynamodb().scan(TableName=settings.table_name)["Count"] == 0


runner = CliRunner()


@pytest.mark.prefect
@pytest.mark.usefixtures("prefect_server")
def test_check_with_a_missing_file_fails_clearly(settings: Settings) -> None:
    """A source that is neither a URL nor a file exits 1 with the reason, and nothing is written."""
    runner.invoke(app, ["local", "provision"], env=settings.to_environment())
    result = runner.invoke(app, ["check", "--source", "nowhere.csv"], env=settings.to_environment())
    assert result.exit_code == 1
    assert "nowhere.csv is neither an http(s) URL nor an existing CSV file" in result.output
