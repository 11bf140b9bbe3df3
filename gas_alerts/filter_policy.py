"""SNS subscription filter policies on the alert message attributes (region, minimum drop)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gas_publisher.contract import ATTR_DROP_CENTS, ATTR_REGION, REGION_BY_ID, REGION_IDS


def filter_policy(regions: Sequence[str] | None = None, min_drop_cents: int | None = None) -> dict[str, Any]:
    """The filter policy for a subscriber; an empty policy means every alert."""
    policy: dict[str, Any] = {}
    if regions:
        unknown = [region for region in regions if region not in REGION_BY_ID]
        if unknown:
            raise ValueError(f"unknown region(s): {', '.join(unknown)}; known regions: {', '.join(REGION_IDS)}")
        policy[ATTR_REGION] = sorted(set(regions))
    if min_drop_cents is not None and min_drop_cents > 0:
        policy[ATTR_DROP_CENTS] = [{"numeric": [">=", min_drop_cents]}]
    return policy
