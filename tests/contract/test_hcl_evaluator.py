"""The HCL evaluator the contract tests rely on: it reads what it must and refuses what it cannot evaluate."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.hcl import ROOT, UnresolvableError, allows, lower_bound, unquote


def test_unquote_strips_literal_quotes_and_bookkeeping() -> None:
    """Literal strings lose their quotes, expressions keep ${...}, and __ keys disappear."""
    raw = {'"name"': {"a": '"x"', "b": "${var.y}", "__is_block__": True, "c": ['"z"', 3]}}
    assert unquote(raw) == {"name": {"a": "x", "b": "${var.y}", "c": ["z", 3]}}


def test_root_scope_reads_the_contract_through_jsondecode_file() -> None:
    """local.contract evaluates to the parsed contract.json, so references into it can be compared with the code."""
    from gas_publisher.contract import CONTRACT_PATH, DATASET_ID

    assert Path(ROOT.lookup("local.contract_file")).resolve() == CONTRACT_PATH.resolve()
    assert ROOT.resolve("${local.contract.dataset.id}") == DATASET_ID
    assert ROOT.resolve("${local.contract.dataset.id}#sent") == f"{DATASET_ID}#sent"


def test_scope_refuses_expressions_it_cannot_evaluate() -> None:
    """A function call other than jsondecode(file(...)) is reported, never guessed."""
    with pytest.raises(UnresolvableError):
        ROOT.resolve("${upper(var.name_prefix)}")


@pytest.mark.parametrize(
    ("constraint", "version", "allowed"),
    [
        (">= 1.6.0, < 2.0.0", "1.10.5", True),
        (">= 1.11.0, < 2.0.0", "1.10.5", False),
        (">= 1.11.0, < 2.0.0", "1.11", True),
        (">= 5.80", "6.0.0", True),
        ("~> 5.100", "5.200.1", True),
        ("~> 5.100", "6.0.0", False),
        ("~> 5.100", "5.99.0", False),
        ("~> 5.100.0", "5.100.9", True),
        ("~> 5.100.0", "5.101.0", False),
        ("5.100.0", "5.100.0", True),
    ],
)
def test_version_constraints_read_as_terraform_reads_them(constraint: str, version: str, allowed: bool) -> None:
    """Comma-separated parts all hold; ~> lets only the rightmost given part grow; missing parts are zeros."""
    assert allows(constraint, version) is allowed


def test_a_constraint_without_a_number_is_refused_and_a_floor_is_read() -> None:
    """A part that is not operator-and-version is reported; the floor is the >= part as written."""
    with pytest.raises(UnresolvableError):
        allows(">= latest", "1.0.0")
    assert lower_bound(">= 1.11.0, < 2.0.0") == "1.11.0"
