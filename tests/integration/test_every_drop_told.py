"""Every drop of every week reaches its subscribers once, however late its data arrives (moto, the real stream).

Each test runs the weekly check's steps against a local Socrata, delivers through the stream runner and the real
publisher, and counts what the subscribers' inboxes received: alerts by (week, region), digests by the regions
they name.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from typing import Any

import pytest

from gas_alerts.settings import Settings
from gas_local.delivery import LocalDelivery
from gas_local.outbox import DeliveredAlert
from gas_local.provision import provision
from gas_local.socrata import LocalSocrata, local_socrata
from gas_publisher.contract import ATTR_LARGEST_DROP_CENTS, ATTR_REGIONS_FALLEN
from tests.support.data import LATEST_SNAPSHOT_CSV, api_row, csv_rows
from tests.support.steps import backfill, weekly_check
from tests.support.told import alerts_by_week, digest_regions, digests_by_week, week_of

pytestmark = pytest.mark.slow(seconds=15)

# Six regions and the state average, enough for the data-quality guard to judge one region against the others.
STEADY = {
    "new_york_state": "3.50",
    "albany": "3.50",
    "nassau": "3.52",
    "utica": "3.48",
    "buffalo": "3.46",
    "syracuse": "3.51",
    "rochester": "3.49",
}
W1, W2, W3, W4 = (date(2026, 3, 2) + timedelta(weeks=n) for n in range(4))


def delivered(delivery: LocalDelivery) -> list[DeliveredAlert]:
    """Everything the stream holds now, through the publisher, as the subscribers receive it."""
    return [email for email, _ in delivery.deliver_once()[1]]


def row(week: date, **changes: str | None) -> dict[str, Any]:
    """The steady week with some regions changed (None: not published)."""
    return api_row(week, **{**STEADY, **changes})


def check_baseline_then(newest: date, source: LocalSocrata, table_name: str) -> None:
    """Check with W1 published alone (the baseline), then with every week up to `newest`."""
    source.reveal_until(W1)
    weekly_check(source.url, table_name)
    source.reveal_until(newest)
    weekly_check(source.url, table_name)


def test_two_weeks_published_between_checks_each_tell_their_drops(settings: Settings) -> None:
    """2026-02-23 came out after one check and 2026-03-02 before the next: both weeks' falls are told, once each."""
    provision(settings)
    delivery = LocalDelivery.connect(settings)
    with local_socrata(csv_rows(LATEST_SNAPSHOT_CSV)) as source:
        source.reveal_until(date(2026, 2, 16))
        weekly_check(source.url, settings.table_name)
        assert delivered(delivery) == [], "the first check stores a baseline"
        source.reveal_until(date(2026, 3, 2))
        weekly_check(source.url, settings.table_name)
        emails = delivered(delivery)
        weekly_check(source.url, settings.table_name)
        again = delivered(delivery)

    feb23, mar2 = date(2026, 2, 23), date(2026, 3, 2)
    told = {(feb23, region) for region in ("glens_falls", "watertown", "white_plains")}
    told |= {(mar2, region) for region in ("batavia", "glens_falls", "ithaca")}
    assert alerts_by_week(emails) == Counter(dict.fromkeys(told, 1))
    assert digests_by_week(emails) == Counter(dict.fromkeys(told, 1))
    assert again == []


def test_a_region_filled_in_after_the_next_week_alerts_once_naming_its_week(settings: Settings) -> None:
    """Albany missing from W2, which the source fills in lower after W3 is out: one alert about W2, then none."""
    provision(settings)
    delivery = LocalDelivery.connect(settings)
    with local_socrata([row(W1)]) as source:
        weekly_check(source.url, settings.table_name)
        source.rows += [row(W2, albany=None), row(W3)]
        weekly_check(source.url, settings.table_name)
        assert delivered(delivery) == []
        source.rows[1] = row(W2, albany="3.44")
        weekly_check(source.url, settings.table_name)
        emails = delivered(delivery)
        weekly_check(source.url, settings.table_name)
        again = delivered(delivery)

    assert alerts_by_week(emails) == Counter({(W2, "albany"): 1})
    assert digests_by_week(emails) == Counter({(W2, "albany"): 1})
    [alert] = [email for email in emails if not email.is_digest]
    assert "in the week of Monday 9 March 2026" in alert.subject, "the week is not the newest, so the subject says"
    assert again == []


def test_a_held_value_corrected_to_a_drop_alerts_once(settings: Settings) -> None:
    """Syracuse published 4.39 alone (held by the guard), then corrected to 3.45, a fall from 3.51: one alert."""
    provision(settings)
    delivery = LocalDelivery.connect(settings)
    with local_socrata([row(W1), row(W2, syracuse="4.39"), row(W3, syracuse="3.51")]) as source:
        check_baseline_then(W3, source, settings.table_name)
        assert delivered(delivery) == [], "the held 4.39 and the return to 3.51 are no drops"
        source.rows[1] = row(W2, syracuse="3.45")
        weekly_check(source.url, settings.table_name)
        emails = delivered(delivery)
        weekly_check(source.url, settings.table_name)
        again = delivered(delivery)

    assert alerts_by_week(emails) == Counter({(W2, "syracuse"): 1})
    assert again == []


def test_a_backfill_between_a_late_region_and_the_check_leaves_its_alert(settings: Settings) -> None:
    """Albany filled in lower in the newest week, a backfill runs, then the check: the fall is still told once."""
    provision(settings)
    delivery = LocalDelivery.connect(settings)
    with local_socrata([row(W1), row(W2, albany=None)]) as source:
        check_baseline_then(W2, source, settings.table_name)
        source.rows[1] = row(W2, albany="3.40")
        backfill(source.url, settings.table_name)
        weekly_check(source.url, settings.table_name)
        emails = delivered(delivery)

    assert alerts_by_week(emails) == Counter({(W2, "albany"): 1})


def test_the_weeks_digests_name_every_region_told_once_when_a_late_region_shares_the_batch(
    settings: Settings,
) -> None:
    """W2 alerts Albany and Nassau; Utica, filled in late, comes in the same stream batch: both digests arrive."""
    provision(settings)
    delivery = LocalDelivery.connect(settings)
    with local_socrata([row(W1), row(W2, albany="3.45", nassau="3.47", utica=None)]) as source:
        check_baseline_then(W2, source, settings.table_name)
        source.rows[1] = row(W2, albany="3.45", nassau="3.47", utica="3.40")
        weekly_check(source.url, settings.table_name)
        emails = delivered(delivery)

    told = {(W2, "albany"), (W2, "nassau"), (W2, "utica")}
    assert alerts_by_week(emails) == Counter(dict.fromkeys(told, 1))
    assert digests_by_week(emails) == Counter(dict.fromkeys(told, 1))
    assert {week_of(email) for email in emails} == {W2}


def test_a_late_region_in_a_batch_of_its_own_reaches_the_digest_subscribers(settings: Settings) -> None:
    """The week's digest went out before Utica was filled in; Utica's fall then reaches digest subscribers too."""
    provision(settings)
    delivery = LocalDelivery.connect(settings)
    with local_socrata([row(W1), row(W2, albany="3.45", utica=None)]) as source:
        check_baseline_then(W2, source, settings.table_name)
        first = delivered(delivery)
        source.rows[1] = row(W2, albany="3.45", utica="3.40")
        weekly_check(source.url, settings.table_name)
        second = delivered(delivery)

    assert digests_by_week(first) == Counter({(W2, "albany"): 1})
    assert digests_by_week(second) == Counter({(W2, "utica"): 1})


def test_a_digest_subscriber_of_four_regions_or_more_gets_the_week_once_a_late_region_makes_it_four(
    settings: Settings,
) -> None:
    """Three regions fell in W2, and Utica, filled in later, fell too: 'at least 4' gets W2 once, whole."""
    provision(settings, digest_policy={ATTR_REGIONS_FALLEN: [{"numeric": [">=", 4]}]})
    delivery = LocalDelivery.connect(settings)
    falls = {"albany": "3.45", "nassau": "3.47", "syracuse": "3.44"}  # 5, 5 and 7 cents
    with local_socrata([row(W1), row(W2, **falls, utica=None)]) as source:
        check_baseline_then(W2, source, settings.table_name)
        first = delivered(delivery)
        source.rows[1] = row(W2, **falls, utica="3.46")  # 2 cents
        weekly_check(source.url, settings.table_name)
        second = delivered(delivery)

    assert [email for email in first if email.is_digest] == [], "3 regions are fewer than the subscriber's 4"
    [digest] = [email for email in second if email.is_digest]
    assert (digest.attributes[ATTR_REGIONS_FALLEN], digest.attributes[ATTR_LARGEST_DROP_CENTS]) == ("4", "7")
    assert sorted(digest_regions(digest)) == ["albany", "nassau", "syracuse", "utica"]
    marked = [line.split()[0] for line in digest.body.splitlines() if line.startswith("  ") and line.endswith("new")]
    assert marked == ["Utica"], digest.body
    assert week_of(digest) == W2


def test_a_late_digest_of_a_week_that_sent_no_digest_does_not_say_more(settings: Settings) -> None:
    """W2 had no fall until Albany was filled in lower: its one digest says Albany fell, never 'also' or 'more'."""
    provision(settings)
    delivery = LocalDelivery.connect(settings)
    with local_socrata([row(W1), row(W2, albany=None)]) as source:
        check_baseline_then(W2, source, settings.table_name)
        assert delivered(delivery) == []
        source.rows[1] = row(W2, albany="3.44")
        weekly_check(source.url, settings.table_name)
        emails = delivered(delivery)

    [digest] = [email for email in emails if email.is_digest]
    assert digest.subject == "Gas fell in 1 region in the week of 2026-03-09, by up to 6 cents"
    assert "also" not in digest.body, digest.body
    assert "more" not in digest.body, digest.body
