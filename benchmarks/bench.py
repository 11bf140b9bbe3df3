"""Measures what a weekly check costs on moto: HTTP requests, DynamoDB calls and time (`make bench`)."""

from __future__ import annotations

import os
import time
from collections import Counter
from datetime import date

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

from benchmarks.counters import counting_calls
from gas_alerts import aws
from gas_alerts.demo import DEMO_DATA
from gas_alerts.local.moto_server import local_aws
from gas_alerts.local.provision import provision
from gas_alerts.local.socrata import LocalSocrata, local_socrata
from gas_alerts.settings import Settings
from gas_alerts.source import rows_from_csv
from gas_publisher.contract import REGION_IDS
from tasks.compare import compare_weeks
from tasks.fetch import fetch_prices
from tasks.store import read_stored_weeks, write_new_weeks

LOOKBACK = 8
BASELINE_WEEK = date(2026, 3, 30)
NEW_WEEK = date(2026, 4, 6)


def weekly_check_steps(socrata: LocalSocrata, table: str) -> None:
    """The flow's own work: its four tasks called as plain functions, in the flow's order."""
    now = "2026-04-08T12:00:00+00:00"
    weeks = fetch_prices.fn(socrata.url, LOOKBACK)
    stored = read_stored_weeks.fn(table, LOOKBACK)
    plan = compare_weeks.fn(weeks, stored, REGION_IDS, now)
    write_new_weeks.fn(plan, table, now)


def measure_weekly_check(table: str, socrata: LocalSocrata) -> tuple[int, Counter[str], float]:
    """HTTP requests, DynamoDB calls and seconds for one check that finds one new week."""
    socrata.reveal_until(BASELINE_WEEK)
    weekly_check_steps(socrata, table)
    socrata.reveal_until(NEW_WEEK)
    requests_before = len(socrata.requests)
    with counting_calls(aws.dynamodb()) as calls:
        started = time.perf_counter()
        weekly_check_steps(socrata, table)
        seconds = time.perf_counter() - started
    return len(socrata.requests) - requests_before, calls, seconds


def measure_prefect_flow(table: str, socrata: LocalSocrata) -> tuple[float, float]:
    """Seconds for the first flow call (starts Prefect's embedded server) and for a warm one."""
    from flows.check_prices import check_gas_prices

    started = time.perf_counter()
    check_gas_prices(source=socrata.url, table_name=table)
    first = time.perf_counter() - started
    started = time.perf_counter()
    check_gas_prices(source=socrata.url, table_name=table)
    return first, time.perf_counter() - started


def main() -> None:
    """Run every measurement and print the figures the README quotes."""
    rows = rows_from_csv(DEMO_DATA.read_text(encoding="utf-8"))
    base = Settings.from_environment()
    with local_aws(), local_socrata(rows) as socrata:
        provision(base)
        requests, calls, seconds = measure_weekly_check(base.table_name, socrata)
        print("Weekly check, one new week (flow's own work, tasks called as plain functions):")
        print(f"  HTTP requests      {requests}")
        print(f"  DynamoDB calls     {dict(calls)}")
        print(f"  time               {seconds * 1000:.0f} ms")
        first, warm = measure_prefect_flow(base.table_name, socrata)
        print("The same check as a Prefect flow run (embedded server):")
        print(f"  first run          {first:.1f} s (includes starting the server)")
        print(f"  next run           {warm:.2f} s (Prefect's per-run overhead included)")


if __name__ == "__main__":
    main()
