"""gas_local.terraform's helpers: finding a provider mirror, the names a local apply gets, and its clean environment."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from gas_alerts.settings import Settings
from gas_local.terraform import (
    LOCAL_BACKEND,
    LOCAL_BACKEND_OVERRIDE,
    MIRROR_DIR_NAME,
    copy_stack,
    find_provider_mirror,
    terraform_environment,
    terraform_name_prefix,
)

ENDPOINT = "http://127.0.0.1:5000"
DEFAULTS = Settings.from_environment({})


def make_mirror(root: Path, *parts: str) -> Path:
    """A folder holding registry.terraform.io/hashicorp/aws at root/parts...; returns that folder."""
    folder = root.joinpath(*parts)
    (folder / MIRROR_DIR_NAME / "hashicorp" / "aws").mkdir(parents=True)
    return folder


def test_a_mirror_within_the_depth_is_found(tmp_path: Path) -> None:
    """The folder that holds registry.terraform.io/hashicorp/aws three levels down is the mirror."""
    mirror = make_mirror(tmp_path, "opt", "plugins")
    assert find_provider_mirror(tmp_path, depth=4) == mirror


def test_a_mirror_too_deep_or_without_hashicorp_aws_is_not_found(tmp_path: Path) -> None:
    """A registry folder below the depth, or one without hashicorp/aws, is not a mirror."""
    make_mirror(tmp_path, "a", "b", "c", "d")
    (tmp_path / "x" / MIRROR_DIR_NAME / "hashicorp" / "random").mkdir(parents=True)
    assert find_provider_mirror(tmp_path, depth=4) is None


def test_default_settings_give_the_default_name_prefix() -> None:
    """With no GAS_ALERTS_* variable set, the settings' names are what infra/ makes from name_prefix gas-alerts."""
    assert terraform_name_prefix(DEFAULTS) == "gas-alerts"


def test_names_that_follow_infra_naming_give_their_prefix() -> None:
    """Names with infra/'s suffixes after one common prefix give that prefix."""
    settings = dataclasses.replace(
        DEFAULTS,
        table_name="demo-prices",
        topic_name="demo-price-drops",
        digest_topic_name="demo-weekly-digest",
        dead_letter_queue="demo-publisher-dlq",
    )
    assert terraform_name_prefix(settings) == "demo"


def test_names_off_infra_naming_give_no_prefix() -> None:
    """A topic name that Terraform could not give alongside the table's means no prefix fits."""
    assert terraform_name_prefix(dataclasses.replace(DEFAULTS, topic_name="my-own-topic")) is None
    assert terraform_name_prefix(dataclasses.replace(DEFAULTS, table_name="prices")) is None


def test_the_environment_never_carries_the_users_aws_identity(tmp_path: Path) -> None:
    """A profile, real keys or a token in the user's environment never reach the provider; fake keys and moto do."""
    user = {"PATH": "/usr/bin", "AWS_PROFILE": "prod", "AWS_ACCESS_KEY_ID": "AKIA...", "AWS_SESSION_TOKEN": "t"}
    environment = terraform_environment(ENDPOINT, home=tmp_path, config=tmp_path / "rc", inherited=user)
    assert "AWS_PROFILE" not in environment
    assert "AWS_SESSION_TOKEN" not in environment
    assert environment["AWS_ACCESS_KEY_ID"] == "testing"
    assert environment["AWS_ENDPOINT_URL"] == ENDPOINT
    assert environment["TF_CLI_CONFIG_FILE"] == str(tmp_path / "rc")


def test_without_a_mirror_the_users_own_terraform_config_and_proxy_apply(tmp_path: Path) -> None:
    """Without a generated CLI config, the user's TF_CLI_CONFIG_FILE, plugin cache and proxy pass through."""
    user = {"PATH": "/usr/bin", "TF_CLI_CONFIG_FILE": "/home/me/.terraformrc", "HTTPS_PROXY": "http://proxy:3128"}
    environment = terraform_environment(ENDPOINT, home=tmp_path, config=None, inherited=user)
    assert environment["TF_CLI_CONFIG_FILE"] == "/home/me/.terraformrc"
    assert environment["HTTPS_PROXY"] == "http://proxy:3128"


def test_the_copy_holds_infra_and_the_contract_files_it_reads(tmp_path: Path) -> None:
    """The copy lays out infra/ and lambda/gas_publisher/*.json as in the repository, with the lock file, no state."""
    infra = copy_stack(tmp_path)
    assert (infra / "main.tf").is_file()
    assert (infra / "modules" / "price_table" / "main.tf").is_file()
    assert (tmp_path / "lambda" / "gas_publisher" / "contract.json").is_file()
    assert not list(infra.rglob("*.tfstate*"))
    assert not (infra / ".terraform").exists()
    assert (infra / ".terraform.lock.hcl").is_file(), "the committed lock file chooses the provider in the copy too"


def test_the_copy_keeps_its_state_locally_whatever_backend_the_fork_names(tmp_path: Path) -> None:
    """A fork's backend.tf is copied as it is, and an override file makes the copy's backend the local one."""
    fork = tmp_path / "fork"
    (fork / "modules").mkdir(parents=True)
    (fork / "main.tf").write_text("# main\n", encoding="utf-8")
    backend = 'terraform {\n  backend "s3" {\n    bucket = "b"\n  }\n}\n'
    (fork / "backend.tf").write_text(backend, encoding="utf-8")
    (fork / "mine_override.tf").write_text("# the developer's own override\n", encoding="utf-8")
    infra = copy_stack(tmp_path / "copy", fork)
    assert (infra / "backend.tf").read_text(encoding="utf-8") == backend
    assert (infra / LOCAL_BACKEND_OVERRIDE).read_text(encoding="utf-8") == LOCAL_BACKEND
    assert LOCAL_BACKEND_OVERRIDE.endswith("_override.tf")
    assert not (infra / "mine_override.tf").exists()
