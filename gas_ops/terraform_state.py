"""Terraform's state of the deployed stack, read with `terraform show -json` in the folder it was applied from."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gas_alerts.failures import PermanentError
from gas_alerts.terraform_state import first_error

# Reading the state goes through the backend (S3 for a deployment); a minute is ample and bounds a hung network.
SHOW_TIMEOUT_S = 120


def show_state(directory: Path, environ: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """`terraform -chdir=DIRECTORY show -json`, parsed; a PermanentError naming the problem when it cannot be read."""
    if not directory.is_dir():
        raise PermanentError(f"no Terraform folder at {directory}")
    binary = shutil.which("terraform", path=environ.get("PATH", ""))
    if binary is None:
        raise PermanentError("terraform is not on PATH; comparing with Terraform's state (--terraform-dir) needs it")
    try:
        result = subprocess.run(  # noqa: S603 (terraform from PATH, with arguments written here)
            [binary, f"-chdir={directory}", "show", "-json", "-no-color"],
            env=dict(environ),
            capture_output=True,
            text=True,
            timeout=SHOW_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise PermanentError(f"terraform -chdir={directory} show -json took over {SHOW_TIMEOUT_S} s") from None
    if result.returncode != 0:
        raise PermanentError(f"terraform -chdir={directory} show -json failed: {first_error(result.stderr)}")
    shown: dict[str, Any] = json.loads(result.stdout)
    return shown
