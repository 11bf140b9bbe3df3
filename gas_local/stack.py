"""The local stack behind `make up`: Prefect, moto, worker, stream runner and scheduler on 127.0.0.1, no Docker."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx

from gas_alerts.settings import Settings
from gas_alerts.tls import tls_context
from gas_local.environment import local_aws_environment, patched_environment
from gas_local.provision import ensure_inboxes
from gas_local.terraform import (
    PACKAGE_IN_COPY,
    ProviderUnavailableError,
    TerraformError,
    apply_local_stack,
    find_provider_mirror,
    find_terraform,
    local_variables,
    terraform_name_prefix,
)

HOST = "127.0.0.1"
POOL = "gas-alerts"
STARTUP_TIMEOUT = 120.0
STOP_TIMEOUT = 15.0
OFFLINE_SAMPLE = "data/ny_gas_prices_weekly_2017_2026.csv"
# `make up` stores the bundled export as it stood on this week (a baseline), so that one documented run, reading it
# as it stood a week later (DEMO_UNTIL, when Glens Falls, Watertown and White Plains fell), sends emails.
SEED_UNTIL = "2026-02-16"
DEMO_UNTIL = "2026-02-23"


def demo_run_command() -> str:
    """The one deployment run that makes the local stack send its first emails, from the bundled export."""
    return (
        ".venv/bin/prefect deployment run 'check-gas-prices/weekly' "
        f"-p source={OFFLINE_SAMPLE} -p until={DEMO_UNTIL} --watch"
    )


class StackError(RuntimeError):
    """The stack could not start, or is in a state that needs the user's attention."""


@dataclass(frozen=True)
class Ports:
    """Where the stack listens; GAS_ALERTS_PREFECT_PORT and GAS_ALERTS_MOTO_PORT override the defaults."""

    prefect: int = 4200
    moto: int = 5000

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> Ports:
        """Read the ports, falling back to 4200 (Prefect's usual port) and 5000 (moto's)."""
        return cls(
            prefect=int(environ.get("GAS_ALERTS_PREFECT_PORT") or cls.prefect),
            moto=int(environ.get("GAS_ALERTS_MOTO_PORT") or cls.moto),
        )

    @property
    def prefect_api(self) -> str:
        """The Prefect API address that clients and workers use."""
        return f"http://{HOST}:{self.prefect}/api"

    @property
    def prefect_ui(self) -> str:
        """The Prefect UI address for a browser."""
        return f"http://{HOST}:{self.prefect}"

    @property
    def moto_endpoint(self) -> str:
        """The local AWS endpoint."""
        return f"http://{HOST}:{self.moto}"


@dataclass
class Started:
    """A process the stack started: enough to stop exactly it later."""

    name: str
    pid: int
    argv: list[str]
    log: str


@dataclass
class StackState:
    """What `up` recorded in the state folder for `status` and `down`."""

    ports: Ports
    processes: list[Started] = field(default_factory=list)
    # Which way the AWS resources were made on moto (Terraform, or `gas-alerts local provision`) and why.
    provisioned_by: str = ""

    @classmethod
    def load(cls, path: Path) -> StackState | None:
        """The recorded stack, or None when nothing was started."""
        if not path.exists():
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
        processes = [Started(**process) for process in data["processes"]]
        return cls(Ports(**data["ports"]), processes, data.get("provisioned_by", ""))

    def save(self, path: Path) -> None:
        """Record the stack (written after each start, so a failed `up` can still be taken down)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        processes = [asdict(p) for p in self.processes]
        path.write_text(
            json.dumps({"ports": asdict(self.ports), "processes": processes, "provisioned_by": self.provisioned_by})
        )


class LocalStack:
    """Starts, inspects and stops the local stack; every process's PID is recorded and only those are stopped."""

    def __init__(self, project_dir: Path, settings: Settings, ports: Ports, report: Callable[[str], None]) -> None:
        self.project_dir = project_dir
        self.settings = settings
        self.ports = ports
        self.report = report
        self.home = settings.state_dir / "stack"
        self.logs = self.home / "logs"
        self.state_file = self.home / "processes.json"
        # A copy of infra/ with its Terraform state, outside the repository so the checkout stays clean.
        self.terraform_dir = self.home / "terraform"
        self.bin = Path(sys.executable).parent

    def environment(self) -> dict[str, str]:
        """The environment every stack process gets: the local Prefect API, moto, and the project folder."""
        env = dict(os.environ)
        env.update(local_aws_environment(self.ports.moto_endpoint))
        env.update(
            {
                "PREFECT_API_URL": self.ports.prefect_api,
                "PREFECT_HOME": str(self.home / "prefect-home"),
                "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                "GAS_ALERTS_PROJECT_DIR": str(self.project_dir),
                **self.settings.to_environment(),
                "PYTHONUNBUFFERED": "1",
            }
        )
        return env

    def up(self) -> StackState:
        """Start everything, provision, deploy prefect.yaml, then the worker, the stream runner and the scheduler."""
        existing = StackState.load(self.state_file)
        if existing and any(_alive(process) for process in existing.processes):
            raise StackError("the stack is already running (`gas-alerts local status`); stop it with `make down`")
        for name, port in (("Prefect", self.ports.prefect), ("moto", self.ports.moto)):
            if not port_free(port):
                raise StackError(
                    f"port {port} for {name} on {HOST} is taken; free it or set "
                    f"GAS_ALERTS_{name.upper()}_PORT to another port"
                )
        self.logs.mkdir(parents=True, exist_ok=True)
        state = StackState(self.ports)
        env = self.environment()
        started = time.monotonic()
        # Prefect's server takes the longest to start, so it starts first and boots while moto is provisioned.
        self._start(
            state,
            "prefect-server",
            ["prefect", "server", "start", "--host", HOST, "--port", str(self.ports.prefect)],
            env,
        )
        self.report(f"moto: starting on {self.ports.moto_endpoint}")
        self._start(
            state, "moto", ["python", "-m", "gas_local.moto_server", "-H", HOST, "-p", str(self.ports.moto)], env
        )
        _wait_healthy(f"{self.ports.moto_endpoint}/moto-api/", "moto", self.logs / "moto.log")
        state.provisioned_by = self.provision_aws(env)
        state.save(self.state_file)
        self.report(f"Prefect: waiting for its server on {self.ports.prefect_ui} (SQLite)")
        _wait_healthy(f"{self.ports.prefect_api}/health", "the Prefect server", self.logs / "prefect-server.log")
        self.report("deploy: creating the work pool and deploying prefect.yaml (its schedule paused)")
        self._run("prefect-setup", [str(self.bin / "python"), "deployments/setup.py", "--pool", POOL], env)
        self._run("deploy", [str(self.bin / "prefect"), "--no-prompt", "deploy", "--all"], env)
        # Locally the daily schedule is paused, so a running stack never calls the live API on its own.
        pause = [str(self.bin / "prefect"), "--no-prompt", "deployment", "schedule", "pause", "--all"]
        self._run("pause-schedules", pause, env)
        self.report(f"seed: storing the bundled export as it stood on {SEED_UNTIL} (a baseline, no email)")
        seed = [str(self.bin / "gas-alerts"), "check", "--source", OFFLINE_SAMPLE, "--until", SEED_UNTIL]
        self._run("seed", seed, env)
        self.report(f"worker: starting a process worker on the pool {POOL}")
        self._start(state, "worker", ["prefect", "worker", "start", "--pool", POOL, "--type", "process"], env)
        # With Terraform's mapping deployed, the runner plays it with the zip that apply deployed.
        package = self.terraform_dir / "infra" / PACKAGE_IN_COPY
        self.report("stream runner: delivering the table's stream to the publisher and the inboxes to outbox/")
        deliver = ["gas-alerts", "local", "deliver", "--follow", "--package", str(package)]
        self._start(state, "stream-runner", deliver, env)
        self.report("scheduler: running the publisher's hourly sweep on its schedule, as EventBridge Scheduler does")
        self._start(state, "scheduler", ["gas-alerts", "local", "schedule", "--follow", "--package", str(package)], env)
        time.sleep(1.0)
        dead = [process.name for process in state.processes if not _alive(process)]
        if dead:
            raise StackError(f"{', '.join(dead)} stopped right after starting; see the logs in {self.logs}")
        self.report(f"up in {time.monotonic() - started:.0f} s")
        return state

    def provision_aws(self, env: Mapping[str, str]) -> str:
        """Make the AWS side on moto with Terraform if terraform and its provider can be had; say which way and why."""
        self.logs.mkdir(parents=True, exist_ok=True)
        terraform = find_terraform()
        name_prefix = terraform_name_prefix(self.settings)
        if terraform is None:
            reason = "terraform is not on PATH"
        elif name_prefix is None:
            reason = (
                "the GAS_ALERTS_* resource names do not follow infra/'s naming "
                "(<prefix>-prices, -price-drops, -weekly-digest, -publisher-dlq)"
            )
        else:
            try:
                return self._provision_with_terraform(terraform, name_prefix)
            except ProviderUnavailableError as error:
                reason = str(error)
        self.report(f"provisioning: the table, stream, topics and queues with `gas-alerts local provision` ({reason})")
        self._run("provision", [str(self.bin / "gas-alerts"), "local", "provision"], env)
        return f"`gas-alerts local provision`, not Terraform: {reason}"

    def _provision_with_terraform(self, terraform: str, name_prefix: str) -> str:
        mirror = find_provider_mirror()
        source = f"the provider mirror at {mirror}" if mirror else "the registry (no provider mirror was found)"
        self.report(f"Terraform: applying infra/ to moto, hashicorp/aws from {source} (about 40 s)")
        log = self.logs / "terraform.log"
        try:
            applied = apply_local_stack(
                self.terraform_dir,
                self.ports.moto_endpoint,
                local_variables(name_prefix),
                binary=terraform,
                mirror=mirror,
                log=log,
            )
        except TerraformError as error:
            raise StackError(f"terraform could not apply infra/ to moto; see {log}") from error
        self.report(f"Terraform: {applied.resources} resources in {applied.seconds:.0f} s; subscribing the inboxes")
        with patched_environment(local_aws_environment(self.ports.moto_endpoint)):
            ensure_inboxes(
                self.settings,
                topic_arn=applied.outputs["topic_arn"],
                digest_topic_arn=applied.outputs["digest_topic_arn"],
            )
        return (
            f"Terraform: infra/ applied to moto, {applied.resources} resources in {applied.seconds:.0f} s, "
            f"hashicorp/aws from {source}; working copy and state in {self.terraform_dir}"
        )

    def down(self) -> list[str]:
        """Stop exactly the processes `up` recorded (each with its process group), newest first."""
        state = StackState.load(self.state_file)
        if state is None:
            return []
        stopped = []
        for process in reversed(state.processes):
            if _alive(process):
                _stop(process)
                stopped.append(process.name)
        self.state_file.unlink()
        return stopped

    def status(self) -> list[tuple[str, str]]:
        """Each recorded process with whether it runs, plus the health of the two servers."""
        state = StackState.load(self.state_file)
        if state is None:
            return []
        rows = [(p.name, f"running (pid {p.pid})" if _alive(p) else "stopped") for p in state.processes]
        rows.append(("Prefect API", "healthy" if _healthy(f"{state.ports.prefect_api}/health") else "not answering"))
        rows.append(("moto", "healthy" if _healthy(f"{state.ports.moto_endpoint}/moto-api/") else "not answering"))
        if state.provisioned_by:
            rows.append(("AWS resources", state.provisioned_by))
        return rows

    def _start(self, state: StackState, name: str, argv: Sequence[str], env: Mapping[str, str]) -> None:
        command = [str(self.bin / argv[0]), *argv[1:]]
        log = self.logs / f"{name}.log"
        with log.open("ab") as output:
            # A new session makes the process lead its own group, so `down` can stop its children with it.
            process = subprocess.Popen(  # noqa: S603 (fixed argv from this module, no shell)
                command, **self._child_options(output, env), start_new_session=True
            )
        state.processes.append(Started(name, process.pid, command, str(log)))
        state.save(self.state_file)

    def _run(self, name: str, command: Sequence[str], env: Mapping[str, str]) -> None:
        log = self.logs / f"{name}.log"
        with log.open("ab") as output:
            result = subprocess.run(  # noqa: S603 (fixed argv from this module, no shell)
                list(command), **self._child_options(output, env), check=False, timeout=300
            )
        if result.returncode != 0:
            raise StackError(f"{name} failed (exit {result.returncode}); see {log}")

    def _child_options(self, output: IO[bytes], env: Mapping[str, str]) -> dict[str, Any]:
        """How every child runs: in the project folder, with the given environment, into its log, without input."""
        return {
            "cwd": self.project_dir,
            "env": dict(env),
            "stdout": output,
            "stderr": subprocess.STDOUT,
            "stdin": subprocess.DEVNULL,
        }


def port_free(port: int) -> bool:
    """Whether a server could listen on the port now: nothing listens there (old connections may linger)."""
    with socket.socket() as probe:
        # As the servers themselves do: connections of a server stopped a moment ago, waiting in TIME_WAIT, do not
        # keep a new one from binding; only a live listener does.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


def _healthy(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2.0, verify=tls_context()).status_code == 200
    except httpx.HTTPError:
        return False


def _wait_healthy(url: str, what: str, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not _healthy(url):
        if time.monotonic() > deadline:
            raise StackError(f"{what} did not answer at {url} within {STARTUP_TIMEOUT:.0f} s; see {log}")
        time.sleep(0.5)


def _alive(process: Started) -> bool:
    """True only if the PID still runs the command we started (a reused PID belongs to someone else)."""
    try:
        cmdline = Path(f"/proc/{process.pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    # Console scripts run as `python <script> ...`, so the recorded command is the first or second word.
    return process.argv[0] in [part.decode(errors="replace") for part in cmdline[:2]]


def _stop(process: Started) -> None:
    """SIGTERM the process group the stack created, then SIGKILL it if it lingers."""
    if os.getpgid(process.pid) != process.pid:
        raise StackError(f"{process.name} (pid {process.pid}) no longer leads its own process group; not stopping it")
    os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    while _alive(process) and time.monotonic() < deadline:
        time.sleep(0.2)
    if _alive(process):
        os.killpg(process.pid, signal.SIGKILL)
