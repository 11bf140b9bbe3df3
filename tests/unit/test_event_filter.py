"""Lambda event filtering as the local stream runner applies it, with the shared filter file."""

from __future__ import annotations

import json
from datetime import date

import pytest

from gas_publisher.contract import stream_filter_pattern
from gas_publisher.event_filter import UnsupportedPatternError, matches
from gas_publisher.ledger import ledger_key
from tests.support.data import EVENTS_DIR


def test_filter_file_keeps_only_alert_inserts() -> None:
    """The shared pattern passes an alert INSERT and drops MODIFY, quiet INSERTs and ledger items."""
    pattern = stream_filter_pattern()
    records = json.loads((EVENTS_DIR / "mixed_batch.json").read_text(encoding="utf-8"))["Records"]
    kept = [record["dynamodb"]["SequenceNumber"] for record in records if matches(pattern, record)]
    assert kept == [
        "1100000000000000000201",
        "1100000000000000000205",
        "1100000000000000000207",
        "1100000000000000000209",
    ]
    ledger_insert = {"eventName": "INSERT", "dynamodb": {"NewImage": {**ledger_key(date(2026, 1, 5))}}}
    assert not matches(pattern, ledger_insert)


def test_filter_rejects_a_boolean_against_a_number() -> None:
    """Like Lambda, true in a pattern does not match 1."""
    assert not matches({"a": [True]}, {"a": 1})
    assert matches({"a": [True]}, {"a": True})


def test_unsupported_pattern_syntax_is_an_error_not_a_silent_pass() -> None:
    """A filter operator the runner does not implement is refused by name."""
    with pytest.raises(UnsupportedPatternError, match="numeric"):
        matches({"a": [{"numeric": [">", 0]}]}, {"a": 1})
