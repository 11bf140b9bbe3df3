"""The local stack's bookkeeping: it stops exactly the processes it recorded, and refuses busy ports."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gas_alerts.settings import Settings
from gas_local.stack import LocalStack, Ports, StackError, StackState, Started, port_free

SLEEP = shutil.which("sleep") or "/bin/sleep"


@pytest.fixture
def stack(settings: Settings, tmp_path: Path) -> LocalStack:
    return LocalStack(tmp_path, settings, Ports(prefect=1, moto=2), report=lambda _: None)


def _runs_sleep(pid: int) -> bool:
    return Path(f"/proc/{pid}/cmdline").read_bytes().startswith(SLEEP.encode())


@pytest.fixture
def sleepers() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Two harmless processes, each leading its own process group, cleaned up whatever happens."""
    processes = [subprocess.Popen([SLEEP, "60"], start_new_session=True) for _ in range(2)]  # noqa: S603
    # Popen returns once exec has begun; the kernel fills in /proc/<pid>/cmdline a moment later, and the stack
    # identifies its processes by that command line. On a busy machine the tests could otherwise look too soon.
    deadline = time.monotonic() + 10
    while not all(_runs_sleep(process.pid) for process in processes) and time.monotonic() < deadline:
        time.sleep(0.01)
    yield processes
    for process in processes:
        process.kill()
        process.wait()


def test_down_stops_only_the_recorded_processes(stack: LocalStack, sleepers: list[subprocess.Popen[bytes]]) -> None:
    """A process the stack recorded is stopped; an identical process it did not start keeps running."""
    mine, other = sleepers
    StackState(stack.ports, [Started("sleeper", mine.pid, [SLEEP, "60"], "log")]).save(stack.state_file)

    assert stack.down() == ["sleeper"]

    assert mine.wait(timeout=10) is not None
    assert other.poll() is None
    assert not stack.state_file.exists()


def test_a_reused_pid_is_left_alone(stack: LocalStack, sleepers: list[subprocess.Popen[bytes]]) -> None:
    """If a recorded PID now runs another command, down does not touch it."""
    stranger = sleepers[0]
    StackState(stack.ports, [Started("worker", stranger.pid, ["/x/prefect", "worker"], "log")]).save(stack.state_file)

    assert stack.down() == []
    assert stranger.poll() is None


def test_status_reports_recorded_processes(stack: LocalStack, sleepers: list[subprocess.Popen[bytes]]) -> None:
    """Status lists each recorded process as running or stopped, and the servers' health."""
    StackState(stack.ports, [Started("sleeper", sleepers[0].pid, [SLEEP, "60"], "log")]).save(stack.state_file)
    rows = dict(stack.status())
    assert rows["sleeper"] == f"running (pid {sleepers[0].pid})"
    assert rows["Prefect API"] == "not answering"


def test_up_refuses_a_port_that_is_taken(settings: Settings, tmp_path: Path) -> None:
    """When the Prefect port is busy, up fails before starting anything and says which port."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        stack = LocalStack(tmp_path, settings, Ports(prefect=port, moto=port + 1), report=lambda _: None)
        with pytest.raises(StackError, match=f"port {port} for Prefect on 127.0.0.1 is taken"):
            stack.up()
    assert not stack.state_file.exists()


def test_nothing_recorded_means_nothing_to_stop(stack: LocalStack) -> None:
    """Down without a prior up stops nothing."""
    assert stack.down() == []
    assert stack.status() == []


def test_a_port_left_in_time_wait_counts_as_free() -> None:
    """`make down` then `make up` at once: the old server's connections wait in TIME_WAIT, yet nothing listens.

    The probe used to bind without SO_REUSEADDR and call such a port taken; a server started with the option (as
    Prefect's and moto's are) binds it fine.
    """
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = server.accept()
    accepted.close()  # the server's end closes first, so it is the one left in TIME_WAIT
    client.close()
    server.close()

    assert port_free(port)


def test_a_port_someone_listens_on_is_taken() -> None:
    """A live listener still makes the port taken."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        assert not port_free(listener.getsockname()[1])
