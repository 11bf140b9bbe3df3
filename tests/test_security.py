"""Security: no secrets in the repository or the logs, hostile input refused, security lint in `make test`."""

from __future__ import annotations

import copy
import json
import logging
import re
import secrets
import string
import subprocess
import tomllib
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import boto3
import pytest
from typer.testing import CliRunner

from flows.check_prices import check_gas_prices, resolve_regions
from gas_alerts import aws, redaction
from gas_alerts.cli import app
from gas_alerts.filter_policy import filter_policy
from gas_alerts.local.provision import ensure_table
from gas_alerts.local.socrata import local_socrata
from gas_alerts.outbox import DeliveredAlert
from gas_alerts.prices import SourceDataError, parse_rows
from gas_alerts.settings import Settings
from gas_publisher.contract import REGION_IDS
from gas_publisher.handler import process_batch
from tests.factories import TODAY, api_row, uniform_row
from tests.test_faults_publisher import ALERT_IMAGE, offline_publisher

ROOT = Path(__file__).resolve().parents[1]

# ---- no credentials or personal addresses in the tracked files --------------------------------------------------

LEAK_PATTERNS = {
    "AWS access key id": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "AWS secret key": re.compile(
        r"(?i)(?:secret|aws_secret_access_key|password|credential)[\w-]*['\"]?\s*[:=]\s*['\"]?"
        r"(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])"
    ),
    "private key": re.compile(r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY( BLOCK)?-----"),
}
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)")
# Domains reserved for documentation and testing (RFC 2606, RFC 6761) cannot belong to a person.
RESERVED_DOMAINS = re.compile(r"(?i)(^|\.)(example\.(com|org|net)|example|invalid|test|localhost)$")


def leaks(text: str) -> list[str]:
    """What in this text looks like a credential or a personal email address."""
    found = [kind for kind, pattern in LEAK_PATTERNS.items() if pattern.search(text)]
    found += [f"email @{m[1]}" for m in EMAIL.finditer(text) if not RESERVED_DOMAINS.search(m[1])]
    return found


def tracked_files() -> list[Path]:
    listing = subprocess.run(
        ["git", "ls-files", "-z"],  # noqa: S607 (git from PATH, as a developer runs it)
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return [ROOT / name for name in listing.split("\0") if name and (ROOT / name).is_file()]


def test_tracked_files_hold_no_credentials_or_personal_email_addresses() -> None:
    """No tracked file holds an AWS key id, a secret key, a private key, or an address outside reserved domains."""
    files = tracked_files()
    found = {}
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # binary
        if hits := leaks(text):
            found[str(path.relative_to(ROOT))] = hits
    assert len(files) > 50, "the scan must see the repository"
    assert found == {}


def _fake(alphabet: str, size: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(size))


@pytest.mark.parametrize(
    ("planted", "kind"),
    [
        pytest.param(
            f"key = {'AKIA' + _fake(string.ascii_uppercase + string.digits, 16)}", "AWS access key id", id="akia"
        ),
        pytest.param(f"{'ASIA' + _fake(string.ascii_uppercase, 16)}", "AWS access key id", id="asia"),
        pytest.param(
            f'aws_secret_access_key = "{_fake(string.ascii_letters + string.digits + "/+", 40)}"',
            "AWS secret key",
            id="secret-key",
        ),
        pytest.param("-----BEGIN " + "RSA PRIVATE KEY-----\nMIIE", "private key", id="private-key"),
        pytest.param("-----BEGIN " + "OPENSSH PRIVATE KEY-----", "private key", id="openssh-key"),
        pytest.param("mail jane.doe" + "@gmail.com for access", "email @gmail.com", id="personal-email"),
    ],
)
def test_the_scan_finds_each_kind_of_leak(planted: str, kind: str) -> None:
    """The scan is not vacuous: a planted key, private key or personal address is reported by kind."""
    assert kind in leaks(f"some text\n{planted}\nmore text")


@pytest.mark.parametrize(
    "harmless",
    [
        "subscriber@gas-alerts.invalid",
        "you@example.com",
        "ops@alerts.example",
        "AWS_SECRET_ACCESS_KEY=testing",
        "the (?:AKIA|ASIA)[0-9A-Z]{16} pattern",
        "sha256 = 9f2c1b7e5a3d4c6b8a0e1f2d3c4b5a69788796a5b4c3d2e1f0a9b8c7d6e5f4a3",
    ],
)
def test_the_scan_lets_reserved_domains_and_fakes_pass(harmless: str) -> None:
    """Addresses in reserved domains, moto's fake keys, the pattern itself and hashes are not leaks."""
    assert leaks(harmless) == []


# ---- secrets never reach a log line -------------------------------------------------------------------------------


@pytest.fixture
def redacting() -> Iterator[None]:
    """Log redaction installed for the test, and the previous record factory restored afterwards."""
    redaction.install_log_redaction()
    yield
    redaction.uninstall_log_redaction()


@pytest.fixture
def fake_secrets(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Random credentials in the environment, made up per test (nothing real, nothing fixed in the source)."""
    values = {
        "SOCRATA_APP_TOKEN": _fake(string.ascii_letters + string.digits, 25),
        "AWS_ACCESS_KEY_ID": "ASIA" + _fake(string.ascii_uppercase + string.digits, 16),
        "AWS_SECRET_ACCESS_KEY": _fake(string.ascii_letters + string.digits + "/+", 40),
        "AWS_SESSION_TOKEN": _fake(string.ascii_letters + string.digits + "/+=", 300),
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


def captured_text(caplog: pytest.LogCaptureFixture) -> str:
    """Everything the records would print, tracebacks included, as a handler formats them."""
    formatter = logging.Formatter("%(levelname)s %(name)s %(message)s")
    return "\n".join(formatter.format(record) for record in caplog.records)


@pytest.mark.usefixtures("redacting")
def test_secrets_in_messages_arguments_and_tracebacks_are_masked(
    fake_secrets: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    """The token and keys are masked whether they sit in the message, its arguments or an exception's text."""
    logger = logging.getLogger("gas_alerts.security_test")
    token, key_id, secret = (
        fake_secrets["SOCRATA_APP_TOKEN"],
        fake_secrets["AWS_ACCESS_KEY_ID"],
        fake_secrets["AWS_SECRET_ACCESS_KEY"],
    )
    with caplog.at_level(logging.DEBUG):
        logger.info("headers: {'X-App-Token': '%s'}", token)
        logger.warning("credentials %s / %s", key_id, secret)
        logger.info("GET https://data.ny.gov/resource/wuxr-ni2i.json?$$app_token=%s&$limit=8", "anothertoken42")
        try:
            raise RuntimeError(f"AWS refused {key_id}")
        except RuntimeError:
            logger.exception("call failed")

    text = captured_text(caplog)
    for value in (*fake_secrets.values(), "anothertoken42"):
        assert value not in text
    assert text.count(redaction.MASK) >= 5
    assert "call failed" in text
    assert "RuntimeError: AWS refused [REDACTED]" in text


@pytest.mark.usefixtures("redacting")
def test_messages_without_secrets_are_left_alone(caplog: pytest.LogCaptureFixture) -> None:
    """A line holding no secret keeps its message and arguments untouched (moto's short fake keys stay as they are)."""
    logger = logging.getLogger("gas_alerts.security_test")
    with caplog.at_level(logging.INFO):
        logger.info("Week %s: %d alerts, key %s", date(2026, 3, 2), 3, "testing")
    [record] = caplog.records
    assert (record.msg, record.args) == ("Week %s: %d alerts, key %s", (date(2026, 3, 2), 3, "testing"))


@pytest.mark.parametrize("redacted", [True, False], ids=["redaction-installed", "control-without-redaction"])
def test_botocore_debug_logging_of_a_real_call_shows_no_session_token(
    moto_endpoint: str, fake_secrets: dict[str, str], caplog: pytest.LogCaptureFixture, redacted: bool
) -> None:
    """At DEBUG, botocore logs the signed request; with redaction its key id and session token are masked."""
    redaction.uninstall_log_redaction()  # an earlier flow run in this process may have installed it
    if redacted:
        redaction.install_log_redaction()
    try:
        client = boto3.session.Session().client("dynamodb", endpoint_url=moto_endpoint, region_name="us-east-1")
        with caplog.at_level(logging.DEBUG, logger="botocore"):
            client.list_tables()
    finally:
        redaction.uninstall_log_redaction()

    text = captured_text(caplog)
    leaked = [name for name in ("AWS_SESSION_TOKEN", "AWS_ACCESS_KEY_ID") if fake_secrets[name] in text]
    assert "X-Amz-Security-Token" in text
    assert leaked == ([] if redacted else ["AWS_SESSION_TOKEN", "AWS_ACCESS_KEY_ID"])
    assert fake_secrets["AWS_SECRET_ACCESS_KEY"] not in text


@pytest.mark.prefect
@pytest.mark.usefixtures("prefect_server")
def test_the_flow_installs_the_redaction_before_anything_else(tmp_path: Path) -> None:
    """A flow run, even one that fails at once, leaves log redaction installed for the rest of the process."""
    redaction.uninstall_log_redaction()
    try:
        state = check_gas_prices(source=str(tmp_path / "missing.csv"), regions=["nowhere"], return_state=True)
        assert state.is_failed()
        assert redaction.is_installed()
    finally:
        redaction.uninstall_log_redaction()


# ---- hostile input ------------------------------------------------------------------------------------------------

HOSTILE_REGIONS = [
    "<script>alert(1)</script>",
    "../../etc/passwd",
    "new_york_city ",
    "New_York_City",
    "new_york_city\u200b",
    'albany"}',
    "albany\nregion: nassau",
    "",
    "x" * 10_000,
]


@pytest.mark.parametrize("place", ["drops", "prices", "previous_prices"])
@pytest.mark.parametrize("region", HOSTILE_REGIONS, ids=range(len(HOSTILE_REGIONS)))
def test_a_hostile_region_in_a_stream_image_is_refused(
    place: str, region: str, caplog: pytest.LogCaptureFixture
) -> None:
    """An unknown region name anywhere in an alert image skips the record: no message, no attribute, no key."""
    image: dict[str, Any] = copy.deepcopy(ALERT_IMAGE)
    if place == "drops":
        image["drops"]["L"].append({"S": region})
    else:
        image[place]["M"][region] = {"N": "3.00"}
    publisher, sns = offline_publisher()

    with caplog.at_level(logging.INFO, logger="gas_publisher"):
        response = process_batch(
            {"Records": [{"eventName": "INSERT", "dynamodb": {"SequenceNumber": "1", "NewImage": image}}]}, publisher
        )

    assert (response, sns.entries) == ({"batchItemFailures": []}, [])
    [line] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("skip record")]
    assert f"{place} names an unknown region" in line
    assert len(line) < 200, "a hostile name is quoted only in part"


def test_the_untouched_image_does_publish() -> None:
    """The image the hostile variants start from is a valid alert, so the refusals above are about the region."""
    publisher, sns = offline_publisher()
    process_batch(
        {"Records": [{"eventName": "INSERT", "dynamodb": {"SequenceNumber": "1", "NewImage": ALERT_IMAGE}}]}, publisher
    )
    assert sorted(entry["MessageAttributes"]["region"]["StringValue"] for entry in sns.entries) == [
        "albany",
        "new_york_city",
    ]


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
        pytest.param(api_row(date(2026, 11, 23), albany="1e3"), "outside the plausible range", id="exponent-price"),
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


@pytest.mark.parametrize("region", HOSTILE_REGIONS, ids=range(len(HOSTILE_REGIONS)))
def test_hostile_region_parameters_are_refused_by_the_flow_and_the_policy(region: str) -> None:
    """The flow's regions parameter and a subscriber's filter policy accept only the known region ids."""
    with pytest.raises(ValueError, match="unknown region"):
        resolve_regions(["albany", region])
    with pytest.raises(ValueError, match="unknown region"):
        filter_policy(["albany", region])


@pytest.mark.parametrize("command", [["check"], ["local", "provision"]])
def test_hostile_region_options_are_refused_by_the_cli(command: list[str]) -> None:
    """`--regions` with an unknown name exits with a usage error before anything runs."""
    result = CliRunner().invoke(app, [*command, "--regions", "albany,<script>"])
    assert result.exit_code == 2
    assert "unknown region(s): <script>" in result.output


@pytest.mark.prefect
@pytest.mark.usefixtures("prefect_server")
def test_a_flow_run_with_a_hostile_region_fails_before_fetching_or_writing(settings: Settings) -> None:
    """A flow run asked for an unknown region ends Failed naming it, with no request to the source and no write."""
    ensure_table(aws.dynamodb(), settings.table_name)
    with local_socrata([uniform_row(date(2026, 11, 23), "3.10")]) as socrata:
        state = check_gas_prices(
            source=socrata.url, regions=["albany", "x') OR 1=1"], table_name=settings.table_name, return_state=True
        )
        assert socrata.requests == []
    assert state.is_failed()
    assert "unknown region(s): x') OR 1=1" in (state.message or "")
    assert aws.dynamodb().scan(TableName=settings.table_name)["Count"] == 0


# ---- the security lint runs in `make test` ------------------------------------------------------------------------


def test_make_test_runs_ruff_with_bandit_rules_and_strict_mypy() -> None:
    """`make test` (what CI runs) lints with flake8-bandit's S rules, none ignored outside tests, and mypy --strict."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    lint = config["tool"]["ruff"]["lint"]
    assert "S" in lint["select"]
    assert not [rule for rule in lint["ignore"] if rule.startswith("S")]
    assert {path for path, rules in lint["per-file-ignores"].items() if any(r.startswith("S") for r in rules)} == {
        "tests/**"
    }
    assert config["tool"]["mypy"]["strict"] is True
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^test: lint typecheck\b", makefile, re.MULTILINE)
    assert "$(VENV)/bin/ruff check ." in makefile
    assert re.search(r"^typecheck:.*\n\t\$\(VENV\)/bin/mypy$", makefile, re.MULTILINE)
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_outbox_file_names_cannot_leave_the_outbox(tmp_path: Path) -> None:
    """A message whose attributes hold path characters is still written inside the outbox folder."""
    envelope = json.dumps(
        {
            "MessageId": "../../etc/x",
            "Subject": "s",
            "Message": "b",
            "Timestamp": "2026-11-25T10:00:00.000Z",
            "MessageAttributes": {"region": {"Type": "String", "Value": "../../../tmp/evil"}},
        }
    )
    path = DeliveredAlert.from_envelope(envelope).write_to(tmp_path / "outbox")
    assert path.parent == tmp_path / "outbox"
    assert ".." not in path.name
