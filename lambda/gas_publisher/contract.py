"""Loads contract.json and stream_filter.json: the names the flow, the Lambda and Terraform share."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

CONTRACT_PATH = Path(__file__).with_name("contract.json")
STREAM_FILTER_PATH = Path(__file__).with_name("stream_filter.json")

# The highest weekly average on record is 5.18; anything outside this range is a data error, not a price.
# The flow refuses such a source row, and the publisher refuses a stream image holding one.
MAX_PLAUSIBLE_PRICE = Decimal("15.00")
MIN_PLAUSIBLE_PRICE = Decimal("0.50")


@dataclass(frozen=True)
class Region:
    """One of the 17 price regions of the dataset."""

    id: str
    name: str

    @property
    def api_field(self) -> str:
        """The Socrata JSON field holding this region's price."""
        return f"{self.id}_average_gal"

    @property
    def csv_header(self) -> str:
        """The column header of the data.ny.gov CSV export."""
        return f"{self.name} Average ($/gal)"


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


_CONTRACT = _load(CONTRACT_PATH)

DATASET_ID: str = _CONTRACT["dataset"]["id"]
DATASET_TITLE: str = _CONTRACT["dataset"]["title"]
DATASET_PAGE_URL: str = _CONTRACT["dataset"]["page_url"]
DATASET_API_URL: str = _CONTRACT["dataset"]["api_url"]
DATASET_CSV_URL: str = _CONTRACT["dataset"]["csv_url"]
# The one series that averages the others; the data-quality guard checks it against the regions.
STATE_AVERAGE: str = _CONTRACT["dataset"]["state_average_region"]

# The table's partitions: week items, the alerts told after their week was stored, and the publisher's sent ledger.
PRICE_PARTITION: str = _CONTRACT["partitions"]["prices"]
LATE_PARTITION: str = _CONTRACT["partitions"]["late"]
SENT_PARTITION: str = _CONTRACT["partitions"]["sent"]

PARTITION_KEY: str = _CONTRACT["table"]["partition_key"]
SORT_KEY: str = _CONTRACT["table"]["sort_key"]
KEY_TYPE: str = _CONTRACT["table"]["key_type"]
STREAM_VIEW_TYPE: str = _CONTRACT["table"]["stream_view_type"]

ATTR_REGION: str = _CONTRACT["message_attributes"]["region"]["name"]
ATTR_DROP_CENTS: str = _CONTRACT["message_attributes"]["drop_cents"]["name"]
ATTR_PRICE: str = _CONTRACT["message_attributes"]["price"]["name"]
ATTR_DROP_PERCENT: str = _CONTRACT["message_attributes"]["drop_percent"]["name"]
ATTR_LOW_WEEKS: str = _CONTRACT["message_attributes"]["low_weeks"]["name"]
# The weekly digest's attributes: how many regions fell, and the largest drop among them.
ATTR_REGIONS_FALLEN: str = _CONTRACT["digest_attributes"]["regions_fallen"]["name"]
ATTR_LARGEST_DROP_CENTS: str = _CONTRACT["digest_attributes"]["largest_drop_cents"]["name"]

# How the stream feeds the publisher, for Terraform's event source mapping and the local stream runner alike.
MAPPING: dict[str, Any] = {
    name: value for name, value in _CONTRACT["event_source_mapping"].items() if name != "comment"
}

# The operator's alarms: the namespace and metrics the flow and the publisher put, and the alarms' thresholds.
_MONITORING: dict[str, Any] = _CONTRACT["monitoring"]
METRIC_NAMESPACE: str = _MONITORING["namespace"]
# Each metric carries the table's name under this dimension, so two stacks in one account never mix their alarms.
METRIC_DIMENSION: str = _MONITORING["dimension"]
METRIC_CHECK_SUCCEEDED: str = _MONITORING["metrics"]["check_succeeded"]
METRIC_SOURCE_AGE_DAYS: str = _MONITORING["metrics"]["source_age_days"]
METRIC_UNSENT_MESSAGES: str = _MONITORING["metrics"]["unsent_messages"]
CHECK_SILENCE_PERIOD_SECONDS: int = _MONITORING["check_silence"]["period_seconds"]
CHECK_SILENCE_PERIODS: int = _MONITORING["check_silence"]["evaluation_periods"]
SOURCE_STALE_AFTER_DAYS: int = _MONITORING["source_stale_after_days"]
SWEEP_SILENCE_PERIOD_SECONDS: int = _MONITORING["sweep_silence"]["period_seconds"]
SWEEP_SILENCE_PERIODS: int = _MONITORING["sweep_silence"]["evaluation_periods"]
# Every alarm of a stack is named <name_prefix>-<suffix>; `gas-alerts status` asks for exactly these.
ALARM_SUFFIXES: tuple[str, ...] = tuple(_MONITORING["alarm_suffixes"])

# The scheduled sweep: the key its event carries, how often it runs, and its defaults.
SWEEP_EVENT_KEY: str = _CONTRACT["sweep"]["event_key"]
SWEEP_SCHEDULE: str = _CONTRACT["sweep"]["schedule_expression"]
SWEEP_GRACE_SECONDS: int = _CONTRACT["sweep"]["grace_seconds"]
SWEEP_WEEKS: int = _CONTRACT["sweep"]["weeks"]

HANDLER: str = _CONTRACT["lambda"]["handler"]
# How long one invocation (one stream batch) may run; Terraform sets it and the local runner reports it.
FUNCTION_TIMEOUT_SECONDS: int = _CONTRACT["lambda"]["timeout_seconds"]
# The names of the variables the handler reads; Terraform sets exactly these.
ENV_TABLE_NAME: str = _CONTRACT["lambda"]["environment"]["table_name"]
ENV_TOPIC_ARN: str = _CONTRACT["lambda"]["environment"]["topic_arn"]
ENV_DIGEST_TOPIC_ARN: str = _CONTRACT["lambda"]["environment"]["digest_topic_arn"]
ENV_LOG_LEVEL: str = _CONTRACT["lambda"]["environment"]["log_level"]
HANDLER_ENVIRONMENT: tuple[str, ...] = tuple(_CONTRACT["lambda"]["environment"].values())

REGIONS: tuple[Region, ...] = tuple(Region(r["id"], r["name"]) for r in _CONTRACT["regions"])
REGION_BY_ID: dict[str, Region] = {region.id: region for region in REGIONS}
REGION_IDS: tuple[str, ...] = tuple(REGION_BY_ID)


def stream_filter_pattern() -> dict[str, Any]:
    """The DynamoDB stream filter pattern that Terraform and the local stream runner apply (checked as AWS would)."""
    from gas_publisher.event_filter import check_pattern

    pattern = _load(STREAM_FILTER_PATH)
    check_pattern(pattern)
    return pattern


class UnknownRegionError(ValueError):
    """A region id that is not one of the dataset's regions."""


def is_known_region(value: object) -> bool:
    """Tell whether a value is one of the dataset's region ids (input is untrusted)."""
    return isinstance(value, str) and value in REGION_BY_ID


def known_regions(regions: Iterable[str] | None) -> tuple[str, ...]:
    """The regions asked for, all of them when none are; an unknown id is an error that lists the known ones."""
    chosen = tuple(regions or ())
    if not chosen:
        return REGION_IDS
    unknown = [str(region)[:40] for region in chosen if not is_known_region(region)]
    if unknown:
        raise UnknownRegionError(f"unknown region(s): {', '.join(unknown)}; known regions: {', '.join(REGION_IDS)}")
    return chosen
