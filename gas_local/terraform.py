"""Terraform on a local AWS: find it and a provider mirror, copy infra/ out of the repository, and apply it there."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gas_alerts.settings import DEFAULT_AWS_REGION, Settings
from gas_alerts.terraform_state import first_error
from gas_local.package import DEFAULT_OUTPUT, DEFAULT_SOURCE, REPO, build_package

INFRA = REPO / "infra"
MIRROR_DIR_NAME = "registry.terraform.io"
# Like `find / -maxdepth 4 -type d -name registry.terraform.io`, without the kernel's pseudo file systems.
MIRROR_SEARCH_DEPTH = 4
NOT_SEARCHED = frozenset({Path("/proc"), Path("/sys"), Path("/dev"), Path("/run")})
# What a developer's own working files in infra/ may hold; none of it belongs in a copy applied elsewhere. The
# committed .terraform.lock.hcl is copied: the copy installs the provider version it names, checked by its hashes.
NOT_COPIED = (".terraform", "*.tfstate*", "build", "terraform.tfvars", "*.auto.tfvars")
NOT_COPIED_OVERRIDES = ("*_override.tf", "*_override.tf.json", "override.tf", "override.tf.json")
# The operator's fork holds a backend (docs/deploy.md, step 2) in whatever file they chose. Terraform merges an
# override file's backend over the original one, so the copy keeps its state in its own folder whatever the fork says,
# and init sets that backend up instead of stopping on the S3 one (or on a `cloud` block).
LOCAL_BACKEND_OVERRIDE = "gas_alerts_local_backend_override.tf"
LOCAL_BACKEND = 'terraform {\n  backend "local" {}\n}\n'
# The zip's place in a copy, where infra/'s default lambda_package_path points (build/ under infra/).
PACKAGE_IN_COPY = DEFAULT_OUTPUT.relative_to(INFRA)
LOCAL_VAR_FILE = "local.tfvars.json"
TERRAFORM_TIMEOUT_S = 900
# A copy's init: its backend is the local one the override sets, and the providers come as the lock file says.
INIT = ("init", "-input=false")
# Without a mirror, init downloads the provider; these let a user's own CLI config, cache and proxy still apply.
PASSED_THROUGH_WITHOUT_MIRROR = (
    "TF_CLI_CONFIG_FILE",
    "TF_PLUGIN_CACHE_DIR",
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "NO_PROXY",
    "no_proxy",
)
# The suffixes infra/main.tf appends to name_prefix; the local stack's settings must follow them to use Terraform.
TERRAFORM_NAME_SUFFIXES = {
    "table_name": "-prices",
    "topic_name": "-price-drops",
    "digest_topic_name": "-weekly-digest",
    "dead_letter_queue": "-publisher-dlq",
}


class TerraformError(RuntimeError):
    """A terraform command failed; the message holds its output."""


class ProviderUnavailableError(RuntimeError):
    """terraform init could not install hashicorp/aws (no mirror, and the registry did not answer)."""


def find_terraform() -> str | None:
    """The terraform binary on PATH, if there is one."""
    return shutil.which("terraform")


def find_provider_mirror(root: Path = Path("/"), depth: int = MIRROR_SEARCH_DEPTH) -> Path | None:
    """The folder holding registry.terraform.io/hashicorp/aws, searched breadth-first at most depth levels deep."""
    level = [root]
    for _ in range(depth):
        below: list[Path] = []
        for folder in level:
            for child in _subfolders(folder):
                if child.name == MIRROR_DIR_NAME and (child / "hashicorp" / "aws").is_dir():
                    return folder
                below.append(child)
        level = below
    return None


def _subfolders(folder: Path) -> list[Path]:
    try:
        entries = list(os.scandir(folder))
    except OSError:  # unreadable folders are simply not searched
        return []
    return sorted(
        Path(entry.path)
        for entry in entries
        if entry.is_dir(follow_symlinks=False) and Path(entry.path) not in NOT_SEARCHED
    )


def copy_stack(destination: Path, source: Path = INFRA) -> Path:
    """Copy infra/ (or a fork of it) and the contract files it reads, laid out as in the repository; return the copy."""
    infra = destination / "infra"
    shutil.copytree(source, infra, ignore=shutil.ignore_patterns(*NOT_COPIED, *NOT_COPIED_OVERRIDES))
    (infra / LOCAL_BACKEND_OVERRIDE).write_text(LOCAL_BACKEND, encoding="utf-8")
    contract_copy = destination / "lambda" / "gas_publisher"
    contract_copy.mkdir(parents=True)
    for path in (DEFAULT_SOURCE / "gas_publisher").glob("*.json"):
        shutil.copy2(path, contract_copy / path.name)
    return infra


def cli_config(directory: Path, mirror: Path) -> Path:
    """A Terraform CLI config that installs hashicorp providers from the mirror only, so init needs no network."""
    config = directory / "terraform.tfrc"
    config.write_text(
        "provider_installation {\n"
        "  filesystem_mirror {\n"
        f"    path    = {json.dumps(str(mirror))}\n"
        '    include = ["registry.terraform.io/hashicorp/*"]\n'
        "  }\n"
        "}\n",
        encoding="utf-8",
    )
    return config


def terraform_environment(
    endpoint: str, *, home: Path, config: Path | None, inherited: Mapping[str, str] = os.environ
) -> dict[str, str]:
    """A clean environment: the CLI config (or the user's, without a mirror), and the provider pointed at endpoint."""
    # Built from scratch, so a developer's AWS_PROFILE or real keys can never reach the provider.
    environment = {
        "PATH": inherited.get("PATH", ""),
        "HOME": str(home),
        "TF_IN_AUTOMATION": "1",
        "TF_INPUT": "0",
        "CHECKPOINT_DISABLE": "1",
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": DEFAULT_AWS_REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    if config is not None:
        environment["TF_CLI_CONFIG_FILE"] = str(config)
    else:
        environment.update({name: inherited[name] for name in PASSED_THROUGH_WITHOUT_MIRROR if name in inherited})
    return environment


@dataclass(frozen=True)
class Terraform:
    """Runs terraform in one working folder, appending each command and its output to a log when given one."""

    binary: str
    workdir: Path
    environment: dict[str, str]
    log: Path | None = None

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run one terraform command and return its result, whatever its exit code."""
        result = subprocess.run(  # noqa: S603 (terraform from PATH, with arguments written by this project)
            [self.binary, *args, "-no-color"],
            cwd=self.workdir,
            env=self.environment,
            capture_output=True,
            text=True,
            timeout=TERRAFORM_TIMEOUT_S,
            check=False,
        )
        if self.log is not None:
            self.log.parent.mkdir(parents=True, exist_ok=True)
            with self.log.open("a", encoding="utf-8") as output:
                output.write(
                    f"$ terraform {' '.join(args)}\n{result.stdout}{result.stderr}(exit {result.returncode})\n"
                )
        return result

    def succeed(self, *args: str) -> str:
        """Run one terraform command that must exit 0, and return its standard output."""
        result = self.run(*args)
        if result.returncode != 0:
            raise TerraformError(f"terraform {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def outputs(self) -> dict[str, Any]:
        """The root module's outputs, name to value."""
        return {name: item["value"] for name, item in json.loads(self.succeed("output", "-json")).items()}


def terraform_name_prefix(settings: Settings) -> str | None:
    """The name_prefix that gives Terraform's resources the settings' names, or None when no prefix does."""
    prefix = settings.table_name.removesuffix(TERRAFORM_NAME_SUFFIXES["table_name"])
    names = {field: prefix + suffix for field, suffix in TERRAFORM_NAME_SUFFIXES.items()}
    return prefix if all(getattr(settings, field) == name for field, name in names.items()) else None


def local_variables(name_prefix: str, subscribers: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """Variables for a local apply: the stack's names, no alarm emails, and a table that may go."""
    return {
        "aws_region": DEFAULT_AWS_REGION,
        "name_prefix": name_prefix,
        "subscribers": list(subscribers),
        "alarm_emails": [],
        "deletion_protection": False,
    }


@dataclass(frozen=True)
class Applied:
    """A stack Terraform applied: its outputs, how many resources its state holds, and how long apply took."""

    terraform: Terraform
    outputs: dict[str, Any]
    resources: int
    seconds: float


def apply_local_stack(
    workdir: Path,
    endpoint: str,
    variables: Mapping[str, Any],
    *,
    binary: str,
    mirror: Path | None,
    log: Path | None = None,
    source: Path = INFRA,
) -> Applied:
    """Copy infra/ (or source) into workdir, build the package there, init (from the mirror if any) and apply it."""
    # The endpoint is a fresh moto each time, so a state left from an earlier run would describe nothing real.
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    infra = copy_stack(workdir, source)
    build_package(DEFAULT_SOURCE, infra / PACKAGE_IN_COPY)
    (infra / LOCAL_VAR_FILE).write_text(json.dumps(dict(variables), indent=2), encoding="utf-8")
    config = cli_config(workdir, mirror) if mirror is not None else None
    home = Path(os.environ.get("HOME") or workdir)
    terraform = Terraform(binary, infra, terraform_environment(endpoint, home=home, config=config), log)
    init = terraform.run(*INIT)
    if init.returncode != 0:
        where = f"the mirror at {mirror}" if mirror is not None else "the registry, and no provider mirror was found"
        details = f"; see {log}" if log is not None else f"\n{init.stderr}"
        raise ProviderUnavailableError(
            f"terraform init could not install hashicorp/aws from {where}: {first_error(init.stderr)}{details}"
        )
    started = time.monotonic()
    terraform.succeed("apply", "-auto-approve", f"-var-file={LOCAL_VAR_FILE}")
    seconds = time.monotonic() - started
    # `state list` names data sources too (data.… or module.x.data.…); only managed resources are counted.
    addresses = terraform.succeed("state", "list").split()
    resources = len([a for a in addresses if not a.startswith("data.") and ".data." not in a])
    return Applied(terraform, terraform.outputs(), resources, seconds)
