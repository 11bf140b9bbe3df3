"""What a `terraform show -json` document holds, and the line of terraform's output that names a failure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def managed_resources(shown: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every managed resource of a `terraform show -json` document, module by module in the document's order."""
    found: list[dict[str, Any]] = []
    modules = [shown.get("values", {}).get("root_module", {})]
    while modules:
        module = modules.pop(0)
        found += [resource for resource in module.get("resources", []) if resource.get("mode") == "managed"]
        modules[:0] = module.get("child_modules", [])
    return found


def first_error(output: str) -> str:
    """Terraform's first `Error:` line, which names the failure (a missing init, a refused backend), else its last."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line.removeprefix("Error:").strip() for line in lines if line.startswith("Error:")]
    return (errors or lines[-1:] or ["no output"])[0]
