"""Fault matrix, data source: a real HTTP server on 127.0.0.1 that refuses, stalls, cuts and garbles its answers."""

from __future__ import annotations

import logging
import random
import re
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import tenacity.nap

from gas_alerts.prices import SourceDataError
from gas_alerts.source import ATTEMPTS, MAX_RETRY_AFTER, SourceUnavailableError, fetch_json_rows
from gas_local.socrata import RESOURCE_PATH, Fault, LocalSocrata, local_socrata
from gas_publisher.contract import REGION_IDS
from tasks.fetch import fetch_weeks
from tests.support.data import TODAY, api_row, uniform_row, weekly

WEEKS = weekly(date(2026, 10, 5), 8)


ROWS = [uniform_row(week, f"3.{index:02d}") for index, week in enumerate(WEEKS)]


# The product's own read timeout is 20 s; these tests shorten only the numbers, never the code path.
SHORT = httpx.Timeout(5.0, connect=0.3, read=0.2)


@pytest.fixture
def socrata() -> Iterator[LocalSocrata]:
    """A local Socrata-like server holding eight weeks."""
    with local_socrata(ROWS) as server:
        yield server


def unused_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound once by the kernel's choice, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@dataclass
class RequestHook:
    """An httpx request hook: counts attempts and runs an action just before the given attempt."""

    before_attempt: int = 0
    action: Callable[[], object] = lambda: None
    attempts: int = 0

    def __call__(self, request: httpx.Request) -> None:
        self.attempts += 1
        if self.attempts == self.before_attempt:
            self.action()


def client_with(hook: RequestHook) -> httpx.Client:
    return httpx.Client(timeout=SHORT, event_hooks={"request": [hook]})


@pytest.mark.usefixtures("no_backoff")
def test_connection_refused_is_retried_until_the_server_is_up() -> None:
    """A refused connection is retried; when the server is listening by the second attempt, the fetch succeeds."""
    port = unused_port()
    servers: list[LocalSocrata] = []
    hook = RequestHook(before_attempt=2, action=lambda: servers.append(LocalSocrata(ROWS, port=port).start()))
    try:
        with client_with(hook) as client:
            rows = fetch_json_rows(f"http://127.0.0.1:{port}{RESOURCE_PATH}", limit=2, http=client)
        [server] = servers
        assert (hook.attempts, len(server.requests), len(rows)) == (2, 1, 2)
    finally:
        for server in servers:
            server.stop()


@pytest.mark.usefixtures("no_backoff")
def test_connect_timeout_is_retried_until_the_server_accepts() -> None:
    """A connection the server never accepts times out and is retried; once it accepts, the fetch succeeds."""
    server = LocalSocrata(ROWS)
    try:
        server.stall_connections()
        hook = RequestHook(before_attempt=2, action=server.start)
        with client_with(hook) as client:
            rows = fetch_json_rows(server.url, limit=2, http=client)
        assert (hook.attempts, len(server.requests), len(rows)) == (2, 1, 2)
    finally:
        server.stop()


@pytest.mark.usefixtures("no_backoff")
@pytest.mark.parametrize(
    ("fault", "cause"),
    [
        pytest.param("refused", "ConnectError", id="connection-refused"),
        pytest.param("stalled", "ConnectTimeout", id="connect-timeout"),
        pytest.param(Fault(delay=0.6, body=b"[]"), "ReadTimeout", id="read-timeout"),
        pytest.param(Fault(body=b'[{"date": "2026-', cut_after=5), "RemoteProtocolError", id="dropped-mid-body"),
    ],
)
def test_persistent_transport_fault_fails_after_bounded_attempts_naming_the_cause(
    fault: Fault | str, cause: str
) -> None:
    """A transport fault on every attempt ends after exactly ATTEMPTS tries with an error naming the fault."""
    hook = RequestHook()
    server = LocalSocrata(ROWS)
    url = server.url
    try:
        if fault == "refused":
            server.stop()  # the port is released: nothing listens any more
        elif fault == "stalled":
            server.stall_connections()
        else:
            assert isinstance(fault, Fault)
            server.faults.extend([fault] * ATTEMPTS)
            server.start()
        with client_with(hook) as client, pytest.raises(SourceUnavailableError) as raised:
            fetch_json_rows(url, limit=2, http=client)
    finally:
        server.stop()
    assert f"could not be read after {ATTEMPTS} attempts: {cause}" in str(raised.value)
    assert hook.attempts == ATTEMPTS


@pytest.fixture
def recorded_waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Run stamina in its real (non-testing) mode, but record each backoff instead of sleeping it."""
    waits: list[float] = []
    monkeypatch.setattr(tenacity.nap, "time", SimpleNamespace(sleep=waits.append))
    return waits


@pytest.mark.parametrize(
    ("fault", "low", "high"),
    [
        pytest.param(Fault(status=429, headers={"Retry-After": "7"}), [7.0] * 4, [7.0] * 4, id="429-retry-after-7"),
        pytest.param(
            Fault(status=503, headers={"Retry-After": "86400"}),
            [MAX_RETRY_AFTER] * 4,
            [MAX_RETRY_AFTER] * 4,
            id="503-retry-after-a-day-is-capped",
        ),
        # No Retry-After: exponential from 0.1 s doubling, plus up to 1 s of jitter, never above 30 s.
        pytest.param(Fault(status=429), [0.1, 0.2, 0.4, 0.8], [1.1, 1.2, 1.4, 1.8], id="429-exponential"),
        pytest.param(Fault(status=500), [0.1, 0.2, 0.4, 0.8], [1.1, 1.2, 1.4, 1.8], id="500-exponential"),
        pytest.param(Fault(status=502), [0.1, 0.2, 0.4, 0.8], [1.1, 1.2, 1.4, 1.8], id="502-exponential"),
    ],
)
def test_backoff_between_attempts_is_bounded(
    socrata: LocalSocrata, recorded_waits: list[float], fault: Fault, low: list[float], high: list[float]
) -> None:
    """Four failures wait as Retry-After says (at most 60 s) or back off exponentially, then the fifth try succeeds."""
    socrata.faults.extend([fault] * (ATTEMPTS - 1))
    rows = fetch_json_rows(socrata.url, limit=2)
    print(f"waits between attempts: {[round(wait, 3) for wait in recorded_waits]}")
    assert len(rows) == 2
    assert len(socrata.requests) == ATTEMPTS
    assert len(recorded_waits) == ATTEMPTS - 1
    assert all(lo <= wait <= hi for lo, wait, hi in zip(low, recorded_waits, high, strict=True))


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        pytest.param(
            Fault(body=b"<!DOCTYPE html><html>Down for maintenance</html>", headers={"Content-Type": "text/html"}),
            "answered with an HTML page",
            id="html",
        ),
        pytest.param(
            Fault(body=b"<html>login</html>", headers={"Content-Type": "application/json"}),
            "answered with an HTML page",
            id="html-labelled-json",
        ),
        pytest.param(Fault(body=b'{"error": true, "message": "query timeout"}'), "got dict", id="json-object"),
        pytest.param(Fault(body=b"[]"), "the source returned no rows", id="empty-list"),
        pytest.param(Fault(body=b'[{"date": "2026-11-23T00:00:00.000", "alb'), "invalid JSON", id="truncated-json"),
    ],
)
def test_a_200_that_is_not_rows_fails_once_without_retry(socrata: LocalSocrata, fault: Fault, expected: str) -> None:
    """An answer that arrived whole but is not a list of rows is a data error: one request, no retry, no weeks."""
    socrata.faults.append(fault)
    with pytest.raises(SourceDataError, match=expected):
        fetch_weeks(socrata.url, 8, today=TODAY)
    assert len(socrata.requests) == 1


GOOD = uniform_row(date(2026, 11, 16), "3.20")


NEWEST = date(2026, 11, 23)


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        pytest.param({"albany_average_gal": "3.10"}, "row 2: field 'date' is missing", id="missing-date"),
        pytest.param(api_row("23/11/2026", albany="3.10"), "field 'date' is '23/11/2026', not a date", id="bad-date"),
        pytest.param(
            api_row(TODAY + timedelta(days=9), albany="3.10"),
            "field 'date' is 2026-12-07, which is in the future",
            id="future-date",
        ),
        pytest.param(api_row(NEWEST, albany="cheap"), "field 'albany_average_gal' is 'cheap', not a price", id="text"),
        pytest.param(api_row(NEWEST, albany="0"), "is 0, but a price must be above zero", id="zero"),
        pytest.param(api_row(NEWEST, albany="-3.10"), "is -3.10, but a price must be above zero", id="negative"),
        pytest.param(api_row(NEWEST, albany="99.99"), "is 99.99 $/gal, outside the plausible range", id="absurd"),
    ],
)
def test_a_bad_row_fails_the_fetch_naming_row_and_field(socrata: LocalSocrata, row: Any, expected: str) -> None:
    """One bad row among good ones fails the whole fetch with a message that names the row and the field."""
    socrata.rows = [row, GOOD]
    with pytest.raises(SourceDataError, match=re.escape(expected)):
        fetch_weeks(socrata.url, 8, today=TODAY)


def test_duplicate_dates_with_different_values_fail_the_fetch(socrata: LocalSocrata) -> None:
    """The same week twice with different prices is ambiguous, so nothing is accepted."""
    socrata.rows = [uniform_row(NEWEST, "3.10"), uniform_row(NEWEST, "3.11"), GOOD]
    with pytest.raises(SourceDataError, match="date 2026-11-23 appears twice with different prices"):
        fetch_weeks(socrata.url, 8, today=TODAY)


def test_unknown_column_is_accepted_and_a_missing_region_is_skipped(socrata: LocalSocrata) -> None:
    """A column the product does not know is ignored; a region whose column is absent has no price that week."""
    newest = {**uniform_row(NEWEST, "3.10"), "diesel_average_gal": "4.50", ":@computed_region_x": "7"}
    del newest["batavia_average_gal"]
    socrata.rows = [newest, GOOD]

    previous, latest = fetch_weeks(socrata.url, 8, today=TODAY)

    assert (previous.week, latest.week) == (date(2026, 11, 16), NEWEST)
    assert set(latest.prices) == set(REGION_IDS) - {"batavia"}
    assert set(previous.prices) == set(REGION_IDS)


def test_the_newest_week_is_found_among_1200_shuffled_rows(socrata: LocalSocrata) -> None:
    """Unordered rows hide the newest week past the default 1000-row page; `$order=date DESC` finds it."""
    weeks = [NEWEST - timedelta(weeks=index) for index in range(1200)]
    older = [uniform_row(week, f"{3 + index % 90 / 100:.2f}") for index, week in enumerate(weeks[1:])]
    random.Random(6).shuffle(older)
    socrata.rows = [*older[:1100], uniform_row(NEWEST, "3.00"), *older[1100:]]

    unordered = httpx.get(socrata.url, timeout=SHORT).json()
    fetched = fetch_weeks(socrata.url, 8, today=TODAY)

    assert len(unordered) == 1000
    assert NEWEST.isoformat() not in {row["date"][:10] for row in unordered}, "the hazard is real without $order"
    assert [week.week for week in fetched] == sorted(weeks[:8])
    assert socrata.requests[-1].params == {"$order": "date DESC", "$limit": "8"}


def test_each_retry_of_the_source_is_one_readable_line(
    socrata: LocalSocrata, recorded_waits: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    """A retry says what failed and when the next try comes, instead of stamina's bare 'stamina.retry_scheduled'."""
    socrata.faults.extend([Fault(status=503), Fault(status=503)])

    with caplog.at_level(logging.INFO):
        fetch_json_rows(socrata.url, limit=2)

    lines = [record.getMessage() for record in caplog.records]
    assert not [line for line in lines if "stamina" in line]
    retries = [line for line in lines if line.startswith("the source did not answer")]
    assert len(retries) == 2
    assert retries[0].startswith("the source did not answer (HTTP 503); trying again in ")
    assert retries[0].endswith("(retry 1 of 4)")
