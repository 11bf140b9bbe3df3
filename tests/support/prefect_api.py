"""A real `prefect server start` on a free loopback port, one for the whole test session.

Without one, every `gas-alerts` or `prefect` process starts a temporary server of its own, which takes 11-14 s, and
each start of a server costs about 10 s of CPU, most of it migrating a new database. So the session has one, shared
by every pytest-xdist worker: the first test that needs it starts it, and the pytest process that started the
workers stops it when they are done (tests/conftest.py).
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from gas_alerts.tls import tls_context
from tests.support.terraform import free_port

BIN = Path(sys.executable).parent
START_TIMEOUT_S = 120
STOP_TIMEOUT_S = 20
# The folder the session's workers share (made by tests/conftest.py before they start, so all of them inherit it).
SHARED_FOLDER_VARIABLE = "GAS_ALERTS_TESTS_SHARED_FOLDER"
_RECORD = "prefect-server.json"


def shared_prefect_api() -> str:
    """The session's one server, started by the first worker that asks; its API URL."""
    shared = Path(os.environ[SHARED_FOLDER_VARIABLE])
    with (shared / "prefect-server.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes; the others wait for the start meanwhile
        record = shared / _RECORD
        if not record.exists():
            home = shared / "prefect-home"
            home.mkdir(exist_ok=True)
            api, server = _start(home)
            record.write_text(json.dumps({"api": api, "pid": server.pid}), encoding="utf-8")
        return str(json.loads(record.read_text(encoding="utf-8"))["api"])


def stop_shared_prefect_server(shared: Path) -> None:
    """Stop the session's server, if a worker started one, by the process ID it recorded."""
    record = shared / _RECORD
    if record.exists():
        _stop(int(json.loads(record.read_text(encoding="utf-8"))["pid"]))


def _start(home: Path) -> tuple[str, subprocess.Popen[bytes]]:
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_API_URL": api, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    with (home / "server.log").open("wb") as log:
        server = subprocess.Popen(  # noqa: S603 (fixed argv)
            [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + START_TIMEOUT_S
    while not _healthy(api):
        if server.poll() is not None or time.monotonic() > deadline:
            _stop(server.pid)
            raise AssertionError(f"the Prefect server did not start:\n{(home / 'server.log').read_text()}")
        time.sleep(0.5)
    return api, server


def _stop(pid: int) -> None:
    """End the server's process group (its own session: it and what it started, no others), then wait for it."""
    for stop in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, stop)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while time.monotonic() < deadline:
            if _ended(pid):
                return
            time.sleep(0.1)
    raise AssertionError(f"the Prefect server (PID {pid}) did not stop")


def _ended(pid: int) -> bool:
    """Whether the process is gone; reaps it when this process started it (a worker's server has another parent)."""
    try:
        reaped, _ = os.waitpid(pid, os.WNOHANG)
        if reaped:
            return True
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def _healthy(api: str) -> bool:
    try:
        return httpx.get(f"{api}/health", timeout=2, verify=tls_context()).status_code == 200
    except httpx.HTTPError:
        return False
