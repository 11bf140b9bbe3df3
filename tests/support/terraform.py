"""Shared by the Terraform tests: the tools they need and a moto server in a process of its own."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gas_local.terraform import MIRROR_DIR_NAME, MIRROR_SEARCH_DEPTH, find_provider_mirror, find_terraform

MOTO_START_TIMEOUT_S = 30


@dataclass(frozen=True)
class Tools:
    """The terraform binary and the folder of its provider mirror."""

    terraform: str
    mirror: Path


@pytest.fixture(scope="module")
def terraform_tools() -> Tools:
    """Terraform and a provider mirror with hashicorp/aws, or a skip that names the missing one."""
    terraform = find_terraform()
    if terraform is None:
        pytest.skip("terraform is not on PATH")
    mirror = find_provider_mirror()
    if mirror is None:
        pytest.skip(f"no provider mirror: no {MIRROR_DIR_NAME}/hashicorp/aws within {MIRROR_SEARCH_DEPTH} levels of /")
    return Tools(terraform, mirror)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def wait_until_listening(endpoint: str, server: subprocess.Popen[bytes]) -> None:
    """Return once the server answers on its endpoint; fail if it exits or stays silent."""
    deadline = time.monotonic() + MOTO_START_TIMEOUT_S
    while time.monotonic() < deadline:
        assert server.poll() is None, f"moto exited with code {server.returncode}"
        try:
            with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1):  # noqa: S310 (our own http URL)
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"moto did not answer on {endpoint} within {MOTO_START_TIMEOUT_S} s")


@pytest.fixture(scope="module")
def moto_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A moto server in a process of its own on 127.0.0.1, stopped by its PID afterwards."""
    # Not ThreadedMotoServer: moto's state is global to a process, so an in-process server would share the tables
    # and topics other tests leave in the session's server, and "nothing is left" could not be checked.
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with log.open("wb") as output:
        server = subprocess.Popen(  # noqa: S603 (this interpreter, with arguments written in this file)
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until_listening(endpoint, server)
        yield endpoint
    finally:
        server.terminate()
        try:
            server.wait(timeout=MOTO_START_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
