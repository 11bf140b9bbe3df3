"""The README's path on a fresh stack: `make up`, the one documented run, emails in outbox/, `make down`.

Everything runs as a person runs it, from this checkout: make, the stack's own processes on 127.0.0.1 (stopped by
their recorded PIDs), the Prefect CLI, the worker and the stream runner.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import time
from email import message_from_bytes
from email.message import Message
from pathlib import Path

import httpx
import pytest

from gas_local.stack import DEMO_UNTIL, demo_run_command
from tests.support.data import REPO
from tests.support.terraform import free_port

pytestmark = pytest.mark.slow(seconds=60)

MAKE = shutil.which("make") or "make"
EMAILS = 4  # Glens Falls, Watertown and White Plains fell in the week of 2026-02-23, and their digest
WAIT_FOR_EMAILS_S = 120


def make(target: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run a make target of the checkout, as the README says."""
    return subprocess.run(  # noqa: S603 (make, with a target written here)
        [MAKE, "--no-print-directory", target],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def emails_in(outbox: Path) -> list[Message]:
    """The emails the stream runner wrote so far."""
    return [message_from_bytes(path.read_bytes()) for path in sorted(outbox.glob("*.eml"))]


def test_make_up_then_the_documented_run_puts_emails_in_the_outbox(tmp_path: Path) -> None:
    """From `make up` to four emails: the steps are shown, the schedule is paused, and it takes minutes, not more."""
    prefect_port, moto_port = free_port(), free_port()
    env = {
        **os.environ,
        "GAS_ALERTS_PREFECT_PORT": str(prefect_port),
        "GAS_ALERTS_MOTO_PORT": str(moto_port),
        "GAS_ALERTS_STATE_DIR": str(tmp_path / "state"),
        "GAS_ALERTS_OUTBOX": str(tmp_path / "outbox"),
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
    }
    for name in ("AWS_ENDPOINT_URL", "PREFECT_API_URL"):
        env.pop(name, None)
    # The machine the README asks for has Python and make, not Terraform: make up then provisions moto itself.
    # Its Terraform path, gas_local.terraform.apply_local_stack, is applied in tests/contract/test_provision_parity.py.
    env["PATH"] = os.pathsep.join(
        folder for folder in env["PATH"].split(os.pathsep) if not (Path(folder) / "terraform").exists()
    )
    started = time.monotonic()
    try:
        up = make("up", env)
        assert up.returncode == 0, up.stdout + up.stderr
        for step in ("moto:", "Prefect:", "deploy:", "seed:", "worker:", "stream runner:"):
            assert f"  {step}" in up.stdout, f"make up did not show the step {step!r}"
        assert "  provisioning:" in up.stdout
        api = f"http://127.0.0.1:{prefect_port}/api"
        assert f"export PREFECT_API_URL={api}" in up.stdout
        assert demo_run_command() in up.stdout

        run = subprocess.run(  # noqa: S603 (the command make up printed, from this checkout)
            shlex.split(demo_run_command()),
            cwd=REPO,
            env={**env, "PREFECT_API_URL": api},
            text=True,
            capture_output=True,
            timeout=300,
            check=False,
        )
        assert run.returncode == 0, run.stdout + run.stderr
        deadline = time.monotonic() + WAIT_FOR_EMAILS_S
        while len(emails_in(tmp_path / "outbox")) < EMAILS and time.monotonic() < deadline:
            time.sleep(1)
        seconds = time.monotonic() - started
        emails = emails_in(tmp_path / "outbox")
        schedules = httpx.post(f"{api}/deployments/filter", json={}, timeout=10).json()
    finally:
        down = make("down", env)
    print(f"make up to the last email: {seconds:.0f} s")
    assert down.returncode == 0
    assert sorted(str(email["Subject"]) for email in emails) == [
        "Gas fell 1 cent in Glens Falls: $3.01/gal",
        "Gas fell 1 cent in Watertown: $3.03/gal",
        "Gas fell 1 cent in White Plains: $3.09/gal",
        f"Gas fell in 3 regions in the week of {DEMO_UNTIL}, by up to 1 cent",
    ]
    weekly = next(deployment for deployment in schedules if deployment["name"] == "weekly")
    assert weekly["schedules"], "the deployment keeps its daily schedule"
    assert not any(schedule["active"] for schedule in weekly["schedules"]), "locally the schedule is paused"
