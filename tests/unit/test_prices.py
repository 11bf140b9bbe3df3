"""Validation of source rows: exact Decimal prices, skipped regions, and errors that name the row and field."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from gas_alerts.prices import SourceDataError, parse_rows
from gas_publisher.contract import REGION_IDS
from tests.support.data import TODAY, api_row, uniform_row

MONDAY = date(2026, 11, 23)


def test_prices_are_exact_decimals() -> None:
    """Prices come back as Decimal with the source's digits, never floats."""
    [week] = parse_rows([api_row(MONDAY, albany="3.63", nassau="3.10")], today=TODAY)
    assert week.week == MONDAY
    assert week.prices == {"albany": Decimal("3.63"), "nassau": Decimal("3.10")}
    assert all(type(price) is Decimal for price in week.prices.values())


def test_region_absent_from_a_row_is_skipped_not_zero() -> None:
    """A region with no key (or an empty value) has no price that week; it never becomes 0."""
    row = api_row(MONDAY, albany="3.63")
    row["batavia_average_gal"] = ""
    [week] = parse_rows([row], today=TODAY)
    assert "batavia" not in week.prices
    assert "elmira" not in week.prices


def test_rows_in_any_order_come_back_oldest_first() -> None:
    """Rows arrive in no guaranteed order; the result is sorted by week."""
    weeks = [date(2026, 11, 9), date(2026, 11, 23), date(2026, 11, 16)]
    parsed = parse_rows([uniform_row(week, "3.00") for week in weeks], today=TODAY)
    assert [week.week for week in parsed] == sorted(weeks)


def test_identical_duplicate_rows_collapse() -> None:
    """The same week twice with the same prices is one week."""
    parsed = parse_rows([uniform_row(MONDAY, "3.00"), uniform_row(MONDAY, "3.00")], today=TODAY)
    assert len(parsed) == 1


@pytest.mark.parametrize(
    "day", ["2023-11-20T00:00:00.000", "2023-11-20T00:00:00", "2023-11-20"], ids=["api-timestamp", "no-millis", "iso"]
)
def test_the_api_timestamp_and_iso_dates_of_a_monday_are_accepted(day: str) -> None:
    """The API's floating timestamp and a plain ISO date both read as that Monday."""
    [week] = parse_rows([api_row(day, albany="3.63")], today=TODAY)
    assert week.week == date(2023, 11, 20)


@pytest.mark.parametrize("price", ["3.63", "3.6", "3", "3.635", "10.00"])
def test_plain_decimals_with_up_to_three_places_are_prices(price: str) -> None:
    """A price is a plain decimal of up to three places, kept exactly."""
    [week] = parse_rows([api_row(MONDAY, albany=price)], today=TODAY)
    assert week.prices == {"albany": Decimal(price)}


def test_unknown_extra_column_is_accepted() -> None:
    """A column the product does not know is ignored, not an error."""
    row = {**api_row(MONDAY, albany="3.63"), "diesel_average_gal": "4.10"}
    [week] = parse_rows([row], today=TODAY)
    assert week.prices == {"albany": Decimal("3.63")}


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        pytest.param({"error": "oops"}, "expected a JSON list of rows, got dict", id="json-object"),
        pytest.param([], "the source returned no rows", id="empty-list"),
        pytest.param(["2026-11-23"], "row 1: expected an object, got str", id="row-not-object"),
        pytest.param([{"albany_average_gal": "3.63"}], "row 1: field 'date' is missing", id="no-date"),
        pytest.param([api_row("last monday", albany="3.63")], "row 1: field 'date' is 'last monday'", id="bad-date"),
        pytest.param(
            [api_row(date(2026, 12, 7), albany="3.63")],
            "row 1: field 'date' is 2026-12-07, which is in the future",
            id="future-date",
        ),
        pytest.param(
            [uniform_row(MONDAY, "3.00"), api_row(MONDAY, albany="abc")],
            "row 2 (2026-11-23): field 'albany_average_gal' is 'abc', not a price",
            id="text-price",
        ),
        pytest.param(
            [api_row(MONDAY, nassau="0")],
            "row 1 (2026-11-23): field 'nassau_average_gal' is 0, but a price must be above zero",
            id="zero-price",
        ),
        pytest.param(
            [api_row(MONDAY, nassau="-3.10")],
            "field 'nassau_average_gal' is -3.10, but a price must be above zero",
            id="negative-price",
        ),
        pytest.param(
            [api_row(MONDAY, utica="99.99")],
            "row 1 (2026-11-23): field 'utica_average_gal' is 99.99 $/gal, outside the plausible range",
            id="absurd-price",
        ),
        pytest.param([api_row(MONDAY, utica="NaN")], "field 'utica_average_gal' is 'NaN', not a price", id="nan"),
        pytest.param(
            [uniform_row(MONDAY, "3.00"), uniform_row(MONDAY, "3.01")],
            "row 2: date 2026-11-23 appears twice with different prices",
            id="duplicate-dates-differ",
        ),
        pytest.param([api_row(MONDAY)], "row 1 (2026-11-23): no region has a price", id="no-prices"),
        pytest.param(
            [api_row("2023-11-21T00:00:00.000", albany="3.63")],
            "row 1: field 'date' is 2023-11-21, a Tuesday; the dataset's weeks are dated on Mondays",
            id="not-a-monday",
        ),
        pytest.param(
            [api_row("20231120", albany="3.63")], "row 1: field 'date' is '20231120', not a date", id="compact"
        ),
        pytest.param(
            [api_row("2023-W47-1", albany="3.63")], "row 1: field 'date' is '2023-W47-1', not a date", id="iso-week"
        ),
        pytest.param(
            [api_row("2023-11-20T09:30:00.000", albany="3.63")],
            "row 1: field 'date' is '2023-11-20T09:30:00.000', not a date",
            id="not-midnight",
        ),
        pytest.param(
            [api_row("0001-01-01T00:00:00.000", albany="3.63")],
            "row 1: field 'date' is 0001-01-01, before 1990-01-01",
            id="year-one",
        ),
        pytest.param(
            [api_row(MONDAY, albany="3.6_3")], "field 'albany_average_gal' is '3.6_3', not a price", id="underscore"
        ),
        pytest.param(
            [api_row(MONDAY, albany="\uff13.\uff16\uff13")],
            "field 'albany_average_gal' is '\uff13.\uff16\uff13', not a price",
            id="full-width-digits",
        ),
        pytest.param(
            [api_row(MONDAY, albany="3.630000001")],
            "field 'albany_average_gal' is 3.630000001, more than 3 decimal places",
            id="too-precise",
        ),
        pytest.param(
            [api_row(MONDAY, albany=" 3.63")], "field 'albany_average_gal' is ' 3.63', not a price", id="space"
        ),
        pytest.param(
            [api_row(MONDAY, albany="+3.63")], "field 'albany_average_gal' is '+3.63', not a price", id="plus"
        ),
    ],
)
def test_bad_input_is_rejected_with_the_row_and_field_named(rows: Any, expected: str) -> None:
    """Every kind of malformed response raises SourceDataError whose message names the problem."""
    with pytest.raises(SourceDataError) as raised:
        parse_rows(rows, today=TODAY)
    assert expected in str(raised.value)


@pytest.mark.parametrize(
    "field", ["../../etc/passwd_average_gal", "ALBANY_AVERAGE_GAL", "albany_average_gal ", "__proto__"]
)
def test_unknown_fields_in_a_source_row_never_become_regions(field: str) -> None:
    """A row's unknown or look-alike fields are ignored: only the 17 known regions can ever be keys."""
    row = {**uniform_row(date(2026, 11, 23), "3.10"), field: "2.00"}
    [week] = parse_rows([row], today=TODAY)
    assert set(week.prices) == set(REGION_IDS)


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        pytest.param(api_row(date(2026, 11, 23), albany="<script>"), "'<script>', not a price", id="markup-price"),
        pytest.param(api_row(date(2026, 11, 23), albany="3.10; DROP"), "'3.10; DROP', not a price", id="sql-price"),
        pytest.param(api_row(date(2026, 11, 23), albany="1e3"), "'1e3', not a price", id="exponent-price"),
        pytest.param(api_row(date(2026, 11, 23), albany="0x1F"), "'0x1F', not a price", id="hex-price"),
        pytest.param(api_row("2026-11-23\nwarning: forged", albany="3.10"), "not a date", id="newline-date"),
        pytest.param(api_row("../../etc/passwd", albany="3.10"), "not a date", id="path-date"),
        pytest.param(api_row(date(2026, 11, 23), albany="9" * 5000), "9999999999...", id="huge-price"),
    ],
)
def test_hostile_values_in_a_source_row_are_refused_and_quoted_briefly(row: dict[str, Any], expected: str) -> None:
    """A hostile price or date fails validation, and the message quotes at most 40 characters of it."""
    with pytest.raises(SourceDataError) as raised:
        parse_rows([row], today=TODAY)
    assert expected in str(raised.value)
    assert len(str(raised.value)) < 200
