"""Shared fixtures: a temporary Prefect home, a moto server on 127.0.0.1, per-test resource names, and a table."""

from __future__ import annotations

import gc
import importlib
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

# Prefect reads these when it is first imported, so they are set before any test module imports it.
_PREFECT_HOME = tempfile.mkdtemp(prefix="gas-alerts-prefect-home-")
os.environ["PREFECT_HOME"] = _PREFECT_HOME
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = "90"
os.environ.pop("PREFECT_API_URL", None)
# Nothing in the tests may reach a real AWS account, whatever the developer's shell holds.
for _name in (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ENDPOINT_URL",
    "SOCRATA_APP_TOKEN",
):
    os.environ.pop(_name, None)
os.environ.update(
    {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
)

import botocore.endpoint  # noqa: E402 (the environment above must come first)
import pytest  # noqa: E402
import stamina  # noqa: E402

from gas_alerts import aws  # noqa: E402
from gas_alerts.settings import Settings  # noqa: E402
from gas_alerts.store import PriceTable  # noqa: E402
from gas_local.moto_server import local_aws  # noqa: E402
from gas_local.provision import ensure_table  # noqa: E402
from tests.support.dynamo_faults import DynamoFaults  # noqa: E402
from tests.support.names import unique_settings  # noqa: E402
from tests.support.prefect_api import SHARED_FOLDER_VARIABLE, shared_prefect_api, stop_shared_prefect_server  # noqa: E402

TESTS = Path(__file__).resolve().parent


def pytest_configure(config: pytest.Config) -> None:
    """Make the folder the session's workers share (they inherit the variable), unless this is one of them."""
    if SHARED_FOLDER_VARIABLE not in os.environ:
        os.environ[SHARED_FOLDER_VARIABLE] = tempfile.mkdtemp(prefix="gas-alerts-tests-")
        config.stash[_SHARED_FOLDER] = Path(os.environ[SHARED_FOLDER_VARIABLE])
        if config.getoption("numprocesses", None):
            # Every worker imports Prefect as it collects, all at once. On a fresh clone nothing is compiled yet, so
            # importing it here first writes its bytecode once instead of in each worker at the same time.
            importlib.import_module("tests.support.steps")


def pytest_unconfigure(config: pytest.Config) -> None:
    """In the process that made the shared folder, once every worker has ended: stop what they shared, remove it."""
    shared = config.stash.get(_SHARED_FOLDER, None)
    if shared is not None:
        stop_shared_prefect_server(shared)
        shutil.rmtree(shared, ignore_errors=True)
        del os.environ[SHARED_FOLDER_VARIABLE]


_SHARED_FOLDER = pytest.StashKey[Path]()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the slow tiers, so `-m "not prefect and not terraform"` leaves them out, and put the slowest work first.

    Every test of the flow tier runs real Prefect flows; every test that needs terraform_tools runs real Terraform.
    pytest-xdist hands out its units of work (a file, or the stack's files) in this order
    (`--no-loadscope-reorder`): the longest start at once and the quick ones fill the gaps, instead of a long one
    starting last and running alone.
    """
    seconds_by_file: dict[str, float] = {}
    for item in items:
        if (TESTS / "flows") in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.prefect)
        if "terraform_tools" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.terraform)
        seconds_by_file[_file(item.nodeid)] = _expected_seconds(item)
    seconds_by_unit: dict[str, float] = {}
    for file, seconds in seconds_by_file.items():
        seconds_by_unit[_unit(file)] = seconds_by_unit.get(_unit(file), 0.0) + seconds
    # Within a unit the order stays as collected, except that the stack's files go in STACK_FILES order and the test
    # that destroys the stack goes last.
    items.sort(
        key=lambda item: (
            -seconds_by_unit[_unit(_file(item.nodeid))],
            _unit(_file(item.nodeid)),
            item.get_closest_marker("destroys_stack") is not None,
            STACK_FILES.index(_file(item.nodeid)) if _file(item.nodeid) in STACK_FILES else 0,
        )
    )


def pytest_collection_finish(session: pytest.Session) -> None:
    """Collect garbage less often while the tests run, and never the objects the imports made.

    A worker holds Prefect, moto and botocore, and moto's requests make objects by the million: at the collector's
    default pace (every 700 allocations) the moto-heavy files spent a tenth of their CPU in it, walking the same
    long-lived objects again and again. Those are frozen out of its reach once collected, and the youngest
    generation waits for GC_YOUNGEST allocations.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNGEST, *gc.get_threshold()[1:])


GC_YOUNGEST = 20_000


def _file(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


# Files that share the session's applied Terraform stack (tests/support/terraform.py): one worker, one apply. The
# least-privilege scenarios run after the apply test's, whose subscription and delivery checks expect a fresh stack.
STACK_FILES = ("tests/contract/test_terraform_apply.py", "tests/contract/test_least_privilege.py")


def _unit(file: str) -> str:
    """The unit of work a test file belongs to: the file itself, or the stack."""
    return "tests/contract/terraform-stack" if file in STACK_FILES else file


def _expected_seconds(item: pytest.Item) -> float:
    """The file's rough duration from its `slow(seconds=...)` mark (0 for a quick file); only the order uses it."""
    mark = item.get_closest_marker("slow")
    if mark is None:
        return 0.0
    if "seconds" not in mark.kwargs:
        raise pytest.UsageError(f"{_file(item.nodeid)}: write the slow mark as pytest.mark.slow(seconds=...)")
    return float(mark.kwargs["seconds"])


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """With `--dist loadfile`, whole files go to a worker, but the stack's files go together, for its one apply."""
    if config.getoption("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class StackTogether(LoadScopeScheduling):  # type: ignore[misc]
        """loadfile's scheduling, with the files of the applied stack as one unit."""

        def _split_scope(self, nodeid: str) -> str:
            return _unit(_file(nodeid))

    return StackTogether(config, log)


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """One moto server on 127.0.0.1 for the session, with boto3 pointed at it."""
    with local_aws() as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[str]:
    """The session's one Prefect server (SQLite), for every flow run this worker makes; yields its API URL.

    As Prefect's own test harness does, the URL is set for this context and for contexts copied before it (threads).
    """
    from prefect.context import _temporary_global_settings_context, get_settings_context
    from prefect.settings import PREFECT_API_URL, temporary_settings

    api = shared_prefect_api()
    with temporary_settings({PREFECT_API_URL: api}), _temporary_global_settings_context(get_settings_context()):
        yield api


@pytest.fixture
def settings(moto_endpoint: str, tmp_path: Path) -> Settings:
    """Resource names unique to the test, so tests sharing the moto server never see each other's data."""
    return unique_settings("", tmp_path / "outbox", tmp_path / "state")


@pytest.fixture
def table(settings: Settings) -> PriceTable:
    """An empty price table with its stream."""
    ensure_table(aws.dynamodb(), settings.table_name)
    return PriceTable(aws.dynamodb(), settings.table_name)


@pytest.fixture
def dynamodb_calls() -> Iterator[Counter[str]]:
    """Counts DynamoDB operations by name, through botocore's event hooks on the shared client."""
    calls: Counter[str] = Counter()

    def count(model: Any, **_: Any) -> None:
        calls[model.name] += 1

    events = aws.dynamodb().meta.events
    events.register("before-call.dynamodb", count)
    yield calls
    events.unregister("before-call.dynamodb", count)


@pytest.fixture
def faults(monkeypatch: pytest.MonkeyPatch) -> Iterator[DynamoFaults]:
    """Faults on the client the flow uses; botocore's retry waits are recorded instead of slept."""
    injected = DynamoFaults()
    monkeypatch.setattr(botocore.endpoint, "time", SimpleNamespace(sleep=injected.waits.append))
    events = aws.dynamodb().meta.events
    # A before-send handler may return a response, which botocore then uses instead of sending the request.
    events.register("before-send.dynamodb", cast("Callable[..., None]", injected.answer), unique_id="test-faults")
    yield injected
    events.unregister("before-send.dynamodb", unique_id="test-faults")


@pytest.fixture
def no_backoff() -> Iterator[None]:
    """Keep stamina's retries but skip its waits, so retry tests take milliseconds."""
    with stamina.set_testing(True, attempts=5):
        yield
