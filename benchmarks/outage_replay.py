"""`make bench`: parts stopped at random points of the real history; what is lost, sent twice, and when one hears.

Each scenario replays eight weeks around one outage, hour by hour, on moto: weeks come out as the timing replay has
them (a random hour from Monday to Friday, some regions a day or two late), the daily check runs at 10:00 New York
time through the real plan and conditional writes, what it writes goes to the real handler through a stand-in for
the stream mapping (retrying a failing record for its 6-hour maximum age, then dropping it as the dead-letter queue
would), and the real sweep runs every hour. The check's heartbeat and the sweep's metric are kept as data points,
and the operator's alarms are evaluated on them as CloudWatch evaluates them, with the thresholds Terraform sets.

Outages:
- the worker stopped for 10 days (no check runs);
- the publisher stopped for 3 days, two ways: a bad deploy (every invocation fails, stream batches and sweeps alike),
  and SNS refusing every publish (the function runs, and reports what it could not send);
- the source frozen for 3 weeks (the API keeps answering with the copy it had when it froze).
"""

from __future__ import annotations

import logging
import math
import random
import statistics
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from benchmarks.timing_replay import LATEST_SNAPSHOT, Publication, publications
from gas_alerts import aws
from gas_alerts.compare import HISTORY_WEEKS, LOOKBACK_WEEKS, history_records, news_horizon, plan_check, walk
from gas_alerts.prices import WeekPrices, parse_rows
from gas_alerts.source import rows_from_csv
from gas_alerts.store import PriceTable
from gas_local.moto_server import local_aws
from gas_local.provision import ensure_table
from gas_publisher.contract import (
    ATTR_REGION,
    CHECK_SILENCE_PERIOD_SECONDS,
    CHECK_SILENCE_PERIODS,
    MAPPING,
    REGION_IDS,
    SOURCE_STALE_AFTER_DAYS,
    SWEEP_SILENCE_PERIOD_SECONDS,
    SWEEP_SILENCE_PERIODS,
)
from gas_publisher.handler import process_batch
from gas_publisher.pacing import BACKGROUND_MESSAGES_PER_SECOND
from gas_publisher.publisher import Publisher
from gas_publisher.sweep import SweepRequest, sweep
from gas_publisher.week import WeekRecord
from tests.support.fakes import RecordingSns, virtual_pacer

NEW_YORK = ZoneInfo("America/New_York")
SEED = 27
SCENARIOS_PER_KIND = 5
CHECK_HOUR = 10
BEFORE = timedelta(weeks=3)
AFTER = timedelta(weeks=4)
HOUR = timedelta(hours=1)
# The publisher's errors alarm: any failed invocation in a 5-minute period (infra/modules/publisher).
ERRORS_PERIOD = timedelta(minutes=5)
MAX_RECORD_AGE = timedelta(seconds=MAPPING["maximum_record_age_in_seconds"])
TARGET_ALARM_HOURS = 28


@dataclass(frozen=True)
class Outage:
    """One part stopped from `start` for `length`."""

    kind: str
    start: datetime
    length: timedelta

    @property
    def end(self) -> datetime:
        """When the part runs again."""
        return self.start + self.length

    def covers(self, moment: datetime) -> bool:
        """Whether the part is stopped at that moment."""
        return self.start <= moment < self.end


@dataclass
class Scenario:
    """What one outage did."""

    outage: Outage
    falls: set[tuple[date, str]] = field(default_factory=set)
    sent: Counter[tuple[date, str]] = field(default_factory=Counter)
    history: set[tuple[date, str]] = field(default_factory=set)
    alarm: tuple[str, datetime] | None = None
    checks: list[tuple[datetime, int]] = field(default_factory=list)
    sweeps: list[datetime] = field(default_factory=list)
    failed_invocations: list[datetime] = field(default_factory=list)
    # Sweeps that put UnsentMessages above 0.
    unsent: list[datetime] = field(default_factory=list)
    # The source's newest week when it froze.
    frozen_week: date | None = None
    # When SNS first refused a told message.
    first_refused: datetime | None = None
    # Hours from the publisher's return to the last sweep that sent something it had missed.
    drained_hours: float | None = None

    @property
    def missed(self) -> set[tuple[date, str]]:
        """Falls of the final data never sent, apart from those the 14-day rule stores as history."""
        return self.falls - set(self.sent) - self.history

    @property
    def twice(self) -> int:
        """Alerts that reached the topic more than once."""
        return sum(1 for count in self.sent.values() if count > 1)

    def false(self, truth: set[tuple[date, str]]) -> set[tuple[date, str]]:
        """Alerts about a (week, region) that did not fall in the final data."""
        return set(self.sent) - truth

    @property
    def alarm_hours(self) -> float | None:
        """Hours from the stop to the first alarm, if one fired."""
        return None if self.alarm is None else (self.alarm[1] - self.outage.start).total_seconds() / 3600

    @property
    def hours_after_the_limit(self) -> float | None:
        """For a frozen source, hours from its newest week turning 13 days old (past the limit) to the alarm."""
        if self.alarm is None or self.frozen_week is None:
            return None
        day = self.frozen_week + timedelta(days=SOURCE_STALE_AFTER_DAYS + 1)
        limit = datetime(day.year, day.month, day.day, tzinfo=NEW_YORK)
        return (self.alarm[1] - limit).total_seconds() / 3600

    @property
    def hours_after_the_first_refusal(self) -> float | None:
        """For SNS refusing, hours from its first refusal of a told message to the alarm."""
        if self.alarm is None or self.first_refused is None:
            return None
        return (self.alarm[1] - self.first_refused).total_seconds() / 3600

    @property
    def hours_after_the_last_check(self) -> float | None:
        """For a stopped worker, hours from the last completed check before the stop to the alarm."""
        before = [moment for moment, _ in self.checks if moment < self.outage.start]
        if self.alarm is None or not before:
            return None
        return (self.alarm[1] - max(before)).total_seconds() / 3600


def first_silence(
    points: Sequence[datetime], period: timedelta, periods: int, *, from_: datetime, until: datetime
) -> datetime | None:
    """When an alarm on `periods` consecutive periods without a data point fires (missing data breaching), or None.

    It fires at the end of the last of those periods; periods start on multiples of `period` since the epoch, as
    CloudWatch aligns them.
    """
    seconds = period.total_seconds()
    counts = Counter(math.floor(point.timestamp() / seconds) for point in points)
    run = 0
    for index in range(math.floor(from_.timestamp() / seconds) - periods, math.ceil(until.timestamp() / seconds)):
        run = run + 1 if counts[index] == 0 else 0
        end = datetime.fromtimestamp((index + 1) * seconds, UTC)
        if run >= periods and end > from_:
            return end
    return None


def alarm_for(scenario: Scenario, until: datetime) -> tuple[str, datetime] | None:
    """The first of the operator's alarms that fires after the stop, and when, from the scenario's data points."""
    start = scenario.outage.start
    fired: list[tuple[str, datetime | None]] = [
        (
            "check-silent",
            first_silence(
                [moment for moment, _ in scenario.checks],
                timedelta(seconds=CHECK_SILENCE_PERIOD_SECONDS),
                CHECK_SILENCE_PERIODS,
                from_=start,
                until=until,
            ),
        ),
        (
            "sweep-silent",
            first_silence(
                scenario.sweeps,
                timedelta(seconds=SWEEP_SILENCE_PERIOD_SECONDS),
                SWEEP_SILENCE_PERIODS,
                from_=start,
                until=until,
            ),
        ),
    ]
    # A data point over the threshold in a period fires the others at that period's end.
    stale = [moment for moment, age in scenario.checks if moment >= start and age > SOURCE_STALE_AFTER_DAYS]
    failures = [moment for moment in scenario.failed_invocations if moment >= start]
    unsent = [moment for moment in scenario.unsent if moment >= start]
    for name, moments, period in (
        ("source-stale", stale, HOUR),
        ("publisher-errors", failures, ERRORS_PERIOD),
        ("unsent-messages", unsent, HOUR),
    ):
        fired.append((name, _period_end(min(moments), period) if moments else None))
    found = [(name, moment) for name, moment in fired if moment is not None]
    return min(found, key=lambda item: item[1]) if found else None


def _period_end(moment: datetime, period: timedelta) -> datetime:
    seconds = period.total_seconds()
    return datetime.fromtimestamp((math.floor(moment.timestamp() / seconds) + 1) * seconds, UTC)


class RefusingSns(RecordingSns):
    """The recording SNS, which refuses every entry while `refusing` is set (an SNS outage, a disabled topic key)."""

    refusing = False

    def publish_batch(self, TopicArn: str, PublishBatchRequestEntries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803
        """Record and accept every entry, or refuse them all."""
        if self.refusing:
            failed = [
                {"Id": entry["Id"], "Code": "KMS.DisabledException", "SenderFault": False}
                for entry in PublishBatchRequestEntries
            ]
            return {"Successful": [], "Failed": failed}
        return super().publish_batch(TopicArn, PublishBatchRequestEntries)


class Replay:
    """One scenario's table, publisher, stream stand-in and clock."""

    def __init__(self, name: str, weeks: Sequence[WeekPrices], published: Sequence[Publication], outage: Outage):
        self.outage = outage
        self.published = published
        self.table = PriceTable(aws.dynamodb(), name)
        ensure_table(aws.dynamodb(), name)
        self.now = outage.start - BEFORE
        start_week = self.now.astimezone(NEW_YORK).date()
        known = [item.seen_at(self.now) for item in published]
        loaded = [week for week in known if week is not None and week.week < start_week]
        self.table.put_weeks(history_records(loaded))
        self.loaded = {week.week for week in loaded}
        # Set once the stream failed or dropped records: until the sweep has healed them, each hourly sweep runs for
        # real. Otherwise the stream delivered everything at once, and a sweep would find nothing to send.
        self.maybe_unsent = False
        self.sns = RefusingSns()
        topic = "arn:aws:sns:us-east-1:000000000000:outage"
        self.publisher, self.background = (
            Publisher(
                self.sns,  # type: ignore[arg-type]
                aws.dynamodb(),
                topic,
                name,
                f"{topic}-digest",
                pacer=pacer,
                clock=self.virtual_time,
            )
            # The stream's publisher, and the sweep's at the background rate, as the handler wires them.
            for pacer in (virtual_pacer(), virtual_pacer(BACKGROUND_MESSAGES_PER_SECOND))
        )
        # What the stream holds for the mapping: when each record was written, its item, its sequence number.
        self.stream: list[tuple[datetime, WeekRecord, str]] = []
        self.sequence = 0
        self.scenario = Scenario(outage)
        self.frozen_view: list[WeekPrices] | None = None
        self.weeks = weeks

    def virtual_time(self) -> float:
        """The replay's clock, in seconds since the epoch (the publisher's leases and deadlines follow it)."""
        return self.now.timestamp()

    def run(self) -> Scenario:
        """Hour by hour from three weeks before the stop to four weeks after the part came back."""
        until = self.outage.end + AFTER
        while self.now < until:
            local = self.now.astimezone(NEW_YORK)
            if local.hour == CHECK_HOUR and not (self.outage.kind == "worker" and self.outage.covers(self.now)):
                self.check()
            self.deliver()
            self.sweep()
            self.now += HOUR
        self.scenario.alarm = alarm_for(self.scenario, until)
        self.scenario.falls = self.true_falls(until)
        for entry in self.sns.entries:
            self.scenario.sent[
                (_week_of(entry["Message"]), entry["MessageAttributes"][ATTR_REGION]["StringValue"])
            ] += 1
        return self.scenario

    def view(self) -> list[WeekPrices]:
        """What the source answers now; a frozen source keeps answering with what it had when it froze."""
        if self.outage.kind == "source" and self.outage.covers(self.now):
            if self.frozen_view is None:
                self.frozen_view = self._seen(self.outage.start)
                self.scenario.frozen_week = self.frozen_view[-1].week
            return self.frozen_view
        return self._seen(self.now)

    def _seen(self, moment: datetime) -> list[WeekPrices]:
        return [week for week in (item.seen_at(moment) for item in self.published) if week is not None]

    def check(self) -> None:
        """The daily check: plan against the stored weeks, write, put the heartbeat; the writes go to the stream."""
        view = self.view()[-LOOKBACK_WEEKS:]
        plan = plan_check(view, self.table.recent_weeks(HISTORY_WEEKS), recorded_at=self.now.isoformat())
        result = self.table.write_check(plan, self.now.isoformat())
        newest = view[-1].week
        age = (self.now.astimezone(NEW_YORK).date() - newest).days
        self.scenario.checks.append((self.now, age))
        horizon = news_horizon(newest)
        for record in plan.writes:
            if record.week < horizon:
                self.scenario.history |= {(record.week, region) for region in record.drops}
        for record in result.alerting:
            self.sequence += 1
            self.stream.append((self.now, record, f"{self.sequence:021d}"))

    def deliver(self) -> None:
        """The mapping: deliver what the stream holds; while the function fails, keep retrying until the max age."""
        if self.function_fails():
            if self.stream:
                self.scenario.failed_invocations.append(self.now)
            self.expire_stream()
            return
        if not self.stream:
            return
        self.sns.refusing = self.sns_refuses()
        records: list[dict[str, Any]] = [
            {"eventName": "INSERT", "dynamodb": {"SequenceNumber": sequence, "NewImage": record.to_item()}}
            for _, record, sequence in self.stream
        ]
        failed: set[str] = set()
        for start in range(0, len(records), MAPPING["batch_size"]):
            batch = {"Records": records[start : start + MAPPING["batch_size"]]}
            response = process_batch(batch, self.publisher, self._deadline(), consumer="mapping")
            failed |= {failure["itemIdentifier"] for failure in response["batchItemFailures"]}
        if failed and not self.sns_refuses():
            raise RuntimeError(f"delivery failed at {self.now} with SNS up")
        if failed and self.scenario.first_refused is None:
            self.scenario.first_refused = self.now
        # A record the function refused may still be unsent when the hourly sweep comes: the sweep runs for real.
        self.maybe_unsent = self.maybe_unsent or bool(failed)
        # The mapping retries a failed record (the next hour, here) until it is older than its maximum age.
        self.stream = [entry for entry in self.stream if entry[2] in failed]
        self.expire_stream()

    def expire_stream(self) -> None:
        """Drop the records older than the mapping's maximum age, as it sends them to the dead-letter queue."""
        kept = [entry for entry in self.stream if self.now - entry[0] < MAX_RECORD_AGE]
        self.maybe_unsent = self.maybe_unsent or len(kept) < len(self.stream)
        self.stream = kept

    def sweep(self) -> None:
        """The hourly sweep; while the function fails, its invocation fails and puts no metric."""
        if self.function_fails():
            self.scenario.failed_invocations.append(self.now)
            return
        self.scenario.sweeps.append(self.now)
        if not self.maybe_unsent:
            return
        self.sns.refusing = self.sns_refuses()
        found = sweep(
            self.background,
            aws.dynamodb(),
            aws.cloudwatch(),
            self.table.name,
            SweepRequest(),
            now=self.now,
            deadline_ms=self._deadline(),
        )
        if found.unsent_count:
            self.scenario.unsent.append(self.now)
        if found.sent and self.now >= self.outage.end and self.outage.kind in ("publisher", "sns"):
            self.scenario.drained_hours = (self.now - self.outage.end).total_seconds() / 3600
        self.maybe_unsent = bool(found.unsent or found.waiting or found.in_flight or found.deferred)

    def function_fails(self) -> bool:
        """Whether every invocation of the function fails now (a bad deploy)."""
        return self.outage.kind == "publisher" and self.outage.covers(self.now)

    def sns_refuses(self) -> bool:
        """Whether SNS refuses every publish now."""
        return self.outage.kind == "sns" and self.outage.covers(self.now)

    def _deadline(self) -> int:
        return int(self.now.timestamp() * 1000) + 60_000

    def true_falls(self, until: datetime) -> set[tuple[date, str]]:
        """Every (week, region) that fell in the final data, of the weeks the replay's checks could first tell."""
        return {
            fall for fall in all_falls(self.weeks) if fall[0] not in self.loaded and self._published_by(fall[0], until)
        }

    def _published_by(self, week: date, until: datetime) -> bool:
        item = next(item for item in self.published if item.week.week == week)
        return max([item.at, *item.late.values()]) < until - timedelta(days=2)


def all_falls(weeks: Sequence[WeekPrices]) -> set[tuple[date, str]]:
    """Every (week, region) that fell in the final data."""
    return {(step.week, region) for step in walk(weeks, {}, REGION_IDS) for region in step.comparison.drops}


def _week_of(body: str) -> date:
    marker = "in the week of "
    words = body[body.index(marker) + len(marker) :].split(".", maxsplit=1)[0].split()[1:4]
    return datetime.strptime(" ".join(words), "%d %B %Y").replace(tzinfo=UTC).date()


def outages(weeks: Sequence[WeekPrices], seed: int = SEED) -> list[Outage]:
    """Several outages of each kind, each starting at a random hour of the history (room left for the window)."""
    chance = random.Random(seed)  # noqa: S311 (a reproducible simulation, not a secret)
    first = datetime(weeks[0].week.year, 6, 1, tzinfo=UTC) + BEFORE
    last = datetime.combine(weeks[-1].week, datetime.min.time(), UTC) - AFTER - timedelta(weeks=4)
    hours = int((last - first).total_seconds() // 3600)
    kinds = (
        ("worker", timedelta(days=10)),
        ("publisher", timedelta(days=3)),
        ("sns", timedelta(days=3)),
        ("source", timedelta(weeks=3)),
    )
    return [
        Outage(kind, first + timedelta(hours=chance.randint(0, hours)), length)
        for kind, length in kinds
        for _ in range(SCENARIOS_PER_KIND)
    ]


def report(kind: str, scenarios: Sequence[Scenario], truth: set[tuple[date, str]]) -> list[str]:
    """The figures of one kind of outage, one per line."""
    hours = [scenario.alarm_hours for scenario in scenarios]
    fired = [value for value in hours if value is not None]
    alarms = Counter(scenario.alarm[0] for scenario in scenarios if scenario.alarm)
    lines = [
        f"{kind}: {len(scenarios)} outages, starting {', '.join(str(s.outage.start.date()) for s in scenarios)}",
        f"  drops in the windows {sum(len(s.falls) for s in scenarios)}, missed {sum(len(s.missed) for s in scenarios)}"
        f", sent twice {sum(s.twice for s in scenarios)} (targets 0), "
        f"false alerts {sum(len(s.false(truth)) for s in scenarios)}",
    ]
    if fired:
        # The target holds from the stop for a stopped worker or function; SNS refusing is heard once it refuses.
        target = f" (target <= {TARGET_ALARM_HOURS})" if "SNS" not in kind and "source" not in kind else ""
        lines.append(
            f"  hours from the stop to the operator's alarm: median {statistics.median(fired):.1f}, worst "
            f"{max(fired):.1f}{target}; first alarm: "
            + ", ".join(f"{name} {count}" for name, count in alarms.most_common())
        )
    drained = [value for s in scenarios if (value := s.drained_hours) is not None]
    if drained:
        lines.append(
            f"  hours from the publisher's return to the last sweep that sent what it had missed: worst "
            f"{max(drained):.1f} (one a second, as many as each hourly invocation has time for)"
        )
    refused = [value for s in scenarios if (value := s.hours_after_the_first_refusal) is not None]
    if refused:
        lines.append(f"  hours from SNS's first refusal of a told message to the alarm: worst {max(refused):.1f}")
    last_check = [value for s in scenarios if (value := s.hours_after_the_last_check) is not None]
    if kind.startswith("the worker") and last_check:
        lines.append(f"  hours from the last completed check to the alarm: worst {max(last_check):.1f}")
    after_limit = [value for s in scenarios if (value := s.hours_after_the_limit) is not None]
    if after_limit:
        lines.append(
            f"  hours from the newest week turning {SOURCE_STALE_AFTER_DAYS + 1} days old to the alarm: median "
            f"{statistics.median(after_limit):.1f}, worst {max(after_limit):.1f}"
        )
    if len(fired) < len(hours):
        lines.append(f"  {len(hours) - len(fired)} outages raised no alarm (nothing was told while SNS refused)")
    history = sum(len(s.history & s.falls) for s in scenarios)
    if history:
        lines.append(
            f"  falls stored as history by the 14-day rule (first seen over 14 days after their week): {history}"
        )
    return lines


def main() -> None:
    """Replay every outage and print the figures of each kind."""
    # The publisher logs each refused message; here they are the point, and the figures say what became of them.
    logging.getLogger("gas_publisher").setLevel(logging.CRITICAL)
    weeks = parse_rows(rows_from_csv(LATEST_SNAPSHOT.read_text(encoding="utf-8")), today=date(2026, 12, 1))
    published = publications(weeks)
    started = time.perf_counter()
    print(
        f"Outage replay over {weeks[0].week} to {weeks[-1].week}: {SCENARIOS_PER_KIND} outages of each kind, "
        f"seed {SEED}"
    )
    with local_aws():
        results: dict[str, list[Scenario]] = {}
        for index, outage in enumerate(outages(weeks)):
            scenario = Replay(f"outage-{index}", weeks, published, outage).run()
            results.setdefault(outage.kind, []).append(scenario)
    labels = {
        "worker": "the worker stopped for 10 days",
        "publisher": "the publisher stopped for 3 days by a bad deploy (every invocation fails)",
        "sns": "the publisher stopped for 3 days by SNS refusing every publish",
        "source": "the source frozen for 3 weeks",
    }
    for kind, scenarios in results.items():
        for line in report(labels[kind], scenarios, all_falls(weeks)):
            print(line)
    print(f"  replay time {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
