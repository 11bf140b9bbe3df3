"""`make up`'s Terraform path reports a provider it cannot install, so the stack can fall back instead of failing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gas_local.terraform import (
    INIT,
    MIRROR_DIR_NAME,
    ProviderUnavailableError,
    Terraform,
    apply_local_stack,
    cli_config,
    copy_stack,
    local_variables,
    terraform_environment,
)
from tests.support.terraform import Tools

PROVIDER = Path(MIRROR_DIR_NAME, "hashicorp", "aws")


def test_an_empty_mirror_is_reported_as_an_unavailable_provider(terraform_tools: Tools, tmp_path: Path) -> None:
    """Real terraform, pointed at a mirror without hashicorp/aws, fails init; the error says where it looked."""
    empty_mirror = tmp_path / "mirror"
    empty_mirror.mkdir()
    expected = re.escape(f"could not install hashicorp/aws from the mirror at {empty_mirror}: ")
    with pytest.raises(ProviderUnavailableError, match=expected):
        apply_local_stack(
            tmp_path / "work",
            "http://127.0.0.1:9",
            local_variables("gas-alerts"),
            binary=terraform_tools.terraform,
            mirror=empty_mirror,
            log=tmp_path / "terraform.log",
        )
    assert "terraform init" in (tmp_path / "terraform.log").read_text(encoding="utf-8")


def mirror_with_a_newer_major(real_mirror: Path, folder: Path) -> tuple[str, str]:
    """A mirror offering the real mirror's hashicorp/aws and, under the next major's number, the same binary.

    Returns the real version and the fake one. Symbolic links keep it cheap: init only links and hashes packages.
    """
    [real] = sorted(path.name for path in (real_mirror / PROVIDER).iterdir())
    newer = f"{int(real.split('.')[0]) + 1}.0.0"
    (folder / PROVIDER / real).mkdir(parents=True)
    for platform in (real_mirror / PROVIDER / real).iterdir():
        (folder / PROVIDER / real / platform.name).symlink_to(platform)
        [binary] = platform.glob("terraform-provider-aws_*")
        fake = folder / PROVIDER / newer / platform.name
        fake.mkdir(parents=True)
        (fake / binary.name.replace(f"_v{real}_", f"_v{newer}_")).symlink_to(binary)
    return real, newer


def test_neither_init_nor_init_upgrade_takes_a_major_version_nothing_here_applied(
    terraform_tools: Tools, tmp_path: Path
) -> None:
    """Offered the next major version beside the tested one, init (with the lock file) and init -upgrade keep 5.x."""
    mirror = tmp_path / "mirror"
    tested, newer = mirror_with_a_newer_major(terraform_tools.mirror, mirror)
    infra = copy_stack(tmp_path / "copy")
    environment = terraform_environment("http://127.0.0.1:9", home=tmp_path, config=cli_config(tmp_path, mirror))
    terraform = Terraform(terraform_tools.terraform, infra, environment)
    for arguments in (INIT, (*INIT, "-upgrade")):
        terraform.succeed(*arguments)
        installed = sorted(path.name for path in (infra / ".terraform" / "providers" / PROVIDER).iterdir())
        assert installed == [tested], (
            f"terraform {' '.join(arguments)} installed {installed}, offered {tested} and {newer}"
        )
