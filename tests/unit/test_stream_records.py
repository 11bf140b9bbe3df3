"""Malformed, forged or hostile stream images never crash the publisher's batch or send a bad alert."""

from __future__ import annotations

import copy
import logging
from decimal import Decimal
from typing import Any

import pytest

from gas_publisher.contract import REGION_IDS
from gas_publisher.handler import process_batch
from tests.support.data import HOSTILE_REGIONS, load_event
from tests.support.fakes import offline_publisher

# The records of malformed_records.json that pass the stream filter (INSERTs flagged for alerting) but are broken
# (316 is one too, but its SequenceNumber is not a string, so it cannot be named in batchItemFailures). 314 holds
# its image in a list: as on AWS, the filter matches an object inside a list, so the function gets it, and fails it.
MALFORMED_ALERTS = [f"1100000000000000000{n}" for n in (301, 302, 303, 304, 305, 307, 308, 309, 310, 314)]


def test_malformed_alert_records_fail_and_other_records_are_skipped(caplog: pytest.LogCaptureFixture) -> None:
    """GIVEN broken alert INSERTs, non-alert records and one good alert THEN the broken alerts fail, the rest skip."""
    event = load_event("malformed_records.json")
    publisher, sns = offline_publisher()

    with caplog.at_level(logging.INFO, logger="gas_publisher"):
        response = process_batch(event, publisher)

    assert response == {"batchItemFailures": [{"itemIdentifier": sequence} for sequence in MALFORMED_ALERTS]}
    assert [entry["Subject"] for entry in sns.entries] == ["Gas fell 10 cents in Buffalo: $3.10/gal"]
    lines = [r.getMessage() for r in caplog.records]
    failed = [line for line in lines if line.startswith("malformed alert record")]
    skipped = [line for line in lines if line.startswith("skip record")]
    assert (len(failed), len(skipped)) == (len(MALFORMED_ALERTS), len(event["Records"]) - len(MALFORMED_ALERTS) - 1)
    for reason in (
        "rev is not",
        "prices.albany is not a finite number",
        "not a plausible drop",
        "drops is not a list",
        "prices is missing or not a map",
        "sk is not an ISO date",
        "pk is not the dataset partition",
        "NewImage is not a map",
    ):
        assert any(reason in line for line in failed), reason
    for reason in ("not an alert: REMOVE", "not an alert: MODIFY", "no dynamodb section", "no SequenceNumber"):
        assert any(reason in line for line in skipped), reason


ALERT_IMAGE: dict[str, Any] = load_event("alert_insert.json")["Records"][0]["dynamodb"]["NewImage"]


BAD_VALUES: list[object] = [
    "DELETE",
    None,
    "text",
    7,
    [],
    {},
    {"S": "x"},
    {"S": 7},
    {"N": "abc"},
    {"N": "NaN"},
    {"N": "sNaN"},
    {"N": "-Infinity"},
    {"N": "9.9E+125"},
    {"N": "1E-130"},
    {"N": "-3.38"},
    {"N": "0"},
    {"BOOL": True},
    {"BOOL": "true"},
    {"L": "x"},
    {"L": [{"S": "../../etc/passwd"}]},
    {"L": [{"N": "1"}]},
    {"M": []},
    {"M": {"<script>": {"N": "3.00"}}},
    {"SS": ["albany"]},
    {"NULL": True},
]


PATHS = [
    ("pk",),
    ("sk",),
    ("prices",),
    ("prices", "M", "albany"),
    ("prices", "M", "new_york_city"),
    ("previous_prices",),
    ("previous_prices", "M", "albany"),
    ("previous_week",),
    ("drops",),
    ("drops", "L", 0),
    ("alert",),
    ("origin",),
    ("rev",),
    ("recorded_at",),
]


def mutated(path: tuple[str | int, ...], value: object) -> dict[str, Any]:
    """The alert image with the value at `path` replaced (or deleted)."""
    image = copy.deepcopy(ALERT_IMAGE)
    target: Any = image
    for key in path[:-1]:
        target = target[key]
    if value == "DELETE":
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return image


@pytest.mark.parametrize("path", PATHS, ids=lambda path: ".".join(map(str, path)))
def test_no_mutation_of_an_alert_image_crashes_the_batch_or_sends_a_bad_alert(path: tuple[str | int, ...]) -> None:
    """Every wrong value here is skipped, reported as a failed record publishing nothing, or a valid alert; no crash."""
    problems = []
    for value in BAD_VALUES:
        record = {"eventName": "INSERT", "dynamodb": {"SequenceNumber": "1", "NewImage": mutated(path, value)}}
        publisher, sns = offline_publisher()
        try:
            response = process_batch({"Records": [record]}, publisher)
        except Exception as error:  # every crash is collected, then reported together
            problems.append(f"{value!r}: {type(error).__name__}: {error}")
            continue
        failed = response == {"batchItemFailures": [{"itemIdentifier": "1"}]}
        if not failed and response != {"batchItemFailures": []}:
            problems.append(f"{value!r}: reported {response}")
        if failed and sns.entries:
            problems.append(f"{value!r}: a failed record published {len(sns.entries)} messages")
        for entry in sns.entries:
            region = entry["MessageAttributes"]["region"]["StringValue"]
            cents = Decimal(entry["MessageAttributes"]["drop_cents"]["StringValue"])
            if region not in REGION_IDS or not 0 < cents < 1500 or not entry["Subject"].isascii():
                problems.append(f"{value!r}: published {region!r} {cents}")
    assert problems == []


@pytest.mark.parametrize("place", ["drops", "prices", "previous_prices"])
@pytest.mark.parametrize("region", HOSTILE_REGIONS, ids=range(len(HOSTILE_REGIONS)))
def test_a_hostile_region_in_a_stream_image_is_refused(
    place: str, region: str, caplog: pytest.LogCaptureFixture
) -> None:
    """An unknown region name anywhere in an alert image fails the record: no message, no attribute, no key."""
    image: dict[str, Any] = copy.deepcopy(ALERT_IMAGE)
    if place == "drops":
        image["drops"]["L"].append({"S": region})
    else:
        image[place]["M"][region] = {"N": "3.00"}
    publisher, sns = offline_publisher()

    with caplog.at_level(logging.INFO, logger="gas_publisher"):
        response = process_batch(
            {"Records": [{"eventName": "INSERT", "dynamodb": {"SequenceNumber": "1", "NewImage": image}}]}, publisher
        )

    assert (response, sns.entries) == ({"batchItemFailures": [{"itemIdentifier": "1"}]}, [])
    [line] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("malformed alert record")]
    assert f"{place} names an unknown region" in line
    assert len(line) < 200, "a hostile name is quoted only in part"


def test_the_untouched_image_does_publish() -> None:
    """The image the hostile variants start from is a valid alert, so the refusals above are about the region."""
    publisher, sns = offline_publisher()
    process_batch(
        {"Records": [{"eventName": "INSERT", "dynamodb": {"SequenceNumber": "1", "NewImage": ALERT_IMAGE}}]}, publisher
    )
    assert sorted(entry["MessageAttributes"]["region"]["StringValue"] for entry in sns.entries) == [
        "albany",
        "new_york_city",
    ]
