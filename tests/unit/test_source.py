"""Fetching from the Socrata API (a real local HTTP server) and reading the CSV export."""

from __future__ import annotations

import logging
import ssl
from collections.abc import Iterator
from datetime import date

import httpx
import pytest

from gas_alerts.prices import SourceDataError
from gas_alerts.source import (
    TIMEOUT,
    SourceUnavailableError,
    fetch_json_rows,
    load_rows,
    retry_backoff,
    rows_from_csv,
)
from gas_alerts.tls import tls_context
from gas_local.socrata import Fault, LocalSocrata, local_socrata
from tests.support.data import FULL_HISTORY_CSV, LATEST_SNAPSHOT_CSV, uniform_row, weekly

WEEKS = weekly(date(2026, 10, 5), 8)


@pytest.fixture
def socrata() -> Iterator[LocalSocrata]:
    """A local Socrata-like server holding eight weeks, served in a shuffled order."""
    rows = [uniform_row(week, f"3.{index:02d}") for index, week in enumerate(WEEKS)]
    rows = rows[3:] + rows[:3]
    with local_socrata(rows) as server:
        yield server


def test_fetch_asks_for_newest_first_with_a_small_limit(socrata: LocalSocrata) -> None:
    """The request orders by date descending and limits to the lookback, so the newest week is always included."""
    rows = fetch_json_rows(socrata.url, limit=3)
    [request] = socrata.requests
    assert request.params == {"$order": "date DESC", "$limit": "3"}
    assert [row["date"][:10] for row in rows] == [week.isoformat() for week in reversed(WEEKS[-3:])]


def test_fetch_has_timeouts() -> None:
    """Every request has a connect and a read timeout, so a hung source cannot hang the run."""
    assert TIMEOUT.connect == 5.0
    assert TIMEOUT.read == 20.0


def test_app_token_is_sent_as_header_and_never_logged(socrata: LocalSocrata, caplog: pytest.LogCaptureFixture) -> None:
    """A configured app token goes in X-App-Token and appears in no log record, even at DEBUG."""
    token = "tok-3f9a1c-not-a-real-token"
    with caplog.at_level(logging.DEBUG):
        fetch_json_rows(socrata.url, limit=2, app_token=token)
    assert socrata.requests[0].headers.get("X-App-Token") == token
    assert token not in caplog.text
    assert all(token not in str(record.args) for record in caplog.records)


def test_no_app_token_header_without_a_token(socrata: LocalSocrata) -> None:
    """Without a token no X-App-Token header is sent."""
    fetch_json_rows(socrata.url, limit=2)
    assert "X-App-Token" not in socrata.requests[0].headers


@pytest.mark.usefixtures("no_backoff")
@pytest.mark.parametrize(
    "fault",
    [
        pytest.param(Fault(status=429, headers={"Retry-After": "0"}), id="429-retry-after"),
        pytest.param(Fault(status=429), id="429"),
        pytest.param(Fault(status=500), id="500"),
        pytest.param(Fault(status=502), id="502"),
        pytest.param(Fault(status=503), id="503"),
        pytest.param(Fault(status=200, body=b'[{"date": "2026-', cut_after=5), id="connection-dropped-mid-body"),
    ],
)
def test_transient_failures_are_retried_then_succeed(socrata: LocalSocrata, fault: Fault) -> None:
    """Two transient failures in a row are retried and the third attempt returns the data."""
    socrata.faults.extend([fault, fault])
    rows = fetch_json_rows(socrata.url, limit=2)
    assert len(rows) == 2
    assert len(socrata.requests) == 3


@pytest.mark.usefixtures("no_backoff")
def test_read_timeout_is_retried(socrata: LocalSocrata) -> None:
    """A response slower than the read timeout is retried."""
    socrata.faults.append(Fault(delay=0.5, body=b"[]"))
    with httpx.Client(timeout=httpx.Timeout(0.2)) as client:
        rows = fetch_json_rows(socrata.url, limit=2, http=client)
    assert len(rows) == 2
    assert len(socrata.requests) == 2


@pytest.mark.usefixtures("no_backoff")
def test_persistent_failure_raises_source_unavailable(socrata: LocalSocrata) -> None:
    """A source that keeps answering 503 fails with the status named, after the bounded attempts."""
    socrata.faults.extend([Fault(status=503)] * 10)
    with pytest.raises(SourceUnavailableError, match="HTTP 503 after 5 attempts"):
        fetch_json_rows(socrata.url, limit=2)
    assert len(socrata.requests) == 5


def test_client_errors_are_not_retried(socrata: LocalSocrata) -> None:
    """A 404 is not transient: one request, then a clear error."""
    socrata.faults.append(Fault(status=404))
    with pytest.raises(SourceUnavailableError, match="HTTP 404"):
        fetch_json_rows(socrata.url, limit=2)
    assert len(socrata.requests) == 1


@pytest.mark.parametrize(
    ("status", "headers", "expected"),
    [
        (429, {"Retry-After": "7"}, 7.0),
        (503, {"Retry-After": "3600"}, 60.0),
        (429, {}, True),
        (500, {}, True),
        (404, {}, False),
    ],
)
def test_backoff_honours_retry_after_within_a_bound(
    status: int, headers: dict[str, str], expected: float | bool
) -> None:
    """Retry-After sets the wait (capped at 60 s); other transient errors use exponential backoff."""
    request = httpx.Request("GET", "http://127.0.0.1/")
    response = httpx.Response(status, headers=headers, request=request)
    error = httpx.HTTPStatusError("x", request=request, response=response)
    assert retry_backoff(error) == expected


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (Fault(body=b"<html><body>Maintenance</body></html>", headers={"Content-Type": "text/html"}), "HTML page"),
        (Fault(body=b'[{"date": "2026-11-23T00:00:00.000", "albany_'), "invalid JSON"),
    ],
    ids=["html", "truncated-json"],
)
def test_non_json_answers_are_data_errors(socrata: LocalSocrata, fault: Fault, expected: str) -> None:
    """An HTML page or a truncated JSON body is bad data, reported as such and not retried."""
    socrata.faults.append(fault)
    with pytest.raises(SourceDataError, match=expected):
        fetch_json_rows(socrata.url, limit=2)
    assert len(socrata.requests) == 1


def test_csv_export_reads_like_the_api() -> None:
    """The data.ny.gov CSV export becomes API-shaped rows: field names, ISO timestamps, blanks omitted."""
    rows = rows_from_csv(FULL_HISTORY_CSV.read_text(encoding="utf-8"))
    assert len(rows) == 839
    assert rows[0]["date"] == "2023-11-20T00:00:00.000"
    assert rows[0]["new_york_city_average_gal"] == "3.68"
    oldest = rows[-1]
    assert oldest["date"] == "2007-10-29T00:00:00.000"
    assert "batavia_average_gal" not in oldest


def test_quoted_csv_snapshot_reads_too() -> None:
    """The fully quoted 2017-2026 export parses the same way."""
    rows = load_rows(str(LATEST_SNAPSHOT_CSV), limit=8)
    assert len(rows) == 483
    assert rows[0]["date"] == "2026-04-06T00:00:00.000"


def test_missing_file_is_a_clear_error(tmp_path: object) -> None:
    """A source that is neither a URL nor a file names itself in the error."""
    with pytest.raises(SourceDataError, match="neither an http"):
        load_rows("no-such-file.csv", limit=8)


def test_csv_without_date_column_is_rejected() -> None:
    """A CSV that is not the export is refused with the columns it has."""
    with pytest.raises(SourceDataError, match="has no 'Date' column"):
        rows_from_csv("Week,Price\n1,2\n")


def test_until_reads_the_source_as_it_stood_at_the_end_of_that_week() -> None:
    """From the bundled export and from the API ($where), the newest week is the one asked for; none is an error."""
    from datetime import date

    from gas_alerts.prices import SourceDataError
    from gas_local.socrata import local_socrata
    from tasks.fetch import fetch_weeks
    from tests.support.data import LATEST_SNAPSHOT_CSV, csv_rows

    until = date(2026, 2, 23)
    from_file = fetch_weeks(str(LATEST_SNAPSHOT_CSV), 8, until=until)
    with local_socrata(csv_rows(LATEST_SNAPSHOT_CSV)) as api:
        from_api = fetch_weeks(api.url, 8, until=until)
        where = api.requests[-1].params["$where"]

    assert [week.week for week in from_file] == [week.week for week in from_api]
    assert (from_file[-1].week, len(from_file)) == (until, 8)
    assert where == "date <= '2026-02-23T00:00:00'"
    with pytest.raises(SourceDataError, match="no week up to 2016-01-04"):
        fetch_weeks(str(LATEST_SNAPSHOT_CSV), 8, until=date(2016, 1, 4))


def test_every_fetch_shares_one_tls_context_that_still_verifies_certificates() -> None:
    """The context built once is httpx's default: certificates and host names are checked, none is skipped."""
    context = tls_context()
    assert tls_context() is context
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
