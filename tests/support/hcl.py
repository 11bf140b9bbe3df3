"""Reads infra/ with python-hcl2 and evaluates the few expressions the contract tests need."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import hcl2

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"
MODULES = INFRA / "modules"
# The modules the root calls, and the key module each encrypted piece calls for its own key.
ROOT_MODULE_NAMES = ("price_table", "subscriber_topic", "operator_topic", "publisher")
MODULE_NAMES = (*ROOT_MODULE_NAMES, "kms_key")
ALL_DIRS = (INFRA, *(MODULES / name for name in MODULE_NAMES))

SIMPLE_REFERENCE = r"(?:local|var|path)\.[A-Za-z0-9_.]+"
WHOLE_REFERENCE = re.compile(rf"^\$\{{({SIMPLE_REFERENCE})\}}$")
EMBEDDED_REFERENCE = re.compile(rf"\$\{{({SIMPLE_REFERENCE})\}}")
JSON_FILE_CALL = re.compile(r"^\$\{jsondecode\(file\((" + SIMPLE_REFERENCE + r")\)\)\}$")


class UnresolvableError(ValueError):
    """An expression uses more of the Terraform language than these tests evaluate."""


def unquote(value: Any) -> Any:
    """Turn python-hcl2's output into plain data: strip literal quotes, drop its bookkeeping keys."""
    if isinstance(value, str):
        return value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value
    if isinstance(value, list):
        return [unquote(item) for item in value]
    if isinstance(value, dict):
        return {unquote(key): unquote(item) for key, item in value.items() if not str(key).startswith("__")}
    return value


@cache
def parse(path: Path) -> dict[str, Any]:
    """One .tf (or .tfvars) file as plain data."""
    with path.open(encoding="utf-8") as handle:
        tree: dict[str, Any] = unquote(hcl2.load(handle))
    return tree


def tf_files(directory: Path) -> list[Path]:
    """The .tf files of one module directory (not of its sub-modules)."""
    return sorted(directory.glob("*.tf"))


def blocks(directory: Path, kind: str) -> Iterator[tuple[Path, dict[str, Any]]]:
    """Every top-level block of one kind (resource, data, module, variable, output, locals) with its file."""
    for path in tf_files(directory):
        for block in parse(path).get(kind, []):
            yield path, block


def labelled(directory: Path, kind: str) -> dict[str, dict[str, Any]]:
    """Single-label blocks (variable, output, module) by name."""
    return {name: body for _, block in blocks(directory, kind) for name, body in block.items()}


def typed(directory: Path, kind: str) -> dict[tuple[str, str], dict[str, Any]]:
    """Two-label blocks (resource, data) by (type, name)."""
    return {
        (type_, name): body
        for _, block in blocks(directory, kind)
        for type_, named in block.items()
        for name, body in named.items()
    }


def locals_of(directory: Path) -> dict[str, Any]:
    """The merged locals of one module directory."""
    merged: dict[str, Any] = {}
    for _, block in blocks(directory, "locals"):
        merged.update(block)
    return merged


def single(value: Any) -> dict[str, Any]:
    """The only instance of a nested block (hcl2 always gives a list)."""
    assert isinstance(value, list), f"expected one block, got {value!r}"
    assert len(value) == 1, f"expected exactly one block, got {len(value)}"
    body: dict[str, Any] = value[0]
    return body


def resource(module: str, type_: str, name: str = "this") -> dict[str, Any]:
    """A resource of one of the modules."""
    return typed(MODULES / module, "resource")[(type_, name)]


def policy_statements(directory: Path, name: str) -> list[dict[str, Any]]:
    """The statements of an aws_iam_policy_document data source."""
    statements: list[dict[str, Any]] = typed(directory, "data")[("aws_iam_policy_document", name)]["statement"]
    return statements


def module_call(name: str) -> dict[str, Any]:
    """The root module's call of a child module, with the module's source folder checked."""
    call = labelled(INFRA, "module")[name]
    assert (INFRA / call["source"]).is_dir(), f"module {name} has no source folder {call['source']}"
    return call


def module_dir(name: str) -> Path:
    """The folder a root module call points at."""
    return (INFRA / str(module_call(name)["source"])).resolve()


@dataclass
class Scope:
    """Evaluates references in one module: var.* comes from the caller's arguments or the defaults."""

    directory: Path
    arguments: Mapping[str, Any] = field(default_factory=dict)
    caller: Scope | None = None

    def resolve(self, expression: Any) -> Any:
        """The value of a literal, a simple reference, a template of simple references, or jsondecode(file(...))."""
        if not isinstance(expression, str):
            return expression
        if whole := WHOLE_REFERENCE.match(expression):
            return self.lookup(whole.group(1))
        if call := JSON_FILE_CALL.match(expression):
            return json.loads(Path(self.lookup(call.group(1))).read_text(encoding="utf-8"))
        text = EMBEDDED_REFERENCE.sub(lambda found: str(self.lookup(found.group(1))), expression)
        if "${" in text:
            raise UnresolvableError(f"cannot evaluate {expression!r}")
        return text

    def lookup(self, reference: str) -> Any:
        """The value a dotted reference names."""
        head, name, *rest = reference.split(".")
        if head == "path":
            if name != "module":
                raise UnresolvableError(reference)
            value: Any = str(self.directory)
        elif head == "local":
            value = self.resolve(locals_of(self.directory)[name])
        elif name in self.arguments and self.caller is not None:
            value = self.caller.resolve(self.arguments[name])
        else:
            variable = labelled(self.directory, "variable")[name]
            if "default" not in variable:
                raise UnresolvableError(f"var.{name} has no default and no argument")
            value = self.resolve(variable["default"])
        for key in rest:
            value = value[key]
        return value


ROOT = Scope(INFRA)


def module_scope(name: str) -> Scope:
    """The scope of a child module as the root module calls it."""
    return Scope(module_dir(name), module_call(name), ROOT)


# ---- Terraform version constraints (required_version, required_providers) -------------------------------------------

CONSTRAINT = re.compile(r"^\s*(~>|>=|<=|!=|=|>|<)?\s*(\d+(?:\.\d+)*)\s*$")


def _numbers(version: str) -> tuple[int, ...]:
    """'1.11' as (1, 11, 0): missing parts are zeros, as Terraform reads them."""
    parts = tuple(int(part) for part in version.split("."))
    return parts + (0,) * (3 - len(parts))


def allows(constraint: str, version: str) -> bool:
    """Whether a Terraform version constraint ("~> 5.100", ">= 1.11.0, < 2.0.0") accepts an exact version."""
    wanted = _numbers(version)
    for part in constraint.split(","):
        match = CONSTRAINT.match(part)
        if match is None:
            raise UnresolvableError(f"not a version constraint: {part!r}")
        operator, bound = match[1] or "=", match[2]
        given = _numbers(bound)
        if operator == "~>":
            # Only the rightmost given part may grow: ~> 5.100 is >= 5.100, < 6; ~> 5.100.0 is >= 5.100.0, < 5.101.
            prefix = list(_numbers(bound)[: max(len(bound.split(".")) - 1, 1)])
            prefix[-1] += 1
            ceiling = tuple(prefix) + (0,) * (3 - len(prefix))
            if not given <= wanted < ceiling:
                return False
            continue
        checks = {
            "=": wanted == given,
            "!=": wanted != given,
            ">": wanted > given,
            ">=": wanted >= given,
            "<": wanted < given,
            "<=": wanted <= given,
        }
        if not checks[operator]:
            return False
    return True


def lower_bound(constraint: str) -> str:
    """The version a constraint's ">=" (or "~>") part starts at, as written there."""
    for part in constraint.split(","):
        match = CONSTRAINT.match(part)
        if match is not None and match[1] in (">=", "~>"):
            return match[2]
    raise UnresolvableError(f"no lower bound in {constraint!r}")
