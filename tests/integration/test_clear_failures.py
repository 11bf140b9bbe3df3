"""A permanent problem ends a command with one line that names it and the next step, and bad state is never silent.

Each command runs as a person runs it: the installed `gas-alerts` script in a process of its own, its standard output
and error read together, against the session's moto or none.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from gas_alerts import aws
from gas_alerts.settings import Settings
from gas_local.provision import ensure_table
from gas_local.socrata import local_socrata
from gas_publisher.contract import PARTITION_KEY, PRICE_PARTITION, SORT_KEY
from gas_publisher.week import WeekRecord
from tests.support.data import FULL_HISTORY_CSV, LATEST_SNAPSHOT_CSV, REPO, api_row, prices
from tests.support.steps import backfill, weekly_check
from tests.support.terraform import free_port

pytestmark = pytest.mark.slow(seconds=70)

GAS_ALERTS = Path(sys.executable).parent / "gas-alerts"
# No credentials anywhere botocore looks: variables, files, the instance metadata service.
NO_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": None,
    "AWS_SECRET_ACCESS_KEY": None,
    "AWS_SESSION_TOKEN": None,
    "AWS_PROFILE": None,
    "AWS_ENDPOINT_URL": None,
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/credentials",
    "AWS_CONFIG_FILE": "/nonexistent/config",
    "AWS_EC2_METADATA_DISABLED": "true",
}


@pytest.fixture(autouse=True)
def prefect_api(prefect_server: str) -> str:
    """The session's Prefect server for the commands, as a user's own server or Prefect Cloud would be.

    Each command would otherwise start a temporary server of its own (11-14 s); what is tested here is the command's
    output, which is the same either way.
    """
    return prefect_server


def run(args: list[str], environment: dict[str, str | None], tmp_path: Path) -> tuple[int, list[str]]:
    """Run the command as a person would; its exit code and the non-empty lines it printed (both streams)."""
    from prefect.settings import PREFECT_API_URL

    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PREFECT_API_URL": str(PREFECT_API_URL.value()),
        "COLUMNS": "250",
    }
    for name, value in environment.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    done = subprocess.run(  # noqa: S603 (this environment's own script, with arguments written here)
        [str(GAS_ALERTS), *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=600, check=False
    )
    return done.returncode, [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]


def readme_errors() -> list[str]:
    """The error lines the README shows as examples; the tests below hold them to the real output."""
    return [line for line in (REPO / "README.md").read_text().splitlines() if line.startswith("error: ")]


def only_line(lines: list[str]) -> str:
    """The one line printed, which must be an error line."""
    assert len(lines) == 1, "\n".join(lines[:40])
    assert lines[0].startswith("error: ")
    return lines[0]


def local(settings: Settings, endpoint: str) -> dict[str, str | None]:
    """The settings' resource names, on the session's moto."""
    return {**settings.to_environment(), "AWS_ENDPOINT_URL": endpoint}


def test_check_without_aws_credentials_says_so_in_one_line(settings: Settings, tmp_path: Path) -> None:
    """No credentials at all: one line naming the problem and the next step, no traceback, no retries."""
    code, lines = run(["check", "--source", str(LATEST_SNAPSHOT_CSV)], {**NO_CREDENTIALS}, tmp_path)

    assert code == 1
    line = only_line(lines)
    assert "no AWS credentials" in line
    assert "make up" in line
    assert line in readme_errors(), "the README's example is this output"


def test_backfill_without_aws_credentials_says_so_in_one_line(settings: Settings, tmp_path: Path) -> None:
    """The backfill fails the same way, before any progress bar."""
    code, lines = run(["backfill", "--source", str(LATEST_SNAPSHOT_CSV)], {**NO_CREDENTIALS}, tmp_path)

    assert code == 1
    assert "no AWS credentials" in only_line(lines)


def test_check_with_the_local_aws_down_names_it_and_how_to_start_it(settings: Settings, tmp_path: Path) -> None:
    """AWS_ENDPOINT_URL on 127.0.0.1 with nothing listening: 'no AWS at ...: start it with make up'."""
    endpoint = f"http://127.0.0.1:{free_port()}"
    environment: dict[str, str | None] = {**settings.to_environment(), "AWS_ENDPOINT_URL": endpoint}

    code, lines = run(["check", "--source", str(LATEST_SNAPSHOT_CSV)], environment, tmp_path)

    assert code == 1
    assert only_line(lines) == f"error: no AWS at {endpoint}: start it with `make up`, or try `make demo`"
    assert only_line(lines).replace(endpoint, "http://127.0.0.1:5000") in readme_errors(), "the README shows it"


def test_check_of_a_missing_table_names_the_table(settings: Settings, moto_endpoint: str, tmp_path: Path) -> None:
    """Moto is up but the table is not there: the line names the table and how to make it."""
    code, lines = run(["check", "--source", str(LATEST_SNAPSHOT_CSV)], local(settings, moto_endpoint), tmp_path)

    assert code == 1
    line = only_line(lines)
    assert f"table {settings.table_name} does not exist" in line
    assert "make up" in line


def test_a_csv_with_a_nan_price_fails_in_one_line_naming_the_row(
    settings: Settings, moto_endpoint: str, tmp_path: Path
) -> None:
    """A price of NaN: the row and field are named, nothing is written, and there is no traceback."""
    ensure_table(aws.dynamodb(), settings.table_name)
    lines = LATEST_SNAPSHOT_CSV.read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1].replace('"4.04"', '"NaN"', 1)
    broken = tmp_path / "broken.csv"
    broken.write_text("\n".join(lines) + "\n", encoding="utf-8")

    code, printed = run(["check", "--source", str(broken)], local(settings, moto_endpoint), tmp_path)

    assert code == 1
    line = only_line(printed)
    assert line.startswith("error: the source data is invalid, nothing was written: row ")
    assert "albany" in line
    assert aws.dynamodb().scan(TableName=settings.table_name)["Count"] == 0


@pytest.mark.parametrize(
    ("sort_key", "named"),
    [("meta", "not a week item"), ("2030-01-07", "dated after today"), ("2026-03-04", "not a Monday")],
    ids=["foreign-item", "future-week", "not-a-monday"],
)
def test_a_stored_item_that_cannot_be_right_is_refused_naming_table_and_keys(
    settings: Settings, moto_endpoint: str, tmp_path: Path, sort_key: str, named: str
) -> None:
    """A foreign item, a future week or a date that is not a Monday in the price partition: one line, no retry."""
    ensure_table(aws.dynamodb(), settings.table_name)
    item = WeekRecord(week=date(2026, 3, 2), prices=prices(albany="3.00")).to_item()
    item[SORT_KEY] = {"S": sort_key}
    aws.dynamodb().put_item(TableName=settings.table_name, Item=item)

    code, lines = run(["check", "--source", str(LATEST_SNAPSHOT_CSV)], local(settings, moto_endpoint), tmp_path)

    assert code == 1
    line = only_line(lines)
    assert f"table {settings.table_name}" in line
    assert f"{PARTITION_KEY}={PRICE_PARTITION}, {SORT_KEY}={sort_key}" in line
    assert named in line


def test_an_option_value_out_of_range_is_a_one_line_usage_error(tmp_path: Path) -> None:
    """--max-price 1e400 is refused as a usage error, not an OverflowError traceback."""
    code, lines = run(["replay", "--from", "2025-01-06", "--max-price", "1e400"], {}, tmp_path)

    assert code == 2
    line = only_line(lines)
    assert "--max-price" in line


def test_an_app_token_with_inner_whitespace_is_refused_without_showing_it(tmp_path: Path) -> None:
    """A token that cannot be a header value fails at once, naming the variable but never its value."""
    code, lines = run(["check"], {"SOCRATA_APP_TOKEN": "abcd1234 efgh5678"}, tmp_path)

    assert code == 1
    line = only_line(lines)
    assert "SOCRATA_APP_TOKEN" in line
    assert "abcd1234" not in line
    assert "efgh5678" not in line


def test_an_app_token_with_a_trailing_newline_is_trimmed_with_a_warning(
    settings: Settings, moto_endpoint: str, tmp_path: Path
) -> None:
    """The newline a file or a shell added is removed; the request carries the token without it, and works."""
    ensure_table(aws.dynamodb(), settings.table_name)
    with local_socrata([api_row(date(2026, 3, 2), albany="3.00")]) as source:
        environment = {**local(settings, moto_endpoint), "SOCRATA_APP_TOKEN": "abcd1234efgh5678\n"}
        code, lines = run(["check", "--source", source.url], environment, tmp_path)
        sent = {request.headers.get("X-App-Token") for request in source.requests}

    assert code == 0, "\n".join(lines)
    assert sent == {"abcd1234efgh5678"}
    assert any("SOCRATA_APP_TOKEN ended with a newline" in line for line in lines)
    assert not any("abcd1234" in line for line in lines)


def test_a_backfill_of_an_older_export_over_newer_data_is_refused(
    settings: Settings, moto_endpoint: str, tmp_path: Path
) -> None:
    """The 2023 export after the 2026 one would 'revise' weeks back to older values: refused, nothing written."""
    ensure_table(aws.dynamodb(), settings.table_name)
    environment = local(settings, moto_endpoint)
    backfill(str(LATEST_SNAPSHOT_CSV), settings.table_name)  # the newer data, stored without a process of its own
    before = aws.dynamodb().scan(TableName=settings.table_name)["Items"]

    code, lines = run(["backfill", "--source", str(FULL_HISTORY_CSV)], environment, tmp_path)

    assert code == 1
    line = only_line(lines)
    assert "newest week 2023-11-20 is older than the table's newest" in line
    assert "--allow-older-source" in line
    assert aws.dynamodb().scan(TableName=settings.table_name)["Items"] == before


def test_an_allowed_older_export_only_adds_missing_weeks_and_rewrites_nothing(
    settings: Settings, moto_endpoint: str, tmp_path: Path
) -> None:
    """With --allow-older-source the 2007-2016 weeks the 2026 export lacks are added; no stored week changes."""
    ensure_table(aws.dynamodb(), settings.table_name)
    environment = local(settings, moto_endpoint)
    backfill(str(LATEST_SNAPSHOT_CSV), settings.table_name)  # the newer data, stored without a process of its own
    stored = {item[SORT_KEY]["S"]: item for item in aws.dynamodb().scan(TableName=settings.table_name)["Items"]}

    code, lines = run(["backfill", "--source", str(FULL_HISTORY_CSV), "--allow-older-source"], environment, tmp_path)

    assert code == 0, "\n".join(lines)
    after = {item[SORT_KEY]["S"]: item for item in aws.dynamodb().scan(TableName=settings.table_name)["Items"]}
    assert {week: after[week] for week in stored} == stored, "no stored week was rewritten"
    assert min(after) == "2007-10-29"


def test_a_region_missing_from_the_newest_week_is_named(settings: Settings, moto_endpoint: str, tmp_path: Path) -> None:
    """New York City published last week and missing this week: the summary says 16 of 17, and which."""
    ensure_table(aws.dynamodb(), settings.table_name)
    full = dict.fromkeys(("new_york_state", "albany", "new_york_city", "nassau"), "3.10")
    weeks = [date(2026, 3, 2) + timedelta(weeks=n) for n in range(2)]
    rows = [api_row(weeks[0], **full), api_row(weeks[1], **{**full, "new_york_city": None})]
    with local_socrata(rows) as source:
        source.reveal_until(weeks[0])
        weekly_check(source.url, settings.table_name)  # last week, stored without a process of its own
        source.reveal_until(weeks[1])
        code, lines = run(["check", "--source", source.url], local(settings, moto_endpoint), tmp_path)

    assert code == 0, "\n".join(lines)
    assert any("3 of 4 regions published; missing: New York City" in line for line in lines), "\n".join(lines)


def test_an_unknown_column_in_the_source_is_named(settings: Settings, moto_endpoint: str, tmp_path: Path) -> None:
    """A column the publisher renamed: its new name is reported, and the region it was is named missing."""
    ensure_table(aws.dynamodb(), settings.table_name)
    text = LATEST_SNAPSHOT_CSV.read_text(encoding="utf-8").replace("Albany Average", "Albany Avg", 1)
    renamed = tmp_path / "renamed.csv"
    renamed.write_text(text, encoding="utf-8")

    code, lines = run(["check", "--source", str(renamed)], local(settings, moto_endpoint), tmp_path)

    assert code == 0, "\n".join(lines)
    assert any("unknown column in the source: Albany Avg ($/gal)" in line for line in lines), "\n".join(lines)
