"""Shared by the Terraform tests: the tools they need, a moto server in a process of its own, and subscriber entries."""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from gas_alerts.filter_policy import SubscriberFilter
from gas_local.package import DEFAULT_SOURCE, build_package
from gas_local.terraform import (
    INIT,
    MIRROR_DIR_NAME,
    MIRROR_SEARCH_DEPTH,
    PACKAGE_IN_COPY,
    Terraform,
    cli_config,
    copy_stack,
    find_provider_mirror,
    find_terraform,
    terraform_environment,
)
from tests.support.hcl import INFRA, REPO, parse

MOTO_START_TIMEOUT_S = 30
PROVIDER_START_TIMEOUT_S = 60
STOP_TIMEOUT_S = 30
REATTACH_VARIABLE = "TF_REATTACH_PROVIDERS"
EXAMPLE_TFVARS = INFRA / "terraform.tfvars.example"
RUNBOOK = REPO / "docs" / "deploy.md"
# Where the runbook tells the operator to put the S3 backend, in their fork of infra/.
BACKEND_FILE = "backend.tf"
# The subscriber fields that are numbers of cents, dollars or percent (Decimal in SubscriberFilter), and counts (int).
DECIMAL_FIELDS = ("min_drop_cents", "max_price", "min_drop_percent", "min_largest_drop_cents")
COUNT_FIELDS = ("min_low_weeks", "min_regions_fallen")


@dataclass(frozen=True)
class Tools:
    """The terraform binary and the folder of its provider mirror."""

    terraform: str
    mirror: Path


@pytest.fixture(scope="module")
def terraform_tools() -> Tools:
    """Terraform and a provider mirror with hashicorp/aws, or a skip that names the missing one."""
    return find_tools()


def find_tools() -> Tools:
    """Terraform and a provider mirror with hashicorp/aws, or a skip that names the missing one."""
    terraform = find_terraform()
    if terraform is None:
        pytest.skip("terraform is not on PATH")
    mirror = find_provider_mirror()
    if mirror is None:
        pytest.skip(f"no provider mirror: no {MIRROR_DIR_NAME}/hashicorp/aws within {MIRROR_SEARCH_DEPTH} levels of /")
    return Tools(terraform, mirror)


def runbook_backend_block() -> str:
    """The S3 backend block docs/deploy.md tells the operator to commit as infra/backend.tf, exactly as written."""
    blocks: list[str] = re.findall(r"```hcl\n(.*?)```", RUNBOOK.read_text(encoding="utf-8"), flags=re.DOTALL)
    [block] = [block for block in blocks if 'backend "s3"' in block]
    return block


def operator_fork(folder: Path) -> Path:
    """infra/ as the runbook's fork holds it: the repository's files plus backend.tf with the runbook's S3 backend."""
    fork = folder / "infra"
    shutil.copytree(INFRA, fork, ignore=shutil.ignore_patterns(".terraform", "*.tfstate*", "build", "*.tfvars"))
    (fork / BACKEND_FILE).write_text(runbook_backend_block(), encoding="utf-8")
    return fork


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
    with moto_server_process(tmp_path_factory.mktemp("moto") / "moto.log") as endpoint:
        yield endpoint


@contextmanager
def moto_server_process(log: Path) -> Iterator[str]:
    """A moto server in a process of its own on 127.0.0.1, stopped by its PID afterwards."""
    # Not local_aws(): moto's state is global to a process, so an in-process server would share the tables
    # and topics other tests leave in the session's server, and "nothing is left" could not be checked.
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    with log.open("wb") as output:
        server = subprocess.Popen(  # noqa: S603 (this interpreter, with arguments written in this file)
            [sys.executable, "-m", "gas_local.moto_server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until_listening(endpoint, server)
        yield endpoint
    finally:
        stop(server)


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a process this module started, by its PID: SIGTERM, then SIGKILL if it is still there after a while."""
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def example_subscribers() -> list[dict[str, Any]]:
    """The subscribers of infra/terraform.tfvars.example, as Terraform reads them."""
    subscribers: list[dict[str, Any]] = parse(EXAMPLE_TFVARS)["subscribers"]
    return subscribers


def subscriber_filter(entry: Mapping[str, Any]) -> SubscriberFilter:
    """The SubscriberFilter of one Terraform subscribers entry (the same choice, in the Python helper's types)."""

    def decimal(name: str) -> Decimal | None:
        return None if entry.get(name) is None else Decimal(str(entry[name]))

    def count(name: str) -> int | None:
        return None if entry.get(name) is None else int(entry[name])

    return SubscriberFilter(
        regions=tuple(entry.get("regions", ())),
        min_drop_cents=decimal("min_drop_cents"),
        max_price=decimal("max_price"),
        min_drop_percent=decimal("min_drop_percent"),
        min_low_weeks=count("min_low_weeks"),
        digest=bool(entry.get("digest", False)),
        min_regions_fallen=count("min_regions_fallen"),
        min_largest_drop_cents=decimal("min_largest_drop_cents"),
    )


def terraform_subscriber(email: str, choice: SubscriberFilter) -> dict[str, Any]:
    """The Terraform subscribers entry for one SubscriberFilter: the fields it sets, as JSON numbers."""
    entry: dict[str, Any] = {"email": email, "digest": choice.digest}
    if choice.regions:
        entry["regions"] = list(choice.regions)
    for name in (*DECIMAL_FIELDS, *COUNT_FIELDS):
        value = getattr(choice, name)
        if value is not None:
            entry[name] = int(value) if value == int(value) else float(value)
    return entry


@contextmanager
def one_provider_process(terraform: Terraform, log: Path) -> Iterator[Terraform]:
    """The AWS provider `init` installed, started once in its debug mode, and a Terraform that reuses that process.

    Otherwise every plan, apply, validate or show hashes the 675 MB provider against the lock file and starts it
    twice: 3 to 6 s of CPU each, against 1.5 to 3.5 s reattached. The binary, the configuration and the requests are
    the same; only their process is shared. It runs with Terraform's own environment (the moto endpoint, fake keys)
    and is stopped by its PID.
    """
    providers = terraform.workdir / ".terraform" / "providers" / "registry.terraform.io" / "hashicorp" / "aws"
    [binary] = providers.glob("*/*/terraform-provider-aws*")
    # Its socket goes in the test's own folder, not /tmp; it reads the configuration's relative paths (the zip) from
    # its working folder, as when Terraform starts it. Terraform's environment is built from scratch, without
    # AWS_CA_BUNDLE: with one, this provider refuses to be configured a second time in the same process.
    environment = {**terraform.environment, "TMPDIR": str(log.parent)}
    with log.open("wb") as output:
        provider = subprocess.Popen(  # noqa: S603 (the provider init installed, with a fixed flag)
            [str(binary), "-debug"], cwd=terraform.workdir, env=environment, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        reattach = _reattach_value(provider, log)
        yield Terraform(terraform.binary, terraform.workdir, {**terraform.environment, REATTACH_VARIABLE: reattach})
    finally:
        stop(provider)


def _reattach_value(provider: subprocess.Popen[bytes], log: Path) -> str:
    """The TF_REATTACH_PROVIDERS value a provider in debug mode prints once it listens."""
    deadline = time.monotonic() + PROVIDER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        assert provider.poll() is None, f"the provider exited with code {provider.returncode}:\n{log.read_text()}"
        for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
            if f"{REATTACH_VARIABLE}='" in line:
                value = line.split(f"{REATTACH_VARIABLE}='", 1)[1].rstrip().removesuffix("'")
                json.loads(value)  # a half-written line is not valid JSON yet
                return value
        time.sleep(0.1)
    raise AssertionError(f"the provider printed no {REATTACH_VARIABLE} within {PROVIDER_START_TIMEOUT_S} s")


# ---- the stack, applied once for the tests that need it ------------------------------------------------------------

REGION = "us-east-1"
LOCAL_VARS = ("-var-file=terraform.tfvars.example", "-var", "deletion_protection=false")


@dataclass
class Stack:
    """The applied stack and what was seen on the way there."""

    terraform: Terraform
    endpoint: str
    code_sha256: str
    outputs: dict[str, Any]
    plan_without_package: subprocess.CompletedProcess[str]
    shown: dict[str, Any] | None = None

    def state(self) -> dict[str, Any]:
        """`terraform show -json`: every resource and data source as applied, read once (a show loads the provider)."""
        if self.shown is None:
            self.shown = json.loads(self.terraform.succeed("show", "-json"))
        return self.shown

    def policy_document(self, module: str, name: str) -> dict[str, Any]:
        """The JSON an aws_iam_policy_document data source rendered ('' is the root module)."""
        root = self.state()["values"]["root_module"]
        modules = [root, *root.get("child_modules", [])]
        address = f"{module}.data.aws_iam_policy_document.{name}" if module else f"data.aws_iam_policy_document.{name}"
        for found in modules:
            for resource in found.get("resources", []):
                if resource["address"] == address:
                    document: dict[str, Any] = json.loads(resource["values"]["json"])
                    return document
        raise KeyError(f"no {address} in the applied state")


@pytest.fixture(scope="session")
def applied_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The runbook's fork of infra/ checked, initialised offline and applied once to a moto server of its own.

    The fork holds the runbook's backend.tf, as the operator's does, so every Terraform test runs with it. The files
    that use the stack form one unit of work (tests/conftest.py), so one apply serves them all; the test that
    destroys it is marked `destroys_stack` and runs after the others.
    """
    tools = find_tools()
    work = tmp_path_factory.mktemp("terraform")
    with moto_server_process(work / "moto.log") as endpoint:
        infra = copy_stack(work, operator_fork(tmp_path_factory.mktemp("fork")))
        environment = terraform_environment(endpoint, home=work, config=cli_config(work, tools.mirror))
        installing = Terraform(tools.terraform, infra, environment)
        installing.succeed("fmt", "-check", "-recursive")
        installing.succeed(*INIT)
        with one_provider_process(installing, work / "provider.log") as terraform:
            terraform.succeed("validate")
            plan_without_package = terraform.run("plan", *LOCAL_VARS)
            code_sha256 = build_package(DEFAULT_SOURCE, infra / PACKAGE_IN_COPY)
            terraform.succeed("apply", "-auto-approve", *LOCAL_VARS)
            try:
                yield Stack(terraform, endpoint, code_sha256, terraform.outputs(), plan_without_package)
            finally:
                if terraform.run("state", "list").stdout.strip():
                    terraform.run("destroy", "-auto-approve", *LOCAL_VARS)
