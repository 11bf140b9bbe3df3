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
    by_name = {region.name: region.id for region in REGIONS}
    named = []
    for line in email.body.splitlines():
        # A region's line starts with its name, padded to the longest name of the digest.
        head = line.strip().split("  ")[0]
        if line.startswith("  ") and head in by_name:
            named.append(by_name[head])
    return named


def digests_by_week(emails: Iterable[DeliveredAlert]) -> Counter[tuple[date, str]]:
    """How many times the digests named each (week, region)."""
    return Counter((week_of(email), region) for email in emails if email.is_digest for region in digest_regions(email))
