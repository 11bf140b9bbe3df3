"""BatchGetItem with chunking and backoff on unprocessed keys, and what a cancelled transaction says of its items."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

BATCH_GET_LIMIT = 100
MAX_ATTEMPTS = 8
# DynamoDB accepts at most 100 operations in one transaction.
MAX_TRANSACTION_ITEMS = 100
# The reason code of a transaction's item whose condition failed.
CONDITION_FAILED = "ConditionalCheckFailed"

Item = dict[str, Any]


class UnprocessedError(RuntimeError):
    """DynamoDB still returned unprocessed entries after every attempt."""


def _backoff(attempt: int) -> float:
    return min(0.05 * 2.0**attempt, 2.0)


def batch_get(
    client: DynamoDBClient,
    table: str,
    keys: Sequence[Item],
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> list[Item]:
    """Fetch items by key, 100 keys a call, retrying unprocessed keys with backoff."""
    found: list[Item] = []
    for start in range(0, len(keys), BATCH_GET_LIMIT):
        request: Mapping[str, Any] = {
            table: {"Keys": list(keys[start : start + BATCH_GET_LIMIT]), "ConsistentRead": True}
        }
        for attempt in range(MAX_ATTEMPTS):
            response = client.batch_get_item(RequestItems=request)
            found.extend(response.get("Responses", {}).get(table, []))
            request = response.get("UnprocessedKeys") or {}
            if not request:
                break
            sleep(_backoff(attempt))
        else:
            raise UnprocessedError(f"keys of {table} still unprocessed after {MAX_ATTEMPTS} attempts")
    return found


def cancellation_codes(error: ClientError) -> list[str] | None:
    """Each item's reason code ("None" for an item that would have passed) if a transaction was cancelled, else None."""
    if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
        return None
    return [str(reason.get("Code", "None")) for reason in error.response.get("CancellationReasons", [])]
