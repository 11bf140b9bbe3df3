"""`gas-alerts status`: the whole service's health on one screen, each problem one line with its next step.

It reads what the parts leave behind: the check's heartbeat in CloudWatch, the newest stored week, the told
messages the sent ledger lacks (as the sweep works them out), the dead-letter queue, each topic's subscriptions and
the alarms. It judges each itself too, with the alarms' own thresholds, since a local AWS never evaluates an alarm.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from gas_alerts import aws
from gas_alerts.failures import is_loopback
from gas_alerts.settings import Settings
from gas_alerts.store import NEW_YORK
from gas_alerts.subscriptions import PENDING, subscriptions_of
from gas_ops.resources import find_topic_arn, queue_url
from gas_publisher.contract import (
    ALARM_SUFFIXES,
    CHECK_SILENCE_PERIOD_SECONDS,
    CHECK_SILENCE_PERIODS,
    METRIC_CHECK_SUCCEEDED,
    METRIC_DIMENSION,
    METRIC_NAMESPACE,
    METRIC_SOURCE_AGE_DAYS,
    REGION_BY_ID,
    SOURCE_STALE_AFTER_DAYS,
    SWEEP_GRACE_SECONDS,
    SWEEP_WEEKS,
)
from gas_publisher.messages import Message
from gas_publisher.sweep import TableWindow, outstanding, read_window

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch.type_defs import MetricDataQueryTypeDef

# The check alarm fires once this long has passed without a completed check; status says so from the same moment.
CHECK_SILENCE = timedelta(seconds=CHECK_SILENCE_PERIOD_SECONDS * CHECK_SILENCE_PERIODS)
# How far back the heartbeat is looked for, nearest first: CloudWatch keeps 1-minute data for 15 days and answers a
# range that starts further back only at 5-minute (to 63 days) or hourly (to 455 days) periods.
HEARTBEAT_LOOKBACK = ((timedelta(days=2), 60), (timedelta(days=63), 3600), (timedelta(days=455), 3600))


@dataclass(frozen=True)
class Finding:
    """One line of the report: what it is about, what was found, and the problem with its next step, if any."""

    label: str
    value: str
    problem: str = ""


@dataclass
class ServiceHealth:
    """Every finding, in the order the screen shows them."""

    findings: list[Finding] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        """Each finding that needs the operator, one line each."""
        return [finding.problem for finding in self.findings if finding.problem]


@dataclass(frozen=True)
class Heartbeat:
    """The newest completed check CloudWatch holds, and the source's age it saw."""

    at: datetime
    source_age_days: int | None


@dataclass(frozen=True)
class Looking:
    """What every look shares: the settings, the moment, and the newest heartbeat (read once)."""

    settings: Settings
    now: datetime
    heartbeat: Heartbeat | None
    # The newest stored weeks with their late items and ledger entries, as the sweep reads them.
    window: TableWindow


def service_health(settings: Settings, now: datetime | None = None) -> ServiceHealth:
    """Look at every part the operator depends on; AWS errors propagate (a denial names its action)."""
    moment = now or datetime.now(UTC)
    window = read_window(aws.dynamodb(), settings.table_name, SWEEP_WEEKS)
    looking = Looking(settings, moment, read_heartbeat(settings.table_name, moment), window)
    health = ServiceHealth()
    for look in LOOKS:
        health.findings += look(looking)
    return health


def last_check(looking: Looking) -> list[Finding]:
    """When a check last completed, from its heartbeat; a problem once the check alarm's silence is exceeded."""
    beat, now = looking.heartbeat, looking.now
    if beat is None:
        return [
            Finding(
                "Last completed check",
                "none reported",
                "no check has reported completing (CheckSucceeded): start the Prefect worker, then run the weekly "
                "deployment once (docs/deploy.md, steps 6 and 7)",
            )
        ]
    since = now - beat.at
    value = f"{_when(beat.at)}, {_ago(since)} ago"
    if since <= CHECK_SILENCE:
        return [Finding("Last completed check", value)]
    return [
        Finding(
            "Last completed check",
            value,
            f"no check has completed for {_ago(since)} (the alarm fires after {_ago(CHECK_SILENCE)}): check the "
            "Prefect worker and its credentials, then run the weekly deployment once; falls stay safe for 14 days",
        )
    ]


def source_week(looking: Looking) -> list[Finding]:
    """The source's newest week as the checks stored it, and its age at the last check, which its alarm watches.

    Without a heartbeat, its age is counted to today.
    """
    if not looking.window.weeks:
        return [Finding("Source's newest week", "none stored", "the table holds no week: run the weekly deployment")]
    week = looking.window.weeks[-1].week
    beat = looking.heartbeat
    if beat is not None and beat.source_age_days is not None:
        # The week the last check saw: an older copy of the source is older than the table's newest week.
        age, when = beat.source_age_days, "at the last check"
        week = min(week, beat.at.astimezone(NEW_YORK).date() - timedelta(days=age))
    else:
        age, when = (looking.now.astimezone(NEW_YORK).date() - week).days, "today"
    value = f"{week}, {age} days old {when}"
    if age <= SOURCE_STALE_AFTER_DAYS:
        return [Finding("Source's newest week", value)]
    return [
        Finding(
            "Source's newest week",
            value,
            f"the source's newest week {week} is {age} days old {when} (the alarm fires after "
            f"{SOURCE_STALE_AFTER_DAYS}): if checks are completing, the dataset has stopped updating or moved; check "
            "https://data.ny.gov/d/wuxr-ni2i",
        )
    ]


def unsent_messages(looking: Looking) -> list[Finding]:
    """Told messages the sent ledger lacks, as the sweep works them out: unsent past the grace period is a problem."""
    found = outstanding(looking.window, looking.now, timedelta(seconds=SWEEP_GRACE_SECONDS))
    findings = []
    if found.due:
        findings.append(
            Finding(
                "Told messages unsent",
                f"{len(found.due)}: {_by_week(found.due)}",
                f"{len(found.due)} told messages are unsent after {SWEEP_GRACE_SECONDS // 60} minutes: run "
                "`gas-alerts sweep`; if it cannot send them, read the publisher's log group",
            )
        )
    else:
        findings.append(Finding("Told messages unsent", "none"))
    if found.in_flight or found.waiting:
        findings.append(
            Finding("Being delivered now", f"{len(found.in_flight) + len(found.waiting)} (the stream has them)")
        )
    findings += [
        Finding(
            "Unreadable item",
            line,
            f"an item cannot be read, so its alerts cannot be sent: {line}; correct or delete the item (its table "
            "and keys are named), then run `gas-alerts sweep`",
        )
        for line in found.malformed
    ]
    return findings


def dead_letters(looking: Looking) -> list[Finding]:
    """Stream batches waiting in the dead-letter queue."""
    settings = looking.settings
    attributes = aws.sqs().get_queue_attributes(
        QueueUrl=queue_url(settings.dead_letter_queue, "GAS_ALERTS_DLQ"),
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    waiting = sum(int(attributes.get(name, "0")) for name in attributes)
    if not waiting:
        return [Finding("Dead letters waiting", "none")]
    return [
        Finding(
            "Dead letters waiting",
            str(waiting),
            f"{waiting} stream batches used up their retries: run `gas-alerts redrive`",
        )
    ]


def subscriptions(looking: Looking) -> list[Finding]:
    """Each topic's subscriptions, confirmed and pending; the operator topic must have a confirmed one."""
    settings = looking.settings
    sns = aws.sns()
    findings = []
    topics = (
        ("Alert subscriptions", settings.topic_arn or find_topic_arn(sns, settings.topic_name), settings.topic_name),
        ("Digest subscriptions", find_topic_arn(sns, settings.digest_topic_name), settings.digest_topic_name),
        ("Operator subscriptions", find_topic_arn(sns, settings.operator_topic_name), settings.operator_topic_name),
    )
    for label, arn, name in topics:
        if arn is None:
            findings.append(Finding(label, f"topic {name} not found", f"the topic {name} does not exist: apply infra/"))
            continue
        entries = subscriptions_of(sns, arn)
        pending = sum(entry.status == PENDING for entry in entries)
        value = f"{len(entries) - pending} confirmed, {pending} pending confirmation"
        if label.startswith("Operator") and len(entries) == pending:
            problem = (
                "nobody receives the alarms: set alarm_emails in infra/ and apply, then click the link in the "
                "confirmation email"
            )
            findings.append(Finding(label, value, problem))
        else:
            findings.append(Finding(label, value))
    return findings


def alarms(looking: Looking) -> list[Finding]:
    """The state of each of the stack's alarms; one in ALARM is a problem, its description the next step."""
    settings = looking.settings
    prefix = f"{settings.name_prefix}-"
    # By prefix (one call), then by exact name: another stack's prefix may begin with this one's.
    names = {prefix + suffix for suffix in ALARM_SUFFIXES}
    found = [
        alarm
        for page in aws.cloudwatch().get_paginator("describe_alarms").paginate(AlarmNamePrefix=prefix)
        for alarm in page.get("MetricAlarms", [])
        if alarm["AlarmName"] in names
    ]
    if not found:
        return [
            Finding(
                "Alarms",
                f"none named {prefix}*",
                "no alarm watches the service, so nobody is told when a part stops: apply infra/ with Terraform",
            )
        ]
    local = is_loopback(aws.cloudwatch().meta.endpoint_url)
    findings = []
    for alarm in sorted(found, key=lambda item: item["AlarmName"]):
        state = alarm.get("StateValue", "INSUFFICIENT_DATA")
        shown = f"{state} (as made: a local AWS never evaluates alarms)" if local else state
        problem = (
            f"alarm {alarm['AlarmName']} is firing: {alarm.get('AlarmDescription', '')}" if state == "ALARM" else ""
        )
        findings.append(Finding(f"Alarm {alarm['AlarmName'].removeprefix(prefix)}", shown, problem))
    return findings


def read_heartbeat(table: str, now: datetime) -> Heartbeat | None:
    """The newest CheckSucceeded data point of this table's stack, with the SourceAgeDays put beside it."""
    for lookback, period in HEARTBEAT_LOOKBACK:
        series = _series(table, now - lookback, now + timedelta(minutes=5), period)
        checks = [moment for moment, value in series[METRIC_CHECK_SUCCEEDED] if value > 0]
        if checks:
            at = max(checks)
            ages = [value for moment, value in series[METRIC_SOURCE_AGE_DAYS] if moment == at]
            return Heartbeat(at, int(ages[0]) if ages else None)
    return None


def _series(table: str, start: datetime, end: datetime, period: int) -> dict[str, list[tuple[datetime, float]]]:
    """Each heartbeat metric's data points in the range, at the given period."""
    names = {"check": METRIC_CHECK_SUCCEEDED, "age": METRIC_SOURCE_AGE_DAYS}
    # Within one period, the freshest answer: checks of the same minute saw the same source or a newer one.
    statistics = {"check": "Maximum", "age": "Minimum"}
    queries: list[MetricDataQueryTypeDef] = [
        {
            "Id": query_id,
            "MetricStat": {
                "Metric": {
                    "Namespace": METRIC_NAMESPACE,
                    "MetricName": name,
                    "Dimensions": [{"Name": METRIC_DIMENSION, "Value": table}],
                },
                "Period": period,
                "Stat": statistics[query_id],
            },
        }
        for query_id, name in names.items()
    ]
    series: dict[str, list[tuple[datetime, float]]] = {name: [] for name in names.values()}
    pages = (
        aws.cloudwatch()
        .get_paginator("get_metric_data")
        .paginate(MetricDataQueries=queries, StartTime=start, EndTime=end)
    )
    for page in pages:
        for result in page.get("MetricDataResults", []):
            series[names[result["Id"]]] += list(
                zip(result.get("Timestamps", []), result.get("Values", []), strict=True)
            )
    return series


def _by_week(messages: Sequence[Message]) -> str:
    """'2026-11-23: Albany, digest; 2026-11-30: Utica' (regions by name)."""
    weeks: dict[date, list[str]] = {}
    for message in messages:
        name = message.ledger_name
        weeks.setdefault(message.week, []).append(REGION_BY_ID[name].name if name in REGION_BY_ID else name)
    return "; ".join(f"{week}: {', '.join(names)}" for week, names in sorted(weeks.items()))


def _when(moment: datetime) -> str:
    return moment.astimezone(NEW_YORK).strftime("%Y-%m-%d %H:%M New York time")


def _ago(span: timedelta) -> str:
    minutes = round(span.total_seconds() / 60)
    if minutes < 60:
        return f"{minutes} minute{'' if minutes == 1 else 's'}"
    hours = round(minutes / 60)
    return f"{hours} hours" if hours < 72 else f"{round(hours / 24)} days"


LOOKS: tuple[Callable[[Looking], list[Finding]], ...] = (
    last_check,
    source_week,
    unsent_messages,
    dead_letters,
    subscriptions,
    alarms,
)
