"""Shared fixtures: a temporary Prefect home, a moto server on 127.0.0.1, and per-test resource names."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# Prefect reads these when it is first imported, so they are set before any test module imports it.
_PREFECT_HOME = tempfile.mkdtemp(prefix="gas-alerts-prefect-home-")
os.environ["PREFECT_HOME"] = _PREFECT_HOME
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = "90"
os.environ.pop("PREFECT_API_URL", None)
# Nothing in the tests may reach a real AWS account, whatever the developer's shell holds.
for _name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "SOCRATA_APP_TOKEN"):
    os.environ.pop(_name, None)
os.environ.update(
    {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
)

import pytest  # noqa: E402 (the environment above must come first)
import stamina  # noqa: E402

from gas_alerts.local.moto_server import local_aws  # noqa: E402
from gas_alerts.settings import Settings  # noqa: E402

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
FULL_HISTORY_CSV = DATA_DIR / "ny_gas_prices_weekly.csv"
LATEST_SNAPSHOT_CSV = DATA_DIR / "ny_gas_prices_weekly_2017_2026.csv"
EVENTS_DIR = Path(__file__).resolve().parent / "events"


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """One moto server on 127.0.0.1 for the session, with boto3 pointed at it."""
    with local_aws() as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[None]:
    """One temporary Prefect server (SQLite) for every flow run of the session; only one may exist at a time."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90):
        yield


@pytest.fixture
def settings(moto_endpoint: str, tmp_path: Path) -> Settings:
    """Resource names unique to the test, so tests sharing the moto server never see each other's data."""
    suffix = uuid.uuid4().hex[:8]
    return Settings(
        table_name=f"prices-{suffix}",
        topic_name=f"drops-{suffix}",
        topic_arn="",
        inbox_queue=f"inbox-{suffix}",
        dead_letter_queue=f"dlq-{suffix}",
        outbox=tmp_path / "outbox",
        state_dir=tmp_path / "state",
        app_token=None,
    )


@pytest.fixture
def dynamodb_calls() -> Iterator[Counter[str]]:
    """Counts DynamoDB operations by name, through botocore's event hooks on the shared client."""
    from gas_alerts import aws

    calls: Counter[str] = Counter()

    def count(model: Any, **_: Any) -> None:
        calls[model.name] += 1

    events = aws.dynamodb().meta.events
    events.register("before-call.dynamodb", count)
    yield calls
    events.unregister("before-call.dynamodb", count)


@pytest.fixture
def no_backoff() -> Iterator[None]:
    """Keep stamina's retries but skip its waits, so retry tests take milliseconds."""
    with stamina.set_testing(True, attempts=5):
        yield
