"""A real `prefect server start` on a free loopback port, for tests whose commands run in processes of their own.

Without one, every `gas-alerts` or `prefect` process starts a temporary server of its own, which takes 11-14 s.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.support.terraform import free_port

BIN = Path(sys.executable).parent
START_TIMEOUT_S = 120


@contextmanager
def prefect_server(home: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """Start the server with its database in `home`; yields its API URL and an environment pointing at it."""
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_API_URL": api, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    log = (home / "server.log").open("wb")
    server = subprocess.Popen(  # noqa: S603 (fixed argv)
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _healthy(api):
            assert server.poll() is None, (home / "server.log").read_text()
            assert time.monotonic() < deadline, f"the Prefect server did not start within {START_TIMEOUT_S} s"
            time.sleep(0.5)
        yield api, env
    finally:
        # The server runs in a session of its own: its group holds it and the processes it started, and no others.
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()


def _healthy(api: str) -> bool:
    try:
        return httpx.get(f"{api}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
