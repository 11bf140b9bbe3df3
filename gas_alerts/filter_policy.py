"""SNS subscription filter policies on the alert message attributes (region, minimum drop)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gas_publisher.contract import ATTR_DROP_CENTS, ATTR_REGION, known_regions


def filter_policy(regions: Sequence[str] | None = None, min_drop_cents: int | None = None) -> dict[str, Any]:
    """The filter policy for a subscriber; an empty policy means every alert."""
    policy: dict[str, Any] = {}
    if regions:
        policy[ATTR_REGION] = sorted(set(known_regions(regions)))
    if min_drop_cents is not None and min_drop_cents > 0:
        policy[ATTR_DROP_CENTS] = [{"numeric": [">=", min_drop_cents]}]
    return policy
