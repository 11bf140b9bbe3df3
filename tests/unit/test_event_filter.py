"""Lambda event filtering as the local stream runner applies it, with the shared filter file."""

from __future__ import annotations

import json
from datetime import date

import pytest

from gas_ops.mapping import MappingSettings
from gas_publisher.contract import stream_filter_pattern
from gas_publisher.event_filter import InvalidPatternError, UnsupportedPatternError, check_pattern, matches
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
    """A filter operator AWS accepts but the local filter does not implement is refused by name."""
    with pytest.raises(UnsupportedPatternError, match="wildcard"):
        matches({"a": [{"wildcard": "a*b"}]}, {"a": "ab"})


# The rules below are Lambda's (its event filtering guide) and event-ruler's, the library behind it; the cases
# follow the examples of the guide and the good and bad patterns of event-ruler's own compiler tests.
@pytest.mark.parametrize(
    ("pattern", "event", "expected"),
    [
        # exists applies to leaf values only: an object is no leaf.
        pytest.param({"person": [{"exists": True}]}, {"person": {"name": "Ann"}}, False, id="exists-object"),
        pytest.param({"person": [{"exists": False}]}, {"person": {"name": "Ann"}}, True, id="exists-false-object"),
        pytest.param({"person": [{"exists": True}]}, {"person": "Ann"}, True, id="exists-leaf"),
        # exists: false also matches when the parent is absent.
        pytest.param({"person": {"address": [{"exists": False}]}}, {}, True, id="exists-false-no-parent"),
        pytest.param({"person": {"address": [{"exists": True}]}}, {}, False, id="exists-true-no-parent"),
        # An array matches when any of its elements does.
        pytest.param({"tags": ["admin"]}, {"tags": ["user", "admin"]}, True, id="array-any-element"),
        pytest.param({"tags": ["root"]}, {"tags": ["user", "admin"]}, False, id="array-no-element"),
        pytest.param({"v": [{"numeric": [">", 0, "<", 10]}]}, {"v": [100, 5, 200]}, True, id="array-numeric"),
        pytest.param({"t": [{"anything-but": "banned"}]}, {"t": ["banned", "ok"]}, True, id="array-anything-but"),
        pytest.param({"t": [{"prefix": "ad"}]}, {"t": ["user", "admin"]}, True, id="array-prefix"),
        # Objects in an array: the fields must match within one element.
        pytest.param({"d": {"a": ["x"], "b": ["y"]}}, {"d": [{"a": "x", "b": "y"}]}, True, id="objects-same-element"),
        pytest.param({"d": {"a": ["x"], "b": ["y"]}}, {"d": [{"a": "x"}, {"b": "y"}]}, False, id="objects-split"),
        # Numbers compare as numbers: 300 equals 300.0, but not the string "300".
        pytest.param({"a": [300]}, {"a": 300.0}, True, id="number-float"),
        pytest.param({"a": [300.0]}, {"a": 300}, True, id="float-number"),
        pytest.param({"a": [300]}, {"a": "300"}, False, id="number-string"),
        pytest.param({"a": [{"numeric": ["=", 3.0e2]}]}, {"a": 300}, True, id="numeric-equals"),
        pytest.param({"a": [{"numeric": [">=", 10, "<", 20]}]}, {"a": 20}, False, id="numeric-range-top"),
        pytest.param({"a": [{"numeric": [">", 10]}]}, {"a": True}, False, id="numeric-boolean"),
        # The guide's other operators.
        pytest.param({"a": [None]}, {"a": None}, True, id="null"),
        pytest.param({"a": [""]}, {"a": ""}, True, id="empty"),
        pytest.param({"a": [{"suffix": ".png"}]}, {"a": "map.png"}, True, id="suffix"),
        pytest.param({"a": [{"equals-ignore-case": "alice"}]}, {"a": "ALICE"}, True, id="equals-ignore-case"),
        pytest.param({"a": [{"anything-but": ["Raining", "Snow"]}]}, {"a": "Snow"}, False, id="anything-but-list"),
        pytest.param({"a": [{"anything-but": 5}]}, {"a": 5.0}, False, id="anything-but-number"),
        pytest.param({"a": [{"anything-but": "x"}]}, {}, False, id="anything-but-absent"),
    ],
)
def test_the_filter_matches_as_lambda_does(
    pattern: dict[str, object], event: dict[str, object], expected: bool
) -> None:
    """Each case matches, or not, as Lambda's event filtering decides."""
    assert matches(pattern, event) is expected


@pytest.mark.parametrize(
    "pattern",
    [
        pytest.param({"a": [{"anything-but": {"prefix": "init"}}]}, id="anything-but-prefix"),
        pytest.param({"a": [{"anything-but": {"suffix": ".png"}}]}, id="anything-but-suffix"),
        pytest.param({"a": [{"cidr": "10.0.0.0/8"}]}, id="cidr"),
        pytest.param({"$or": [{"a": ["x"]}, {"b": ["y"]}]}, id="or"),
    ],
)
def test_valid_syntax_the_local_filter_lacks_is_refused_not_misread(pattern: dict[str, object]) -> None:
    """anything-but with an operator, and the other operators AWS has, raise instead of matching as literals."""
    with pytest.raises(UnsupportedPatternError):
        check_pattern(pattern)


@pytest.mark.parametrize(
    ("pattern", "named"),
    [
        pytest.param([1, 2, 3], "object", id="top-level-list"),
        pytest.param({"a": 1}, "list or an object", id="value-not-in-array"),
        pytest.param({"a": []}, "empty", id="empty-array"),
        pytest.param({"a": {}}, "empty", id="empty-object"),
        pytest.param({"a": [{"x": 2}]}, "unknown", id="unknown-operator"),
        pytest.param({"a": [{"Prefix": "x"}]}, "unknown", id="wrongly-cased-operator"),
        pytest.param({"a": [{"EXISTS": True}]}, "unknown", id="upper-case-operator"),
        pytest.param({"a": [{"prefix": 3}]}, "prefix", id="prefix-number"),
        pytest.param({"a": [{"suffix": ["x"]}]}, "suffix", id="suffix-list"),
        pytest.param({"a": [{"exists": "yes"}]}, "exists", id="exists-string"),
        pytest.param({"a": [{"prefix": "child", "foo": []}]}, "one operator", id="two-keys"),
        pytest.param({"a": [{"anything-but": ["child0", 111]}]}, "anything-but", id="anything-but-mixed"),
        pytest.param({"a": [{"anything-but": []}]}, "anything-but", id="anything-but-empty"),
        pytest.param({"a": [{"equals-ignore-case": 5}]}, "equals-ignore-case", id="ignore-case-number"),
        pytest.param({"a": [{"numeric": [">"]}]}, "numeric", id="numeric-no-number"),
        pytest.param({"a": [{"numeric": ["=", True]}]}, "numeric", id="numeric-boolean"),
        pytest.param({"a": [{"numeric": ["=", "-4e-8"]}]}, "numeric", id="numeric-string"),
        pytest.param({"a": [{"numeric": ["<", 1, ">", 0]}]}, "numeric", id="numeric-upper-first"),
        pytest.param({"a": [{"numeric": [">", 30, "<", 1]}]}, "numeric", id="numeric-empty-range"),
        pytest.param({"a": [{"numeric": ["==", 1]}]}, "numeric", id="numeric-unknown-comparison"),
        pytest.param({"a": [{"numeric": ["=", 2.0e22]}]}, "numeric", id="numeric-too-large"),
        pytest.param({"a": [[1]]}, "list", id="nested-list"),
    ],
)
def test_invalid_patterns_are_refused_when_loaded_as_aws_refuses_them(pattern: object, named: str) -> None:
    """CreateEventSourceMapping refuses these (moto accepts anything); loading one fails, naming the problem."""
    with pytest.raises(InvalidPatternError, match=named):
        check_pattern(pattern)


def test_a_deployed_mapping_with_an_invalid_pattern_is_refused() -> None:
    """The local runner will not play a mapping AWS could not have created."""
    mapping = {"FilterCriteria": {"Filters": [{"Pattern": json.dumps({"eventName": []})}]}}
    with pytest.raises(InvalidPatternError, match="eventName"):
        MappingSettings.from_api(mapping)


def test_the_shared_filter_file_is_valid() -> None:
    """The file Terraform and the runner read passes the same checks."""
    check_pattern(stream_filter_pattern())
