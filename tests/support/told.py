"""What subscribers were told: the (week, region) of each alert and the regions each digest names, from the emails."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime

from gas_local.outbox import DeliveredAlert
from gas_publisher.contract import REGIONS

# Every alert and digest body names its week in these words ("in the week of Monday 23 February 2026").
WEEK_WORDS = re.compile(r"in the week of \w+ (\d{1,2} \w+ \d{4})")
BY_NAME = {region.name: region.id for region in REGIONS}


def week_of(email: DeliveredAlert) -> date:
    """The week an alert or digest is about, read from its body as a subscriber reads it."""
    found = WEEK_WORDS.search(email.body)
    assert found is not None, f"the email names no week: {email.body[:120]!r}"
    return datetime.strptime(found.group(1), "%d %B %Y").date()


def alerts_by_week(emails: Iterable[DeliveredAlert]) -> Counter[tuple[date, str]]:
    """How many alerts each (week, region) received."""
    return Counter((week_of(email), email.region) for email in emails if not email.is_digest)


def digest_regions(email: DeliveredAlert) -> list[str]:
    """The region ids a digest lists, one per line of its body."""
    return [BY_NAME[_head(line)] for line in _region_lines(email)]


def _region_lines(email: DeliveredAlert) -> list[str]:
    # A region's line starts with its name, padded to the longest name of the digest.
    return [line for line in email.body.splitlines() if line.startswith("  ") and _head(line) in BY_NAME]


def _head(line: str) -> str:
    return line.strip().split("  ")[0]


def digest_news(email: DeliveredAlert) -> list[str]:
    """The region ids a digest tells as news: those it marks new, or all it lists when it marks none."""
    marked = [
        region
        for region, line in zip(digest_regions(email), _region_lines(email), strict=True)
        if line.endswith("  new")
    ]
    return marked or digest_regions(email)


def digests_by_week(emails: Iterable[DeliveredAlert]) -> Counter[tuple[date, str]]:
    """How many times the digests told each (week, region) as news."""
    return Counter((week_of(email), region) for email in emails if email.is_digest for region in digest_news(email))
