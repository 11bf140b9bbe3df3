"""Secrets never reach a log line: the app token, AWS key ids, secret keys and session tokens are masked."""

from __future__ import annotations

import logging
import secrets
import string
from collections.abc import Iterator
from datetime import date

import boto3
import pytest

from gas_alerts import redaction


def _fake(alphabet: str, size: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(size))


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
