"""Lambda event filtering for the pattern syntax the stream filter file uses; the handler and local runner share it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SUPPORTED_OPERATORS = frozenset({"exists", "prefix", "anything-but"})


class UnsupportedPatternError(ValueError):
    """The pattern uses syntax the local runner does not implement; extend matches() before using it."""


def matches(pattern: Mapping[str, Any], event: object) -> bool:
    """Tell whether an event matches a Lambda filter pattern (every key must match)."""
    if not isinstance(event, Mapping):
        return False
    for key, expected in pattern.items():
        present = key in event
        value = event.get(key)
        if isinstance(expected, Mapping):
            if not present or not matches(expected, value):
                return False
        elif isinstance(expected, list):
            if not any(_matches_value(option, present, value) for option in expected):
                return False
        else:
            raise UnsupportedPatternError(f"pattern value for {key!r} must be an object or a list")
    return True


def _matches_value(option: object, present: bool, value: object) -> bool:
    if isinstance(option, Mapping):
        if len(option) != 1 or next(iter(option)) not in SUPPORTED_OPERATORS:
            raise UnsupportedPatternError(f"unsupported filter operator: {repr(option)[:80]}")
        operator, argument = next(iter(option.items()))
        if operator == "exists":
            return present is bool(argument)
        if operator == "prefix":
            return present and isinstance(value, str) and value.startswith(str(argument))
        excluded = argument if isinstance(argument, list) else [argument]
        return present and not any(_same(value, item) for item in excluded)
    return present and _same(value, option)


def _same(value: object, option: object) -> bool:
    # In filter patterns true does not match 1, although Python says True == 1.
    return type(value) is type(option) and value == option
