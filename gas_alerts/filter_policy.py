"""SNS filter policies on the alert attributes: built from a subscriber's choice, checked, and evaluated as SNS does.

Replay evaluates the same policy a subscription would carry, so it selects exactly the alerts SNS would deliver.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from math import prod
from typing import Any

from gas_publisher.contract import (
    ATTR_DROP_CENTS,
    ATTR_DROP_PERCENT,
    ATTR_LARGEST_DROP_CENTS,
    ATTR_LOW_WEEKS,
    ATTR_PRICE,
    ATTR_REGION,
    ATTR_REGIONS_FALLEN,
    REGION_BY_ID,
    known_regions,
)

# SNS's own limits on one filter policy (it refuses a subscription whose policy breaks one).
MAX_KEYS = 5
MAX_COMBINATIONS = 150
MAX_DECIMAL_PLACES = 5
# SNS accepts numeric filter values within these bounds.
MAX_NUMBER = Decimal("1000000000")


class FilterPolicyError(ValueError):
    """A filter policy SNS would refuse, or a choice that cannot become one."""


@dataclass(frozen=True)
class SubscriberFilter:
    """What one subscriber asks for: per-region alerts narrowed by region and thresholds, or the weekly digest.

    A digest subscriber gets one email a week on the digest topic, narrowed only by how many regions fell and
    the largest drop; the per-region choices belong to the alert topic and are refused for a digest.
    """

    regions: tuple[str, ...] = ()
    min_drop_cents: Decimal | None = None
    max_price: Decimal | None = None
    min_drop_percent: Decimal | None = None
    min_low_weeks: int | None = None
    digest: bool = False
    min_regions_fallen: int | None = None
    min_largest_drop_cents: Decimal | None = None

    def policy(self) -> dict[str, Any]:
        """The SNS filter policy on the message attributes; an empty policy means every message of the topic."""
        if self.digest:
            return self._digest_policy()
        if self.min_regions_fallen or self.min_largest_drop_cents:
            raise FilterPolicyError("min_regions_fallen and min_largest_drop_cents apply to the digest only")
        policy: dict[str, Any] = {}
        if self.regions:
            policy[ATTR_REGION] = sorted(set(known_regions(self.regions)))
        rules = (
            (ATTR_DROP_CENTS, ">=", self.min_drop_cents),
            (ATTR_PRICE, "<=", self.max_price),
            (ATTR_DROP_PERCENT, ">=", self.min_drop_percent),
            (ATTR_LOW_WEEKS, ">=", self.min_low_weeks),
        )
        return _with_rules(policy, rules)

    def _digest_policy(self) -> dict[str, Any]:
        per_region = (self.regions, self.min_drop_cents, self.max_price, self.min_drop_percent, self.min_low_weeks)
        if any(per_region):
            raise FilterPolicyError(
                "a digest lists every region that fell; regions and per-region thresholds are for alerts"
            )
        rules = (
            (ATTR_REGIONS_FALLEN, ">=", self.min_regions_fallen),
            (ATTR_LARGEST_DROP_CENTS, ">=", self.min_largest_drop_cents),
        )
        return _with_rules({}, rules)


def _with_rules(policy: dict[str, Any], rules: Sequence[tuple[str, str, Decimal | int | None]]) -> dict[str, Any]:
    """The policy with a numeric rule for each threshold that is set, checked against SNS's limits."""
    for attribute, operator, value in rules:
        if value is not None and value > 0:
            policy[attribute] = [{"numeric": [operator, _number(value)]}]
    check_policy(policy)
    return policy


def filter_policy(regions: Sequence[str] | None = None, min_drop_cents: int | None = None) -> dict[str, Any]:
    """The filter policy for a subscriber choosing regions and a minimum drop; an empty policy means every alert."""
    return SubscriberFilter(
        regions=tuple(regions or ()), min_drop_cents=Decimal(min_drop_cents) if min_drop_cents else None
    ).policy()


def check_policy(policy: Mapping[str, Any], subscriber: str = "the filter policy") -> None:
    """Raise FilterPolicyError naming the subscriber if SNS would refuse this policy (keys, combinations, numbers)."""
    if len(policy) > MAX_KEYS:
        raise FilterPolicyError(f"{subscriber} has {len(policy)} keys; SNS allows at most {MAX_KEYS}")
    combinations = prod(len(values) for values in policy.values())
    if combinations > MAX_COMBINATIONS:
        raise FilterPolicyError(
            f"{subscriber} has {combinations} value combinations; SNS allows at most {MAX_COMBINATIONS}"
        )
    for key, values in policy.items():
        for value in values:
            for number in value.get("numeric", [])[1::2] if isinstance(value, Mapping) else ():
                exponent = Decimal(str(number)).as_tuple().exponent
                if isinstance(exponent, int) and -exponent > MAX_DECIMAL_PLACES:
                    raise FilterPolicyError(
                        f"{subscriber}: {key} {number} has more than {MAX_DECIMAL_PLACES} decimal places"
                    )
                if abs(Decimal(str(number))) > MAX_NUMBER:
                    raise FilterPolicyError(f"{subscriber}: {key} {number} is beyond SNS's range")


def admits(policy: Mapping[str, Any], attributes: Mapping[str, str]) -> bool:
    """Whether SNS delivers a message with these attributes to a subscription with this policy.

    Every key must match one of its values: a string equal to the attribute, or a numeric rule the attribute meets.
    A message lacking a key's attribute does not match. This is the subset of the syntax the product writes.
    """
    for key, values in policy.items():
        if key not in attributes or not any(_matches(value, attributes[key]) for value in values):
            return False
    return True


def describe_policy(policy: Mapping[str, Any], *, digest: bool) -> str:
    """A policy in words: 'Albany and New York City, drops of 3¢ or more'; one the product did not write, as JSON."""
    try:
        return _in_words(policy, digest=digest)
    except (KeyError, TypeError, ValueError, ArithmeticError):
        return json.dumps(policy)


def _in_words(policy: Mapping[str, Any], *, digest: bool) -> str:
    thresholds = {key: _at_least_or_most(values) for key, values in policy.items() if key != ATTR_REGION}
    if digest:
        if ATTR_REGION in policy or not set(thresholds) <= {ATTR_REGIONS_FALLEN, ATTR_LARGEST_DROP_CENTS}:
            raise ValueError("not a digest policy")
        parts = []
        if ATTR_REGIONS_FALLEN in thresholds:
            parts.append(f"weeks when {_plain(thresholds[ATTR_REGIONS_FALLEN], '>=')} regions or more fell")
        if ATTR_LARGEST_DROP_CENTS in thresholds:
            largest = f"a largest drop of {_plain(thresholds[ATTR_LARGEST_DROP_CENTS], '>=')}¢ or more"
            parts.append(f"with {largest}" if parts else f"weeks with {largest}")
        return ", ".join(parts) or "every digest"
    words = {
        ATTR_DROP_CENTS: lambda rule: f"drops of {_plain(rule, '>=')}¢ or more",
        ATTR_PRICE: lambda rule: f"at ${_plain(rule, '<=').quantize(Decimal('0.01'))}/gal or less",
        ATTR_DROP_PERCENT: lambda rule: f"drops of {_plain(rule, '>=')}% or more",
        ATTR_LOW_WEEKS: lambda rule: f"the lowest in {_plain(rule, '>=')} weeks or more",
    }
    if not policy:
        return "every alert"
    regions = [REGION_BY_ID[region].name for region in policy.get(ATTR_REGION, [])]
    named = ", ".join(regions[:-1]) + f" and {regions[-1]}" if len(regions) > 1 else "".join(regions)
    return ", ".join([named or "every region", *(words[key](rule) for key, rule in thresholds.items())])


def _at_least_or_most(values: Sequence[Any]) -> tuple[str, Decimal]:
    [rule] = values
    operator, number = rule["numeric"]
    return str(operator), Decimal(str(number))


def _plain(rule: tuple[str, Decimal], operator: str) -> Decimal:
    if rule[0] != operator:
        raise ValueError(f"{rule[0]} is not the product's {operator}")
    number = rule[1]
    return number.quantize(Decimal(1)) if number == number.to_integral_value() else number.normalize()


def _matches(value: object, attribute: str) -> bool:
    if isinstance(value, Mapping):
        rule = value.get("numeric", [])
        number = Decimal(attribute)
        return all(
            _compare(number, operator, Decimal(str(limit)))
            for operator, limit in zip(rule[::2], rule[1::2], strict=True)
        )
    return value == attribute


def _compare(number: Decimal, operator: str, limit: Decimal) -> bool:
    tests = {
        "=": number == limit,
        ">=": number >= limit,
        ">": number > limit,
        "<=": number <= limit,
        "<": number < limit,
    }
    if operator not in tests:
        raise FilterPolicyError(f"numeric operator {operator!r} is not one the product uses")
    return tests[operator]


def _number(value: Decimal | int) -> int | float:
    """A JSON number for the policy: whole numbers stay integers."""
    as_decimal = Decimal(value)
    return int(as_decimal) if as_decimal == as_decimal.to_integral_value() else float(as_decimal)
