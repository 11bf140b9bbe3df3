"""The sent-alert ledger: which regions of which week were already published, so redeliveries send nothing."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import TYPE_CHECKING

from gas_publisher.batching import batch_get, batch_put
from gas_publisher.contract import DATASET_ID, PARTITION_KEY, SORT_KEY

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# A separate partition of the same table: the weekly Query never reads it and the stream filter drops it.
SENT_PARTITION = f"{DATASET_ID}#sent"


def ledger_key(week: date) -> dict[str, dict[str, str]]:
    """The key of one week's ledger item."""
    return {PARTITION_KEY: {"S": SENT_PARTITION}, SORT_KEY: {"S": week.isoformat()}}


class SentLedger:
    """Reads and extends the set of regions already alerted for each week."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def sent(self, weeks: Iterable[date]) -> dict[date, set[str]]:
        """Regions already published for each week."""
        keys = [ledger_key(week) for week in sorted(set(weeks))]
        return {
            date.fromisoformat(item[SORT_KEY]["S"]): set(item.get("regions", {}).get("SS", []))
            for item in batch_get(self._client, self._table, keys)
        }

    def record(self, sent: Mapping[date, set[str]]) -> None:
        """Store the full set of sent regions per week (the caller passes the union with what was there)."""
        items = [
            {**ledger_key(week), "regions": {"SS": sorted(regions)}}
            for week, regions in sorted(sent.items())
            if regions
        ]
        batch_put(self._client, self._table, items)
