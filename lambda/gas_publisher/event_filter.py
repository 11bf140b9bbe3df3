"""Lambda event filtering, as AWS applies a filter pattern to a stream record; the handler and local runner share it.

The rules are those of Lambda's event filtering guide, whose engine is AWS's event-ruler:
- every key of the pattern must match; a pattern value is an object (nested fields) or a non-empty list of options;
- an option is a literal (a string, number, boolean or null) or an object with exactly one operator;
- a list in the event matches when any of its elements does, and the fields of an object pattern must match within
  one element of a list of objects;
- `exists` looks at leaf values only: an object is no leaf, and `exists: false` also matches when a parent is absent;
- numbers compare as numbers (300 equals 300.0), never as the string "300", and `true` is not 1.

`check_pattern` refuses what AWS's CreateEventSourceMapping refuses, naming the problem, and raises
UnsupportedPatternError for valid syntax this module does not implement, so a pattern is never misread.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

MATCHED = frozenset({"exists", "prefix", "suffix", "anything-but", "numeric", "equals-ignore-case"})
# Valid on AWS, not implemented here: refused by name rather than matched wrongly.
NOT_IMPLEMENTED = frozenset({"wildcard", "cidr", "exactly", "$or"})
COMPARISONS = frozenset({"=", "<", "<=", ">", ">="})
# Event filtering compares numbers within this magnitude (EventBridge's and Lambda's documented range).
NUMBER_LIMIT = Decimal("5e9")
# What an absent field looks like to the leaf rules.
_ABSENT = object()


class InvalidPatternError(ValueError):
    """A filter pattern AWS would refuse (CreateEventSourceMapping fails); moto accepts any pattern."""


class UnsupportedPatternError(ValueError):
    """Valid syntax the local filter does not implement; extend this module before relying on it."""


def check_pattern(pattern: object, where: str = "pattern") -> None:
    """Raise InvalidPatternError for a pattern AWS refuses, or UnsupportedPatternError for one not implemented here."""
    if not isinstance(pattern, Mapping):
        raise InvalidPatternError(f"the {where} must be an object, not {type(pattern).__name__}")
    if not pattern:
        raise InvalidPatternError(f"the {where} is an empty object")
    for key, value in pattern.items():
        path = f"{where}.{key}" if where != "pattern" else str(key)
        if key in NOT_IMPLEMENTED:
            raise UnsupportedPatternError(f"{path}: {key} is valid on AWS but not implemented by the local filter")
        if isinstance(value, Mapping):
            check_pattern(value, path)
        elif isinstance(value, list):
            if not value:
                raise InvalidPatternError(f"{path}: the list of options is empty")
            for option in value:
                _check_option(option, path)
        else:
            raise InvalidPatternError(f"{path}: a value must be a list or an object, not {type(value).__name__}")


def _check_option(option: object, path: str) -> None:
    if isinstance(option, list):
        raise InvalidPatternError(f"{path}: an option cannot be a list")
    if not isinstance(option, Mapping):
        if isinstance(option, int | float) and not isinstance(option, bool):
            _check_number(option, path, "a number")
        return
    if len(option) != 1:
        raise InvalidPatternError(f"{path}: an operator object holds exactly one operator, not {len(option)}")
    [(operator, argument)] = option.items()
    if operator in NOT_IMPLEMENTED:
        raise UnsupportedPatternError(f"{path}: {operator} is valid on AWS but not implemented by the local filter")
    if operator not in MATCHED:
        raise InvalidPatternError(f"{path}: unknown operator {str(operator)[:40]!r} (operators are lower case)")
    if operator == "exists" and not isinstance(argument, bool):
        raise InvalidPatternError(f"{path}: exists takes true or false")
    if operator in {"prefix", "suffix", "equals-ignore-case"} and not isinstance(argument, str):
        if operator != "equals-ignore-case" and isinstance(argument, Mapping):
            raise UnsupportedPatternError(f"{path}: {operator} with an operator is not implemented by the local filter")
        raise InvalidPatternError(f"{path}: {operator} takes a string")
    if operator == "anything-but":
        _check_anything_but(argument, path)
    if operator == "numeric":
        _check_numeric(argument, path)


def _check_anything_but(argument: object, path: str) -> None:
    if isinstance(argument, Mapping):
        raise UnsupportedPatternError(f"{path}: anything-but with an operator is not implemented by the local filter")
    values = argument if isinstance(argument, list) else [argument]
    if not values:
        raise InvalidPatternError(f"{path}: anything-but takes a string, a number, or a non-empty list of either")
    strings = all(isinstance(value, str) for value in values)
    numbers = all(isinstance(value, int | float) and not isinstance(value, bool) for value in values)
    if not (strings or numbers):
        raise InvalidPatternError(f"{path}: anything-but takes strings only or numbers only")
    if numbers:
        for value in values:
            _check_number(value, path, "anything-but")


def _check_numeric(argument: object, path: str) -> None:
    if not isinstance(argument, list) or len(argument) not in (2, 4):
        raise InvalidPatternError(f"{path}: numeric takes one or two comparisons, such as ['>', 0, '<=', 5]")
    comparisons = list(zip(argument[::2], argument[1::2], strict=True))
    for comparison, value in comparisons:
        if comparison not in COMPARISONS:
            raise InvalidPatternError(
                f"{path}: numeric comparison {str(comparison)[:10]!r} is not one of {sorted(COMPARISONS)}"
            )
        _check_number(value, path, "numeric")
    if len(comparisons) == 2:
        (low, bottom), (high, top) = comparisons
        if low not in {">", ">="} or high not in {"<", "<="} or not bottom < top:
            raise InvalidPatternError(f"{path}: a numeric range is a lower bound then a higher upper bound")


def _check_number(value: object, path: str, what: str) -> None:
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise InvalidPatternError(f"{path}: {what} needs a number, not {type(value).__name__}")
    if abs(Decimal(str(value))) > NUMBER_LIMIT:
        raise InvalidPatternError(f"{path}: {what} {value} is outside the ±5e9 that event filtering compares")


def matches(pattern: Mapping[str, Any], event: object) -> bool:
    """Tell whether an event matches a Lambda filter pattern (checked first, see check_pattern)."""
    check_pattern(pattern)
    return _object_matches(pattern, event)


def _object_matches(pattern: Mapping[str, Any], event: object) -> bool:
    """Every key of the pattern matches the event, an object (or, for a list of objects, one of its elements)."""
    if isinstance(event, list):
        return any(_object_matches(pattern, element) for element in event if isinstance(element, Mapping))
    fields: Mapping[str, Any] = event if isinstance(event, Mapping) else {}
    for key, expected in pattern.items():
        value = fields.get(key, _ABSENT)
        if isinstance(expected, Mapping):
            if isinstance(value, Mapping | list):
                found = _object_matches(expected, value)
            else:
                # An absent parent (or a leaf where fields were expected): only `exists: false` can hold below it.
                found = _object_matches(expected, {})
        else:
            found = _leaf_matches(expected, value)
        if not found:
            return False
    return True


def _leaf_matches(options: Sequence[object], value: object) -> bool:
    """Whether a leaf value (absent, a primitive, or a list of primitives) matches any of the options."""
    if isinstance(value, Mapping):
        value = _ABSENT  # `exists` applies to leaf values only: an object is not one
    if isinstance(value, list):
        leaves = [element for element in value if not isinstance(element, Mapping | list)]
        if not leaves:
            return any(_option_matches(option, _ABSENT) for option in options)
        return any(_option_matches(option, leaf) for option in options for leaf in leaves)
    return any(_option_matches(option, value) for option in options)


def _option_matches(option: object, value: object) -> bool:
    present = value is not _ABSENT
    if not isinstance(option, Mapping):
        return present and _same(value, option)
    [(operator, argument)] = option.items()
    if operator == "exists":
        return present is argument
    return present and OPERATORS[operator](value, argument)


def _anything_but(value: object, argument: Any) -> bool:
    excluded = argument if isinstance(argument, list) else [argument]
    return not any(_same(value, item) for item in excluded)


# How each operator but `exists` tests a present value against its argument.
OPERATORS = {
    "prefix": lambda value, argument: isinstance(value, str) and value.startswith(argument),
    "suffix": lambda value, argument: isinstance(value, str) and value.endswith(argument),
    "equals-ignore-case": lambda value, argument: isinstance(value, str) and value.casefold() == argument.casefold(),
    "numeric": lambda value, argument: _in_range(_number(value), argument),
    "anything-but": _anything_but,
}


def _in_range(number: Decimal | None, comparisons: Sequence[Any]) -> bool:
    if number is None:
        return False
    checks = {
        "=": lambda bound: number == bound,
        "<": lambda bound: number < bound,
        "<=": lambda bound: number <= bound,
        ">": lambda bound: number > bound,
        ">=": lambda bound: number >= bound,
    }
    return all(
        checks[comparison](Decimal(str(bound)))
        for comparison, bound in zip(comparisons[::2], comparisons[1::2], strict=True)
    )


def _number(value: object) -> Decimal | None:
    """A JSON number as an exact decimal; None for anything else (booleans included)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return Decimal(str(value))
    return None


def _same(value: object, option: object) -> bool:
    # Numbers compare by value (300 is 300.0); otherwise the JSON types must agree, so true never matches 1.
    value_number, option_number = _number(value), _number(option)
    if value_number is not None or option_number is not None:
        return value_number is not None and value_number == option_number
    return type(value) is type(option) and value == option
