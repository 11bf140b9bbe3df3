"""Reads the dataset's rows: from the Socrata JSON API (one page or all of them), or from a data.ny.gov CSV export."""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Mapping
from datetime import date, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import httpx
import stamina
from stamina.instrumentation import RetryDetails, set_on_retry_hooks

from gas_alerts.prices import SourceDataError, WeekPrices, parse_rows
from gas_alerts.tls import tls_context
from gas_publisher.contract import DATASET_API_URL, REGIONS

logger = logging.getLogger("gas_alerts")
DEFAULT_SOURCE = DATASET_API_URL
TIMEOUT = httpx.Timeout(20.0, connect=5.0)
ATTEMPTS = 5
MAX_RETRY_AFTER = 60.0
TRANSIENT_STATUS = frozenset({429, 500, 502, 503, 504})
CSV_DATE_FORMAT = "%m/%d/%Y"
CSV_DATE_HEADER = "Date"
# The API's own default page; the full history (about 900 weeks) fits in one.
PAGE_SIZE = 1000


class SourceUnavailableError(RuntimeError):
    """The source could not be reached, or kept failing, after every retry."""


def _say_retry(details: RetryDetails) -> None:
    """One readable line per retry of the source, instead of stamina's bare event name."""
    cause = details.caused_by
    why = f"HTTP {cause.response.status_code}" if isinstance(cause, httpx.HTTPStatusError) else type(cause).__name__
    logger.warning(
        "the source did not answer (%s); trying again in %.1f s (retry %d of %d)",
        why,
        details.wait_for,
        details.retry_num,
        ATTEMPTS - 1,
    )


set_on_retry_hooks([_say_retry])


def is_url(source: str) -> bool:
    """Tell a URL from a file path."""
    return source.startswith(("http://", "https://"))


def is_api_url(source: str) -> bool:
    """Tell the Socrata JSON API (newest rows on request, paged) from a CSV export URL or a file."""
    return is_url(source) and not source.split("?", 1)[0].endswith(".csv")


def retry_backoff(error: Exception) -> bool | float:
    """Retry transport errors, 429 and 5xx; wait as long as Retry-After asks, within a bound."""
    if isinstance(error, httpx.TransportError):
        return True
    if isinstance(error, httpx.HTTPStatusError) and error.response.status_code in TRANSIENT_STATUS:
        wait = _retry_after(error.response.headers.get("Retry-After"))
        return True if wait is None else min(wait, MAX_RETRY_AFTER)
    return False


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max((moment - datetime.now(moment.tzinfo)).total_seconds(), 0.0)


def fetch_json_rows(
    url: str,
    *,
    limit: int,
    offset: int = 0,
    app_token: str | None = None,
    http: httpx.Client | None = None,
    until: date | None = None,
) -> Any:
    """GET newest-first rows from the Socrata API (up to `until`), retrying transient failures; return the JSON."""
    params = {"$order": "date DESC", "$limit": str(limit)}
    if offset:
        params["$offset"] = str(offset)
    if until is not None:
        params["$where"] = f"date <= '{until.isoformat()}T00:00:00'"
    response = _get(url, params, app_token, http)
    content_type = response.headers.get("Content-Type", "")
    if "html" in content_type or response.text.lstrip()[:1] == "<":
        raise SourceDataError(f"{url} answered with an HTML page, not JSON rows")
    try:
        return response.json()
    except json.JSONDecodeError as error:
        raise SourceDataError(f"{url} answered with invalid JSON ({error.msg} at byte {error.pos})") from None


def fetch_csv_text(url: str, *, app_token: str | None = None, http: httpx.Client | None = None) -> str:
    """GET a CSV export, retrying transient failures."""
    return _get(url, {}, app_token, http).text


def _get(url: str, params: dict[str, str], app_token: str | None, http: httpx.Client | None) -> httpx.Response:
    headers = {"Accept": "application/json, text/csv"}
    if app_token:
        headers["X-App-Token"] = app_token
    owned = http is None
    client = http or httpx.Client(timeout=TIMEOUT, follow_redirects=True, verify=tls_context())
    try:
        for attempt in stamina.retry_context(on=retry_backoff, attempts=ATTEMPTS, timeout=180, wait_max=30):
            with attempt:
                response = client.get(url, params=params, headers=headers)
                response.raise_for_status()
        return response
    except httpx.HTTPStatusError as error:
        raise SourceUnavailableError(
            f"{url} answered HTTP {error.response.status_code} after {ATTEMPTS} attempts"
        ) from error
    except httpx.TransportError as error:
        raise SourceUnavailableError(
            f"{url} could not be read after {ATTEMPTS} attempts: {type(error).__name__}: {error}"
        ) from error
    finally:
        if owned:
            client.close()


def rows_from_csv(text: str) -> list[dict[str, str]]:
    """Turn a data.ny.gov CSV export into rows shaped like the JSON API's (field names, ISO dates)."""
    reader = csv.DictReader(io.StringIO(text))
    headers = reader.fieldnames or []
    if CSV_DATE_HEADER not in headers:
        raise SourceDataError(f"the CSV has no {CSV_DATE_HEADER!r} column (columns: {', '.join(headers[:5])})")
    field_by_header = {region.csv_header: region.api_field for region in REGIONS}
    rows = []
    for record in reader:
        row = {field_by_header[h]: v for h, v in record.items() if h in field_by_header and v}
        # A column that is no region keeps its header as its name, so validation can report it.
        row.update({str(h): v for h, v in record.items() if h not in field_by_header and h != CSV_DATE_HEADER})
        row["date"] = _iso_date(record.get(CSV_DATE_HEADER) or "")
        rows.append(row)
    return rows


def _iso_date(text: str) -> str:
    """Convert MM/DD/YYYY to the API's timestamp form; leave anything else for validation to name."""
    try:
        return datetime.strptime(text.strip(), CSV_DATE_FORMAT).strftime("%Y-%m-%dT00:00:00.000")
    except ValueError:
        return text


def load_rows(
    source: str,
    *,
    limit: int,
    app_token: str | None = None,
    http: httpx.Client | None = None,
    until: date | None = None,
) -> Any:
    """Rows from a Socrata URL (newest `limit` up to `until`), a CSV export URL, or a CSV file path (all rows)."""
    if is_api_url(source):
        return fetch_json_rows(source, limit=limit, app_token=app_token, http=http, until=until)
    if is_url(source):
        return rows_from_csv(fetch_csv_text(source, app_token=app_token, http=http))
    path = Path(source)
    if not path.is_file():
        raise SourceDataError(f"{source} is neither an http(s) URL nor an existing CSV file")
    return rows_from_csv(path.read_text(encoding="utf-8-sig"))


def read_weeks(
    source: str,
    lookback_weeks: int,
    *,
    app_token: str | None = None,
    today: date | None = None,
    until: date | None = None,
) -> list[WeekPrices]:
    """The source's newest `lookback_weeks` valid weeks, oldest first; with `until`, as it stood at that week's end."""
    rows = load_rows(source, limit=lookback_weeks, app_token=app_token, until=until)
    weeks = [week for week in parse_rows(rows, today=today or date.today()) if until is None or week.week <= until]
    if not weeks:
        raise SourceDataError(f"{source} holds no week up to {until}")
    return weeks[-lookback_weeks:]


def fetch_history_rows(
    url: str,
    *,
    since: date | None = None,
    page_size: int = PAGE_SIZE,
    app_token: str | None = None,
    http: httpx.Client | None = None,
) -> list[Any]:
    """Every row of the Socrata API, newest first, page by page; with `since`, down to the week before it."""
    rows: list[Any] = []
    owned = http is None
    client = http or httpx.Client(timeout=TIMEOUT, follow_redirects=True, verify=tls_context())
    try:
        while True:
            page = fetch_json_rows(url, limit=page_size, offset=len(rows), app_token=app_token, http=client)
            if not isinstance(page, list):
                raise SourceDataError(f"expected a JSON list of rows at offset {len(rows)}, got {type(page).__name__}")
            rows.extend(page)
            # Newest first: once a page reaches past `since`, the week before it is already in hand.
            if len(page) < page_size or (since is not None and _row_day(page[-1]) < since.isoformat()):
                return rows
    finally:
        if owned:
            client.close()


def _row_day(row: object) -> str:
    """The row's ISO day, or '' when it has none (validation names that later)."""
    return str(row.get("date", ""))[:10] if isinstance(row, Mapping) else ""


def load_history(
    source: str,
    *,
    since: date | None = None,
    today: date | None = None,
    page_size: int = PAGE_SIZE,
    app_token: str | None = None,
) -> list[WeekPrices]:
    """Validated weeks, oldest first, from the API (paged) or a CSV; with `since`, from the week before it on."""
    if is_api_url(source):
        rows = fetch_history_rows(source, since=since, page_size=page_size, app_token=app_token)
    else:
        rows = load_rows(source, limit=page_size, app_token=app_token)
    weeks = parse_rows(rows, today=today or date.today())
    if since is None:
        return weeks
    first = next((index for index, week in enumerate(weeks) if week.week >= since), len(weeks))
    return weeks[max(first - 1, 0) :]
