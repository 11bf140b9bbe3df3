"""`make up`'s Terraform path reports a provider it cannot install, so the stack can fall back instead of failing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gas_local.terraform import ProviderUnavailableError, apply_local_stack, local_variables
from tests.support.terraform import Tools


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
