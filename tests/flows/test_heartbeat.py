"""The check's heartbeat through Prefect: a completed run reports itself and the source's age, a failed one does not."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
from typer.testing import CliRunner

from flows import check_prices
from flows.check_prices import check_gas_prices
from gas_alerts import aws
from gas_alerts.settings import Settings
from gas_alerts.store import today_in_new_york
from gas_cli.app import app
from gas_local.provision import provision
from gas_local.socrata import Fault, local_socrata
from gas_publisher.contract import METRIC_CHECK_SUCCEEDED, METRIC_SOURCE_AGE_DAYS
from tests.support.data import api_row
from tests.support.metrics import samples
from tests.support.steps import STEADY

pytestmark = [pytest.mark.prefect, pytest.mark.usefixtures("prefect_server")]


def warnings_of(flow_run_id: UUID | None) -> list[str]:
    """The run's log lines at WARNING or above, as the Prefect UI shows them."""
    assert flow_run_id is not None
    with get_client(sync_client=True) as client:
        logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])))
    return [log.message for log in logs if log.level >= 30]


def calls_in_order(clients: list[Any]) -> tuple[list[str], Callable[[], None]]:
    """Every API call the clients make from now on, in order, as 'service.Operation'; and how to stop recording."""
    calls: list[str] = []

    def record(model: Any, **_: Any) -> None:
        calls.append(f"{model.service_model.service_name}.{model.name}")

    for client in clients:
        client.meta.events.register("before-call", record, unique_id="heartbeat-order")

    def stop() -> None:
        for client in clients:
            client.meta.events.unregister("before-call", unique_id="heartbeat-order")

    return calls, stop


def test_the_heartbeat_is_one_call_after_the_writes_and_a_run_failing_after_them_puts_none(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A completed run's last AWS call is its one PutMetricData; a run whose report fails after its writes puts none."""
    provision(settings)
    today = today_in_new_york()
    monday = today - timedelta(days=today.weekday())
    rows = [api_row(monday - timedelta(weeks=1), **STEADY)]
    calls, stop = calls_in_order([aws.dynamodb(), aws.cloudwatch()])
    try:
        with local_socrata(rows) as source:
            completed = check_gas_prices(source=source.url, table_name=settings.table_name, return_state=True)
            first_run = list(calls)
            source.rows.append(api_row(monday, **STEADY))

            def artifacts_down(*_: Any, **__: Any) -> None:
                raise RuntimeError("the Prefect API refused the run's artifacts")

            monkeypatch.setattr(check_prices, "publish_run_report", artifacts_down)
            failed = check_gas_prices(source=source.url, table_name=settings.table_name, return_state=True)
    finally:
        stop()

    assert completed.is_completed()
    assert first_run == ["dynamodb.Query", "dynamodb.PutItem", "cloudwatch.PutMetricData"]
    assert failed.is_failed()
    assert calls[len(first_run) :] == ["dynamodb.Query", "dynamodb.PutItem"], "written, then no heartbeat"
    assert samples(settings.table_name, METRIC_CHECK_SUCCEEDED) == (1, 1.0)


def test_a_stale_source_completes_with_one_warning_and_status_names_its_newest_week(settings: Settings) -> None:
    """A 3-week-old source: Completed with one warning and its age put; status exits 1 naming it; HTML puts none."""
    provision(settings)
    today = today_in_new_york()
    newest = today - timedelta(days=today.weekday(), weeks=3)
    age = (today - newest).days
    rows = [api_row(newest - timedelta(weeks=1), **STEADY), api_row(newest, **STEADY)]
    with local_socrata(rows) as source:
        state = check_gas_prices(source=source.url, table_name=settings.table_name, return_state=True)
        after_the_run = (
            samples(settings.table_name, METRIC_CHECK_SUCCEEDED),
            samples(settings.table_name, METRIC_SOURCE_AGE_DAYS),
        )
        source.faults.append(Fault(body=b"<html>moved</html>", headers={"Content-Type": "text/html"}))
        failed = check_gas_prices(source=source.url, table_name=settings.table_name, return_state=True)
    status = CliRunner().invoke(app, ["status"], env=settings.to_environment())

    assert state.is_completed()
    assert state.result().stale_source.startswith(f"the source's newest week {newest} is {age} days old")
    [warning] = warnings_of(state.state_details.flow_run_id)
    assert warning.startswith(f"The source looks stale: the source's newest week {newest} is {age} days old")
    assert after_the_run == ((1, 1.0), (1, float(age)))
    assert failed.is_failed()
    assert samples(settings.table_name, METRIC_CHECK_SUCCEEDED) == (1, 1.0), "a failed run puts no CheckSucceeded"
    assert status.exit_code == 1
    assert f"problem: the source's newest week {newest} is {age} days old" in status.stderr
    assert "Last completed check:" in status.output
    assert "problem: no check has" not in status.stderr
