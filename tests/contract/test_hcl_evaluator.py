"""The HCL evaluator the contract tests rely on: it reads what it must and refuses what it cannot evaluate."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.hcl import ROOT, UnresolvableError, unquote


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
