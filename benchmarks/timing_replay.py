"""`make bench`: the real 2017-2026 history replayed with publication timing, checked on a schedule.

Each week is published at a random hour between its own Monday and the Friday of that week (New York time), and in
a quarter of the weeks one to three regions come a day or two after the rest. The check runs on a schedule and sees
what was published by then: its fetch window, plan_check and the writes (applied to an in-memory table exactly as
the conditional writes apply them to DynamoDB). What it tells goes through the real handler and publisher, with the
sent ledger on moto, to a recording SNS. The figures are set against the drops of the final, complete data:
drops told, drops missed, hours from a value's publication to its alert, and messages sent twice.
"""

from __future__ import annotations

import random
import statistics
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from gas_alerts import aws
from gas_alerts.compare import LOOKBACK_WEEKS, CheckPlan, plan_check, walk
from gas_alerts.prices import WeekPrices, parse_rows
from gas_alerts.source import rows_from_csv
from gas_alerts.table_model import TableModel
from gas_local.moto_server import local_aws
from gas_local.provision import ensure_table
from gas_publisher.contract import ATTR_REGION, REGION_IDS
from gas_publisher.handler import process_batch
from gas_publisher.publisher import Publisher
from tests.support.fakes import RecordingSns, virtual_pacer

NEW_YORK = ZoneInfo("America/New_York")
LATEST_SNAPSHOT = Path(__file__).resolve().parents[1] / "data" / "ny_gas_prices_weekly_2017_2026.csv"
SEED = 2026
# A week comes out between Monday 00:00 and Friday 23:00 of its own week.
PUBLISHED_WITHIN_HOURS = 4 * 24 + 23
# In this share of the weeks, one to three regions come 24 to 48 hours after the rest.
LATE_WEEK_SHARE = 0.25
LATE_REGIONS = (1, 3)
LATE_HOURS = (24, 48)
CHECK_HOUR = 10
BATCH_SIZE = 10


@dataclass(frozen=True)
class Publication:
    """When a week's values came out: most regions at `at`, some later."""

    week: WeekPrices
    at: datetime
    late: dict[str, datetime] = field(default_factory=dict)

    def seen_at(self, moment: datetime) -> WeekPrices | None:
        """The week as the source shows it at that moment, or None before it is out."""
        if moment < self.at:
            return None
        prices = {r: p for r, p in self.week.prices.items() if r not in self.late or self.late[r] <= moment}
        return WeekPrices(self.week.week, prices)

    def published(self, region: str) -> datetime:
        """When the region's value came out."""
        return self.late.get(region, self.at)


@dataclass
class Outcome:
    """What one schedule told, and when."""

    schedule: str
    baseline: date | None = None
    checks: int = 0
    quiet_checks: int = 0
    told: dict[tuple[date, str], datetime] = field(default_factory=dict)
    told_count: Counter[tuple[date, str]] = field(default_factory=Counter)
    # What the rule before this one would have told from the same checks: the newest new week's drops only, and a
    # region filled in late only while its week was the newest stored.
    old_rule: set[tuple[date, str]] = field(default_factory=set)
    sent: Counter[tuple[date, str]] = field(default_factory=Counter)
    digests: Counter[date] = field(default_factory=Counter)
    seconds: float = 0.0


def publications(weeks: Sequence[WeekPrices], seed: int = SEED) -> list[Publication]:
    """Every week with its random publication time, and its late regions."""
    chance = random.Random(seed)  # noqa: S311 (a reproducible simulation, not a secret)
    out = []
    for week in weeks:
        monday = datetime(week.week.year, week.week.month, week.week.day, tzinfo=NEW_YORK)
        at = monday + timedelta(hours=chance.randint(0, PUBLISHED_WITHIN_HOURS))
        late: dict[str, datetime] = {}
        if chance.random() < LATE_WEEK_SHARE:
            for region in chance.sample(sorted(week.prices), chance.randint(*LATE_REGIONS)):
                late[region] = at + timedelta(hours=chance.randint(*LATE_HOURS))
        out.append(Publication(week, at, late))
    return out


def daily(start: date, end: date) -> Iterator[datetime]:
    """Every day at 10:00 New York time."""
    day = start
    while day <= end:
        yield datetime(day.year, day.month, day.day, CHECK_HOUR, tzinfo=NEW_YORK)
        day += timedelta(days=1)


def wednesdays(start: date, end: date) -> Iterator[datetime]:
    """Every Wednesday at 10:00 New York time (the old schedule)."""
    return (moment for moment in daily(start, end) if moment.weekday() == 2)


def run(schedule: str, moments: Iterator[datetime], published: Sequence[Publication], table_name: str) -> Outcome:
    """Check at each moment, apply what the check writes, and publish what it tells through the real handler."""
    outcome = Outcome(schedule)
    table = TableModel()
    sns = RecordingSns()
    topic = "arn:aws:sns:us-east-1:000000000000:alerts"
    publisher = Publisher(sns, aws.dynamodb(), topic, table_name, f"{topic}-digest", pacer=virtual_pacer())  # type: ignore[arg-type]
    sequence = 0
    started = time.perf_counter()
    for moment in moments:
        view = [week for week in (item.seen_at(moment) for item in published) if week is not None]
        if not view:
            continue
        outcome.checks += 1
        plan = plan_check(view[-LOOKBACK_WEEKS:], table.recent())
        if plan.baseline:
            outcome.baseline = plan.writes[0].week
        outcome.old_rule |= _old_rule(plan)
        if not plan.writes and not plan.revisions and not plan.late:
            outcome.quiet_checks += 1
            continue
        records = []
        for item in table.apply(plan):
            sequence += 1
            records.append(
                {"eventName": "INSERT", "dynamodb": {"SequenceNumber": f"{sequence:021d}", "NewImage": item.to_item()}}
            )
            for region in item.news:
                outcome.told_count[(item.week, region)] += 1
                outcome.told.setdefault((item.week, region), moment)
        for start in range(0, len(records), BATCH_SIZE):
            response = process_batch({"Records": records[start : start + BATCH_SIZE]}, publisher, consumer="replay")
            if response != {"batchItemFailures": []}:
                raise RuntimeError(f"the publisher failed records at {moment}: {response}")
    outcome.seconds = time.perf_counter() - started
    for entry in sns.entries:
        region = entry["MessageAttributes"][ATTR_REGION]["StringValue"]
        outcome.sent[(_week_of(entry["Message"]), region)] += 1
    for digest in sns.digests:
        outcome.digests[_week_of(digest["Message"])] += 1
    return outcome


def _old_rule(plan: CheckPlan) -> set[tuple[date, str]]:
    """The falls the previous rule told in this check, emulated on the same plan."""
    if plan.writes:
        newest = plan.writes[-1]
        return {(newest.week, region) for region in newest.drops}
    return {(item.week, region) for item in plan.late if item.week == plan.latest_stored for region in item.news}


def _week_of(body: str) -> date:
    marker = "in the week of "
    words = body[body.index(marker) + len(marker) :].split(".", maxsplit=1)[0].split()[1:4]
    return datetime.strptime(" ".join(words), "%d %B %Y").date()


def true_drops(weeks: Sequence[WeekPrices], after: date) -> set[tuple[date, str]]:
    """Every (week, region) that fell in the complete data, for the weeks after `after`."""
    return {
        (step.week, region)
        for step in walk(weeks, {}, REGION_IDS)
        if step.week > after
        for region in step.comparison.drops
    }


def report(outcome: Outcome, published: Sequence[Publication], truth: set[tuple[date, str]]) -> list[str]:
    """The figures of one schedule, one per line."""
    by_week = {item.week.week: item for item in published}
    told = set(outcome.told)
    hours = sorted(
        (outcome.told[fall] - by_week[fall[0]].published(fall[1])).total_seconds() / 3600 for fall in told & truth
    )
    twice = sum(1 for count in outcome.sent.values() if count > 1)
    flow_twice = sum(1 for count in outcome.told_count.values() if count > 1)
    return [
        f"{outcome.schedule}: {outcome.checks} checks, {outcome.quiet_checks} found nothing new (1 GET + 1 Query each)",
        f"  drops in the data {len(truth)}, told {len(told & truth)}, missed {len(truth - told)} (target 0), "
        f"told but not a drop in the final data {len(told - truth)}",
        f"  hours from publication to alert: median {statistics.median(hours):.1f}, worst {hours[-1]:.1f}",
        f"  the previous rule (only the newest new week alerts) on the same checks: missed "
        f"{len(truth - outcome.old_rule)}",
        f"  messages sent twice {twice} (target 0); falls the flow told twice {flow_twice}; "
        f"alert messages {sum(outcome.sent.values())}, digests {sum(outcome.digests.values())} "
        f"({sum(1 for count in outcome.digests.values() if count > 1)} weeks with a late digest too)",
        f"  replay time {outcome.seconds:.1f} s",
    ]


def main() -> None:
    """Replay both schedules and print their figures side by side."""
    weeks = parse_rows(rows_from_csv(LATEST_SNAPSHOT.read_text(encoding="utf-8")), today=date(2026, 12, 1))
    published = publications(weeks)
    first, last = weeks[0].week, weeks[-1].week + timedelta(days=10)
    late_weeks = sum(1 for item in published if item.late)
    print(
        f"Timing replay of {len(weeks)} real weeks ({weeks[0].week} to {weeks[-1].week}); seed {SEED}; "
        f"{late_weeks} weeks with regions a day or two late"
    )
    with local_aws():
        for schedule, moments in (
            ("daily 10:00", daily(first, last)),
            ("Wednesdays 10:00 (old)", wednesdays(first, last)),
        ):
            table_name = f"timing-{schedule.split()[0].lower()}"
            ensure_table(aws.dynamodb(), table_name)
            outcome = run(schedule, moments, published, table_name)
            truth = true_drops(weeks, after=outcome.baseline or first)
            for line in report(outcome, published, truth):
                print(line)


if __name__ == "__main__":
    main()
