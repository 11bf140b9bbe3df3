"""`make bench`: what a backfill, a weekly check and the publisher cost on moto, the Lambda package and chart sizes."""

from __future__ import annotations

import itertools
import math
import os
import statistics
import tempfile
import time
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

import boto3

from benchmarks.counters import counting_calls
from gas_alerts import aws
from gas_alerts.chart import CHART_WEEKS
from gas_alerts.compare import LOOKBACK_WEEKS, find_drops, record_for, walk
from gas_alerts.prices import WeekPrices
from gas_alerts.settings import Settings
from gas_alerts.source import load_history, rows_from_csv
from gas_alerts.summary import BackfillSummary
from gas_local.moto_server import local_aws
from gas_local.package import DEFAULT_SOURCE, build_package
from gas_local.provision import ensure_table
from gas_local.socrata import LocalSocrata, local_socrata
from gas_publisher.batching import MAX_TRANSACTION_ITEMS
from gas_publisher.contract import REGION_IDS
from gas_publisher.handler import process_batch
from gas_publisher.pacing import MESSAGES_PER_SECOND
from gas_publisher.publisher import Publisher
from gas_publisher.sweep import SweepReport, SweepRequest, sweep
from gas_publisher.week import Origin, WeekRecord
from tests.support.fakes import virtual_pacer
from tests.support.load import run_load
from tests.support.steps import backfill, weekly_check

REPO = Path(__file__).resolve().parents[1]
FULL_HISTORY = REPO / "data" / "ny_gas_prices_weekly.csv"
LATEST_SNAPSHOT = REPO / "data" / "ny_gas_prices_weekly_2017_2026.csv"
ALL_FELL = date(2022, 7, 18)
LAMBDA_TIMEOUT_MS = 60_000
# The newest two weeks of the full history: the check stores the first, then finds the second new.
BASELINE_WEEK = date(2023, 11, 13)
NEW_WEEK = date(2023, 11, 20)
NOW = "2023-11-22T12:00:00+00:00"
PAGED_FETCH_ROWS = 100
PUBLISHER_RECORDS = 100
LOAD_RECORDS = 1000

BACKFILL_TARGET_S = 5.0
BACKFILL_CALLS_TARGET = 10
PUBLISHER_TARGET_S = 0.5
PACKAGE_TARGET_BYTES = 50 * 1024
CHART_TARGET_BYTES = 100_000


@dataclass(frozen=True)
class Cost:
    """What one measured run asked of the source and of AWS, and how long its own work took."""

    http_requests: int
    calls: Counter[str]
    seconds: float

    def counts(self) -> tuple[int, dict[str, int]]:
        """The call counts alone, to compare two runs whose timing differs."""
        return self.http_requests, dict(self.calls)


def verdict(ok: bool) -> str:
    """How a figure compares with its target."""
    return "within target" if ok else "TARGET MISSED"


def backfill_steps(source: str, table: str) -> BackfillSummary:
    """The backfill flow's own work: its tasks called as plain functions, in the flow's order."""
    return backfill(source, table, now=NOW)


def weekly_check_steps(source: str, table: str) -> None:
    """The weekly check's data path: its fetch, read, compare and write tasks as plain functions, in order."""
    weekly_check(source, table, now=NOW, lookback_weeks=LOOKBACK_WEEKS)


def measure(socrata: LocalSocrata, clients: tuple[Any, ...], run: Any) -> tuple[Cost, Any]:
    """Run once, counting the source's requests and the clients' calls."""
    before = len(socrata.requests)
    with counting_calls(*clients) as calls:
        started = time.perf_counter()
        result = run()
        seconds = time.perf_counter() - started
    return Cost(len(socrata.requests) - before, calls, seconds), result


def measure_backfill(socrata: LocalSocrata) -> tuple[Cost, BackfillSummary]:
    """The full history into an empty table."""
    socrata.reveal_until(None)
    ensure_table(aws.dynamodb(), "bench-backfill")
    cost, summary = measure(socrata, (aws.dynamodb(),), lambda: backfill_steps(socrata.url, "bench-backfill"))
    return cost, summary


def measure_paged_fetch(socrata: LocalSocrata) -> tuple[int, int, float]:
    """The same history read in small pages: requests, weeks and seconds."""
    before = len(socrata.requests)
    started = time.perf_counter()
    weeks = load_history(socrata.url, page_size=PAGED_FETCH_ROWS)
    return len(socrata.requests) - before, len(weeks), time.perf_counter() - started


def measure_weekly_check(socrata: LocalSocrata, *, full_history: bool) -> Cost:
    """One check that finds one new week, on a table holding the whole history or only the previous week."""
    table = "bench-check-full" if full_history else "bench-check-one"
    ensure_table(aws.dynamodb(), table)
    socrata.reveal_until(BASELINE_WEEK)
    if full_history:
        # A backfill leaves the source's newest week to the weekly check, which then stores it as a check would.
        backfill_steps(socrata.url, table)
    weekly_check_steps(socrata.url, table)  # on an empty table this stores the baseline week, and only it
    socrata.reveal_until(NEW_WEEK)
    cost, _ = measure(socrata, (aws.dynamodb(),), lambda: weekly_check_steps(socrata.url, table))
    socrata.reveal_until(None)
    return cost


# A check that finds nothing new: one GET, the one Query of the newest stored weeks, and the heartbeat.
QUIET_CHECK = (1, {"dynamodb.Query": 1, "cloudwatch.PutMetricData": 1})


def measure_quiet_check_and_sweep(socrata: LocalSocrata) -> tuple[Cost, int, Cost]:
    """A check with nothing new, then the cost of a sweep with nothing left to send (after one that sent it all)."""
    table = "bench-check-one"
    quiet, _ = measure(socrata, (aws.dynamodb(), aws.cloudwatch()), lambda: weekly_check_steps(socrata.url, table))
    sns = aws.sns()
    publisher = Publisher(
        sns,
        aws.dynamodb(),
        sns.create_topic(Name=f"{table}-drops")["TopicArn"],
        table,
        sns.create_topic(Name=f"{table}-digest")["TopicArn"],
        pacer=virtual_pacer(),
    )
    now = datetime.now(UTC)

    def one_sweep() -> SweepReport:
        return sweep(publisher, aws.dynamodb(), aws.cloudwatch(), table, SweepRequest(), now=now, deadline_ms=None)

    first = one_sweep()
    cost, _ = measure(socrata, (aws.dynamodb(), aws.cloudwatch(), sns), one_sweep)
    return quiet, len(first.sent), cost


def measure_prefect_flow(socrata: LocalSocrata) -> tuple[float, float, float]:
    """Seconds for the first flow call (starts Prefect's embedded server), a warm check and a warm backfill."""
    from flows.backfill import backfill_prices
    from flows.check_prices import check_gas_prices

    ensure_table(aws.dynamodb(), "bench-flow")
    started = time.perf_counter()
    check_gas_prices(source=socrata.url, table_name="bench-flow")
    first = time.perf_counter() - started
    started = time.perf_counter()
    check_gas_prices(source=socrata.url, table_name="bench-flow")
    warm_check = time.perf_counter() - started
    ensure_table(aws.dynamodb(), "bench-flow-backfill")
    started = time.perf_counter()
    backfill_prices(source=socrata.url, table_name="bench-flow-backfill")
    return first, warm_check, time.perf_counter() - started


def alert_event(weeks: list[WeekPrices], count: int) -> dict[str, Any]:
    """A stream batch of `count` INSERT records, each a real week flagged with one real drop."""
    records: list[dict[str, Any]] = []
    for previous, week in itertools.pairwise(weeks):
        drops = find_drops(week.prices, previous.prices)
        if not drops:
            continue
        record = WeekRecord(
            week=week.week,
            prices=week.prices,
            previous_week=previous.week,
            previous_prices=previous.prices,
            drops=drops[:1],
            alert=True,
        )
        records.append(
            {
                "eventName": "INSERT",
                "dynamodb": {"SequenceNumber": f"{len(records) + 1:021d}", "NewImage": record.to_item()},
            }
        )
        if len(records) == count:
            return {"Records": records}
    raise ValueError(f"the history has fewer than {count} weeks with a drop")


def virtually_paced_publisher(name: str) -> tuple[Publisher, Any, Any]:
    """A real publisher on moto with its own table and topics, and its two clients, connected.

    The pacing waits on a virtual clock: what is measured is the publisher's own work, apart from the waiting that
    the 17-drop measurement shows for real.
    """
    session = boto3.session.Session(region_name=os.environ["AWS_DEFAULT_REGION"])
    sns, dynamodb = session.client("sns"), session.client("dynamodb")
    ensure_table(dynamodb, name)
    topic_arn = sns.create_topic(Name=name)["TopicArn"]
    digest_arn = sns.create_topic(Name=f"{name}-digest")["TopicArn"]
    publisher = Publisher(sns, dynamodb, topic_arn, name, digest_arn, pacer=virtual_pacer())
    # A Lambda's clients are connected after its first invocation; connect them before timing.
    sns.get_topic_attributes(TopicArn=topic_arn)
    dynamodb.describe_table(TableName=name)
    return publisher, sns, dynamodb


def measure_publisher(weeks: list[WeekPrices]) -> tuple[Cost, Cost, int]:
    """A batch of alert records through the real handler and publisher on moto, then its redelivery."""
    publisher, sns, dynamodb = virtually_paced_publisher("bench-publisher")
    event = alert_event(weeks, PUBLISHER_RECORDS)
    results = []
    for _ in range(2):
        with counting_calls(sns, dynamodb) as calls:
            started = time.perf_counter()
            response = process_batch(event, publisher)
            results.append(Cost(0, calls, time.perf_counter() - started))
        if response["batchItemFailures"]:
            raise RuntimeError(f"the publisher reported failures: {response}")
    return results[0], results[1], len(event["Records"])


@dataclass
class DuplicateWindow:
    """For each PublishBatch, when it was sent, when SNS answered, and when the ledger answered its mark."""

    sent: list[float] = field(default_factory=list)
    answered: list[float] = field(default_factory=list)
    marked: list[float] = field(default_factory=list)

    def watch(self, sns: Any, dynamodb: Any) -> None:
        """Note the times through botocore's event hooks on the publisher's two clients."""
        sns.meta.events.register("before-call.sns.PublishBatch", lambda **_: self.sent.append(time.perf_counter()))
        sns.meta.events.register("after-call.sns.PublishBatch", lambda **_: self.answered.append(time.perf_counter()))
        pending: list[bool] = []

        def before(params: dict[str, Any], **_: Any) -> None:
            updates = [item.get("Update", {}) for item in params.get("TransactItems", [])] or [params]
            pending.append(any("ADD" in update.get("UpdateExpression", "") for update in updates))

        def after(**_: Any) -> None:
            if pending.pop():
                self.marked.append(time.perf_counter())

        for operation in ("UpdateItem", "TransactWriteItems"):
            dynamodb.meta.events.register(f"before-parameter-build.dynamodb.{operation}", before)
            dynamodb.meta.events.register(f"after-call.dynamodb.{operation}", after)

    def gaps_ms(self) -> tuple[list[float], list[float]]:
        """From SNS's answer to the mark's, and from the publish call's start to the mark's answer, in ms."""
        pairs = list(zip(self.sent, self.answered, self.marked, strict=True))
        return [(mark - answer) * 1000 for _, answer, mark in pairs], [(mark - sent) * 1000 for sent, _, mark in pairs]


def measure_duplicate_window(weeks: list[WeekPrices]) -> DuplicateWindow:
    """The window in which a crash sends a message twice: SNS has it, the ledger does not yet (100 records on moto)."""
    publisher, sns, dynamodb = virtually_paced_publisher("bench-window")
    window = DuplicateWindow()
    window.watch(sns, dynamodb)
    response = process_batch(alert_event(weeks, PUBLISHER_RECORDS), publisher)
    if response["batchItemFailures"]:
        raise RuntimeError(f"the publisher reported failures: {response}")
    return window


def lambda_package() -> tuple[int, int]:
    """Size in bytes and file count of the zip `make package` builds (gas_local.package)."""
    with tempfile.TemporaryDirectory() as folder:
        output = Path(folder) / "publisher.zip"
        build_package(DEFAULT_SOURCE, output)
        with zipfile.ZipFile(output) as archive:
            return output.stat().st_size, len(archive.namelist())


@dataclass(frozen=True)
class ChartSize:
    """The largest chart artifact of any 52 weeks of the full history, every fall alerted."""

    first_week: date
    alerts: int
    svg_bytes: int
    markdown_bytes: int
    seconds: float


def largest_chart() -> ChartSize:
    """Replay the full history (every fall alerts) and draw each 52-week window as the check's artifact would."""
    from gas_alerts.chart import price_chart
    from gas_alerts.replay import replay
    from gas_alerts.run_report import chart_markdown, chart_title

    history = load_history(str(FULL_HISTORY))
    charted = replay(history, start=history[LOOKBACK_WEEKS].week, end=history[-1].week).chart_weeks(history)
    windows = [charted[start : start + CHART_WEEKS] for start in range(len(charted) - CHART_WEEKS + 1)]
    window = max(windows, key=lambda weeks: len(chart_markdown(weeks)))
    started = time.perf_counter()
    markdown = chart_markdown(window)
    seconds = time.perf_counter() - started
    svg = price_chart(window, title=chart_title(window))
    alerts = sum(len(week.alerted) for week in window)
    return ChartSize(window[0].week, alerts, len(svg.encode()), len(markdown.encode()), seconds)


def measure_seventeen_drops() -> tuple[float, Counter[str], float]:
    """The real publisher, paced for real, on the 17 drops of 2022-07-18: seconds, calls, and the pacing's share."""
    session = boto3.session.Session(region_name=os.environ["AWS_DEFAULT_REGION"])
    sns, dynamodb = session.client("sns"), session.client("dynamodb")
    ensure_table(dynamodb, "bench-seventeen")
    topic_arn = sns.create_topic(Name="bench-seventeen")["TopicArn"]
    digest_arn = sns.create_topic(Name="bench-seventeen-digest")["TopicArn"]
    publisher = Publisher(sns, dynamodb, topic_arn, "bench-seventeen", digest_arn)
    weeks = [week for week in load_history(str(LATEST_SNAPSHOT)) if week.week <= ALL_FELL][-9:]
    record = record_for(walk(weeks, {}, REGION_IDS)[-1], alert=True, origin=Origin.WEEKLY, recorded_at=NOW)
    event = {"Records": [{"eventName": "INSERT", "dynamodb": {"SequenceNumber": "1", "NewImage": record.to_item()}}]}
    sns.get_topic_attributes(TopicArn=topic_arn)
    with counting_calls(sns, dynamodb) as calls:
        started = time.perf_counter()
        response = process_batch(event, publisher, int(time.time() * 1000) + LAMBDA_TIMEOUT_MS)
        seconds = time.perf_counter() - started
    if response["batchItemFailures"]:
        raise RuntimeError(f"the publisher reported failures: {response}")
    return seconds, calls, publisher.pacer.seconds_for(len(record.drops))


def load_settings() -> Settings:
    """Resource names of the load run, its outbox and state in a temporary folder."""
    folder = Path(tempfile.mkdtemp(prefix="gas-alerts-bench-"))
    return Settings(
        table_name="bench-load",
        topic_name="bench-load-drops",
        topic_arn="",
        inbox_queue="bench-load-inbox",
        digest_topic_name="bench-load-digest",
        digest_inbox_queue="bench-load-digest-inbox",
        dead_letter_queue="bench-load-dlq",
        outbox=folder,
        state_dir=folder,
        app_token=None,
    )


def calls_text(calls: Counter[str]) -> str:
    """'2 dynamodb.Query, 34 dynamodb.BatchWriteItem' without the service names repeated needlessly."""
    return ", ".join(f"{count} {name.split('.', 1)[1]}" for name, count in sorted(calls.items())) or "none"


def report_backfill(socrata: LocalSocrata) -> None:
    """The full history into an empty table, its re-run, and a paged read."""
    cost, summary = measure_backfill(socrata)
    print(f"Backfill of the full history ({FULL_HISTORY.name}, {summary.written} weeks) into an empty table:")
    print(
        f"  time               {cost.seconds:.2f} s "
        f"(target < {BACKFILL_TARGET_S:.0f} s: {verdict(cost.seconds < BACKFILL_TARGET_S)})"
    )
    print(f"  HTTP requests      {cost.http_requests} (pages of 1000 rows, the API's default)")
    print(f"  DynamoDB calls     {calls_text(cost.calls)}")
    transactions = cost.calls["dynamodb.TransactWriteItems"]
    print(
        f"  write calls        {transactions} TransactWriteItems of up to {MAX_TRANSACTION_ITEMS} conditional puts "
        f"(target <= {BACKFILL_CALLS_TARGET}: {verdict(transactions <= BACKFILL_CALLS_TARGET)}); "
        f"the newest weeks are left to the check: {', '.join(map(str, summary.left_to_check))}"
    )
    rerun, again = measure(socrata, (aws.dynamodb(),), lambda: backfill_steps(socrata.url, "bench-backfill"))
    print(
        f"  re-run             {rerun.seconds:.2f} s, {again.skipped} weeks skipped, {again.written} written: "
        f"{rerun.http_requests} HTTP request, {calls_text(rerun.calls)}"
    )
    requests, fetched, seconds = measure_paged_fetch(socrata)
    print(f"  paging check       {fetched} weeks in {requests} requests of {PAGED_FETCH_ROWS} rows, {seconds:.2f} s")


def report_checks(socrata: LocalSocrata) -> None:
    """A check finding one new week, a quiet check and a quiet sweep, and the check as Prefect flow runs."""
    full = measure_weekly_check(socrata, full_history=True)
    one = measure_weekly_check(socrata, full_history=False)
    print("Weekly check finding one new week (data path: its tasks as plain functions):")
    for label, measured in (("table with the full history", full), ("table with the previous week only", one)):
        print(f"  {label:34} {measured.http_requests} HTTP request, {calls_text(measured.calls)}, ", end="")
        print(f"{measured.seconds * 1000:.0f} ms")
    same = "equal: the cost does not grow with the history" if full.counts() == one.counts() else "DIFFERENT"
    print(f"  counts             {same}")
    print("  (the time differs on moto only: its Query gathers and sorts the whole partition before the Limit)")
    quiet, sweep_sent, quiet_sweep = measure_quiet_check_and_sweep(socrata)
    print("Nothing new (the table already holds the source's newest week, every told message sent):")
    print(
        f"  quiet check        {quiet.http_requests} HTTP request, {calls_text(quiet.calls)} "
        f"(target 1 GET, 1 Query, 1 PutMetricData: {verdict(quiet.counts() == QUIET_CHECK)})"
    )
    print(
        f"  quiet sweep        {calls_text(quiet_sweep.calls)}, {quiet_sweep.seconds * 1000:.0f} ms "
        f"(the sweep before it sent the {sweep_sent} told messages the stream had not delivered)"
    )

    first, warm_check, warm_backfill = measure_prefect_flow(socrata)
    print("As Prefect flow runs (embedded server):")
    print(f"  first run          {first:.1f} s (includes starting the server)")
    print(f"  weekly check       {warm_check:.2f} s (server up; Prefect's per-run overhead included)")
    print(f"  backfill, 839 wks  {warm_backfill:.2f} s (server up; tasks, artifacts and progress updates included)")


def report_publisher(weeks: list[WeekPrices]) -> None:
    """The publisher's batches, the duplicate window, a thousand records through the stream, and a 17-drop week."""
    sent, redelivered, records = measure_publisher(weeks)
    print(f"Publisher: {records} alert records, one drop each, through process_batch and a real Publisher:")
    print(
        f"  time               {sent.seconds:.2f} s "
        f"(target < {PUBLISHER_TARGET_S} s per 100: {verdict(sent.seconds < PUBLISHER_TARGET_S)})"
    )
    per_topic = math.ceil(records / MESSAGES_PER_SECOND)
    print(
        f"  AWS calls          {calls_text(sent.calls)} ({per_topic} PublishBatch of up to {MESSAGES_PER_SECOND} "
        f"alerts and {per_topic} of digests, each followed by one call marking its messages sent, after one "
        "transaction claiming all the weeks)"
    )
    print(f"  redelivered batch  {redelivered.seconds:.2f} s, {calls_text(redelivered.calls)} (nothing re-sent)")

    after_answer, whole = measure_duplicate_window(weeks).gaps_ms()
    print(f"The duplicate window: {len(whole)} PublishBatch calls of the same batch, each then marked sent:")
    print(
        f"  SNS answer → mark  median {statistics.median(after_answer):.1f} ms, longest {max(after_answer):.1f} ms "
        "(from the publish call's return to the ledger's answer)"
    )
    print(
        f"  call → mark        median {statistics.median(whole):.1f} ms, longest {max(whole):.1f} ms "
        "(from the publish call's start: SNS accepts somewhere inside the call)"
    )

    load = run_load(load_settings(), LOAD_RECORDS)
    print(f"Load: {LOAD_RECORDS} alert records through the stream runner, the real handler and SNS to the inbox:")
    print(f"  written in         {load.write_seconds:.1f} s (BatchWriteItem)")
    print(
        f"  delivered in       {load.deliver_seconds:.1f} s: {load.stats.invocations} handler invocations, "
        f"{len(load.delivered)} messages received"
    )

    seconds, calls, paced = measure_seventeen_drops()
    print(f"Publisher: the 17 drops of {ALL_FELL} (every region fell), paced for real, plus the week's digest:")
    print(
        f"  time               {seconds:.2f} s, of which about {paced:.2f} s is pacing at "
        f"{MESSAGES_PER_SECOND} messages a second (the Lambda's timeout is {LAMBDA_TIMEOUT_MS // 1000} s)"
    )
    print(f"  AWS calls          {calls_text(calls)}")


def report_package_and_chart() -> None:
    """The Lambda package's size and the largest chart artifact."""
    size, files = lambda_package()
    print("Lambda package (make package: gas_publisher's .py and .json files, deterministic):")
    print(
        f"  size               {size} bytes = {size / 1024:.1f} KB, {files} files "
        f"(target < 50 KB: {verdict(size < PACKAGE_TARGET_BYTES)})"
    )
    chart = largest_chart()
    print(f"Chart artifact: the largest of any {CHART_WEEKS} weeks of {FULL_HISTORY.name}, every fall alerted:")
    print(f"  window             from {chart.first_week}, {chart.alerts} alerts dotted")
    print(f"  SVG                {chart.svg_bytes} bytes, drawn in {chart.seconds * 1000:.0f} ms")
    print(
        f"  artifact           {chart.markdown_bytes} bytes of markdown, the SVG in it as a data: URL "
        f"(target < 100 KB: {verdict(chart.markdown_bytes < CHART_TARGET_BYTES)})"
    )


def main() -> None:
    """Run every measurement and print the figures the README quotes."""
    rows = rows_from_csv(FULL_HISTORY.read_text(encoding="utf-8"))
    with local_aws(), local_socrata(rows) as socrata:
        weeks = load_history(str(FULL_HISTORY))
        report_backfill(socrata)
        report_checks(socrata)
        report_publisher(weeks)
    report_package_and_chart()


if __name__ == "__main__":
    main()
