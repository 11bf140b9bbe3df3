"""The Prefect way end to end: a real server, prefect.yaml deployed, `prefect deployment run`, a worker, moto."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from uuid import UUID

import pytest

from gas_alerts import aws
from gas_alerts.settings import Settings
from gas_local.provision import provision

pytestmark = pytest.mark.slow(seconds=35)

PROJECT_DIR = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SAMPLE = PROJECT_DIR / "data" / "ny_gas_prices_weekly_2017_2026.csv"
# The runbook's block (docs/deploy.md): setup.py saves the environment's keys in it, and the runs name it.
CREDENTIALS_BLOCK = "gas-alerts-aws"


@pytest.fixture(scope="module")
def prefect_api(prefect_server: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, str]]:
    """The session's Prefect server (`prefect server start`), for the CLI and the worker in their own processes."""
    home = tmp_path_factory.mktemp("prefect-home")
    return prefect_server, {**os.environ, "PREFECT_HOME": str(home), "PREFECT_API_URL": prefect_server}


def run(command: list[str], env: dict[str, str], timeout: float = 180) -> str:
    """Run a CLI command from the project folder; fail the test with its output if it fails."""
    result = subprocess.run(  # noqa: S603 (fixed argv)
        command, cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def test_deploy_run_and_watch_a_weekly_check(
    prefect_api: tuple[str, dict[str, str]], settings: Settings, moto_endpoint: str
) -> None:
    """The runbook's Prefect steps on moto: setup.py with a credentials block, deploy, and run the check.

    `prefect deployment run` plus a --run-once worker completes it, with the AWS keys read from the block.
    """
    api, server_env = prefect_api
    provision(settings)
    env = {
        **server_env,
        "AWS_ENDPOINT_URL": moto_endpoint,
        "GAS_ALERTS_PROJECT_DIR": str(PROJECT_DIR),
    }
    started = time.monotonic()

    run([str(BIN / "python"), "deployments/setup.py", "--aws-credentials-block", CREDENTIALS_BLOCK], env)
    run([str(BIN / "prefect"), "--no-prompt", "deploy", "--all"], env)
    output = run(
        [
            str(BIN / "prefect"),
            "deployment",
            "run",
            "check-gas-prices/weekly",
            "-p",
            f"source={SAMPLE}",
            "-p",
            f"table_name={settings.table_name}",
            "-p",
            f"aws_credentials_block={CREDENTIALS_BLOCK}",
        ],
        env,
    )
    flow_run_id = UUID(output.split("UUID:")[1].split()[0])
    run([str(BIN / "prefect"), "worker", "start", "--pool", "gas-alerts", "--run-once"], env, timeout=300)
    print(f"deploy → run → worker took {time.monotonic() - started:.1f} s")

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: api}), get_client(sync_client=True) as client:
        flow_run = client.read_flow_run(flow_run_id)
        artifacts = client.read_artifacts(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
        deployments = {d.name for d in client.read_deployments()}

    assert deployments == {"weekly", "backfill"}
    assert flow_run.state is not None
    assert flow_run.state.is_completed(), flow_run.state.message
    assert flow_run.state.message == "Baseline stored (2026-04-06)"
    assert flow_run.name == "week-2026-04-06"
    table = next(artifact for artifact in artifacts if artifact.key == "gas-prices-latest-week")
    rows = {row["region"]: row for row in json.loads(str(table.data))}
    assert len(rows) == 17
    assert rows["New York City"]["this week ($/gal)"] == "4.07"
    assert rows["New York City"]["last week ($/gal)"] == "3.95"
    assert rows["New York City"]["change (¢)"] == "+12"
    stored = aws.dynamodb().scan(TableName=settings.table_name)["Items"]
    assert [item["sk"]["S"] for item in stored] == ["2026-04-06"]
