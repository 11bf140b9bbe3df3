"""Resource names and local folders, each with a default and an environment variable to override it."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

# (environment variable, default, what it names): `gas-alerts --help` lists them from this.
ENVIRONMENT: tuple[tuple[str, str, str], ...] = (
    ("GAS_ALERTS_TABLE", "gas-alerts-prices", "DynamoDB table holding the weekly prices"),
    ("GAS_ALERTS_TOPIC", "gas-alerts-price-drops", "SNS topic the alerts are published to"),
    ("GAS_ALERTS_TOPIC_ARN", "", "the topic's ARN, when it cannot be looked up by name"),
    ("GAS_ALERTS_DIGEST_TOPIC", "gas-alerts-weekly-digest", "SNS topic the weekly digest is published to"),
    ("GAS_ALERTS_INBOX_QUEUE", "gas-alerts-inbox", "local SQS queue subscribed to the topic"),
    ("GAS_ALERTS_DIGEST_INBOX", "gas-alerts-digest-inbox", "local SQS queue subscribed to the digest topic"),
    ("GAS_ALERTS_DLQ", "gas-alerts-publisher-dlq", "SQS queue for stream batches that kept failing"),
    ("GAS_ALERTS_OPERATOR_TOPIC", "gas-alerts-operator", "SNS topic the alarms email the operator through"),
    ("GAS_ALERTS_OUTBOX", "outbox", "folder the local delivery writes .eml files to"),
    ("GAS_ALERTS_STATE_DIR", ".gas-alerts", "folder for the stream checkpoint and local logs"),
    ("SOCRATA_APP_TOKEN", "", "optional Socrata app token, sent as X-App-Token, never logged"),
)
DEFAULT_AWS_REGION = "us-east-1"
# An app token travels as a header value: printable ASCII, no whitespace.
APP_TOKEN_PATTERN = re.compile(r"[!-~]+")
NEWLINE_REMOVED_NOTE = "SOCRATA_APP_TOKEN ended with a newline; it was removed"
INVALID_APP_KEY_NOTE = (
    "SOCRATA_APP_TOKEN is not a valid app token: it must be printable ASCII without spaces "
    "(its value is not shown); correct or unset it"
)


class AppTokenError(ValueError):
    """SOCRATA_APP_TOKEN cannot be sent as a header; the message never holds its value."""


@dataclass(frozen=True)
class Settings:
    """Where the product's resources and local files are."""

    table_name: str
    topic_name: str
    topic_arn: str
    inbox_queue: str
    digest_topic_name: str
    digest_inbox_queue: str
    dead_letter_queue: str
    outbox: Path
    state_dir: Path
    app_token: str | None
    # What is wrong with SOCRATA_APP_TOKEN (then app_token is None), or what was mended in it; '' when nothing.
    app_token_note: str = ""
    app_token_invalid: bool = False
    operator_topic_name: str = "gas-alerts-operator"

    @property
    def name_prefix(self) -> str:
        """The stack's name prefix (infra/'s name_prefix): the table's name less its "-prices" suffix."""
        return self.table_name.removesuffix("-prices")

    def source_token(self) -> str | None:
        """The app token to send, or AppTokenError when the one set cannot be a header value."""
        if self.app_token_invalid:
            raise AppTokenError(INVALID_APP_KEY_NOTE)
        return self.app_token

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        """Read the settings, taking each default when its variable is unset or empty."""
        value = {name: environ.get(name) or default for name, default, _ in ENVIRONMENT}
        token, note, invalid = _clean_token(value["SOCRATA_APP_TOKEN"])
        return cls(
            table_name=value["GAS_ALERTS_TABLE"],
            topic_name=value["GAS_ALERTS_TOPIC"],
            topic_arn=value["GAS_ALERTS_TOPIC_ARN"],
            inbox_queue=value["GAS_ALERTS_INBOX_QUEUE"],
            digest_topic_name=value["GAS_ALERTS_DIGEST_TOPIC"],
            digest_inbox_queue=value["GAS_ALERTS_DIGEST_INBOX"],
            dead_letter_queue=value["GAS_ALERTS_DLQ"],
            outbox=Path(value["GAS_ALERTS_OUTBOX"]).resolve(),
            state_dir=Path(value["GAS_ALERTS_STATE_DIR"]).resolve(),
            app_token=token,
            app_token_note=note,
            app_token_invalid=invalid,
            operator_topic_name=value["GAS_ALERTS_OPERATOR_TOPIC"],
        )

    def to_environment(self) -> dict[str, str]:
        """The GAS_ALERTS_* variables that give another process these settings (the app token is left out)."""
        return {
            "GAS_ALERTS_TABLE": self.table_name,
            "GAS_ALERTS_TOPIC": self.topic_name,
            "GAS_ALERTS_INBOX_QUEUE": self.inbox_queue,
            "GAS_ALERTS_DIGEST_TOPIC": self.digest_topic_name,
            "GAS_ALERTS_DIGEST_INBOX": self.digest_inbox_queue,
            "GAS_ALERTS_DLQ": self.dead_letter_queue,
            "GAS_ALERTS_OPERATOR_TOPIC": self.operator_topic_name,
            "GAS_ALERTS_OUTBOX": str(self.outbox),
            "GAS_ALERTS_STATE_DIR": str(self.state_dir),
        }


def _clean_token(raw: str) -> tuple[str | None, str, bool]:
    """The token without the newline a file or a shell may add; whether it can be sent at all."""
    if not raw:
        return None, "", False
    trimmed = raw.rstrip("\r\n")
    if not APP_TOKEN_PATTERN.fullmatch(trimmed):
        return None, INVALID_APP_KEY_NOTE, True
    return trimmed, NEWLINE_REMOVED_NOTE if trimmed != raw else "", False
