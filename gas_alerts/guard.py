"""The data-quality guard: holds values that cannot be right, so a published error never becomes a false drop.

`find_suspects` is a pure function of one week's prices and the trusted prices of the weeks before it. It names
no date, region or price of the data, so it works on errors it has never seen. A held ("suspect") value never
alerts and is never the previous value of a later comparison; re-evaluating a revised week clears it.

Moves are measured from a common base: for each series, the newest earlier week in which it was trusted, and the
other regions' moves from that same week. After a held week a region is therefore compared over two weeks, and
so are the others. A missing source week widens the span for everybody alike.

The thresholds were derived from both bundled copies of the data, 2007-10-29 to 2026-04-06 (docs/data-quality.md
gives the distributions): each sits well above every legitimate week and well below the published errors.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from statistics import median

from gas_publisher.contract import STATE_AVERAGE

Prices = Mapping[str, Decimal]

# Rule 1a. No legitimate week has the state average outside its regions' range, even by a cent: an exact average
# lies inside the exact range, and rounding every value to the cent can move it at most 0.01 outside.
RANGE_TOLERANCE = Decimal("0.01")
# The fewest regions any week has (2007-2016); with fewer, a narrower range could exclude a true average.
MIN_REGIONS_FOR_RANGE = 8

# Rule 1b. The largest legitimate |state move - median regional move| is 0.075 over one week and 0.095 from a
# base two or more weeks old; each limit is about twice that. Its spread factor: at most 4.5 x MAD was seen.
STATE_LIMIT_ONE_WEEK = Decimal("0.15")
STATE_LIMIT_OLDER_BASE = Decimal("0.20")
STATE_SPREAD_FACTOR = Decimal(5)
STATE_LIMITS = (STATE_LIMIT_ONE_WEEK, STATE_LIMIT_OLDER_BASE, STATE_SPREAD_FACTOR)

# Rule 2. The largest legitimate |region move - median of the others' moves| is 0.22 over one week (Nassau after
# Hurricane Sandy) and 0.29 from an older base; p99.9 is 0.08. Each limit keeps 8 cents or more of margin, far
# below the published isolated error (0.86). The limit widens with the spread (MAD) of the others' moves: at most
# 6.5 x MAD was seen, so 8 x MAD changes nothing in ordinary weeks and protects the uneven ones.
REGION_LIMIT_ONE_WEEK = Decimal("0.30")
REGION_LIMIT_OLDER_BASE = Decimal("0.40")
REGION_SPREAD_FACTOR = Decimal(8)
REGION_LIMITS = (REGION_LIMIT_ONE_WEEK, REGION_LIMIT_OLDER_BASE, REGION_SPREAD_FACTOR)

# A median tolerates one bad value only among three or more.
MIN_OTHERS = 3
# Earlier weeks searched for a base; a region held this many weeks running has none left and is trusted again, so a
# real, lasting shift in one region is held for at most a month.
GUARD_WEEKS = 4


def find_suspects(current: Prices, trusted_before: Sequence[Prices]) -> dict[str, str]:
    """The series of `current` to hold, each with its reason; `trusted_before` is newest first, trusted values only."""
    history = list(trusted_before[:GUARD_WEEKS])
    regions = {series: price for series, price in current.items() if series != STATE_AVERAGE}
    state = current.get(STATE_AVERAGE)
    if state is not None:
        reason = _state_disagrees(state, regions, history)
        if reason:
            # The week alone cannot tell which side is wrong: a uniform regional error looks like a state error.
            return dict.fromkeys(current, f"inconsistent week: {reason}")
    suspects = {}
    for series, price in regions.items():
        reason = _moves_alone(series, price, regions, history)
        if reason:
            suspects[series] = f"isolated move: {reason}"
    return suspects


def _state_disagrees(state: Decimal, regions: Prices, history: Sequence[Prices]) -> str:
    if len(regions) >= MIN_REGIONS_FOR_RANGE:
        low, high = min(regions.values()), max(regions.values())
        outside = low - state if state < low else state - high
        if outside > RANGE_TOLERANCE:
            side = "below" if state < low else "above"
            return f"state average {state} is {outside} {side} the regional range {low}-{high}"
    departure = _departure(STATE_AVERAGE, state, regions, history, STATE_LIMITS)
    if departure is None:
        return ""
    return departure.describe("state average moved ", "the regions' median")


def _moves_alone(series: str, price: Decimal, regions: Prices, history: Sequence[Prices]) -> str:
    others = {name: other for name, other in regions.items() if name != series}
    departure = _departure(series, price, others, history, REGION_LIMITS)
    if departure is None:
        return ""
    return departure.describe("", f"the median of {departure.others} other regions")


@dataclass(frozen=True)
class _Departure:
    """A series' move since its base week, and the median move of the others it departed from."""

    move: Decimal
    span: int
    centre: Decimal
    others: int

    def describe(self, lead: str, compared_with: str) -> str:
        """The reason for a hold: the move, over how long, and the others' move it departed from."""
        return f"{lead}{self.move:+} {_over(self.span)} while {compared_with} moved {self.centre:+}"


def _departure(
    series: str, price: Decimal, others: Prices, history: Sequence[Prices], limits: tuple[Decimal, Decimal, Decimal]
) -> _Departure | None:
    """How far the series moved from its base week against the others' median, if by more than the limits allow.

    None when the series has no trusted base, too few others can be compared, or the move stays within the limits.
    """
    found = _base(series, history)
    if found is None:
        return None
    span, base = found
    moves = [other - base[name] for name, other in others.items() if name in base]
    if len(moves) < MIN_OTHERS:
        return None
    move = price - base[series]
    centre, spread = _centre_and_spread(moves)
    one_week, older_base, spread_factor = limits
    if abs(move - centre) <= max(one_week if span == 1 else older_base, spread_factor * spread):
        return None
    return _Departure(move, span, centre, len(moves))


def _base(series: str, history: Sequence[Prices]) -> tuple[int, Prices] | None:
    """How many weeks back the series was last trusted, and that week's trusted prices."""
    for span, week in enumerate(history, start=1):
        if series in week:
            return span, week
    return None


def _centre_and_spread(moves: Sequence[Decimal]) -> tuple[Decimal, Decimal]:
    """The median of the moves and their median absolute deviation from it."""
    centre = median(moves)
    return centre, median(abs(move - centre) for move in moves)


def _over(span: int) -> str:
    return "in a week" if span == 1 else f"over {span} weeks"
