"""Resource names and local folders, each with a default and an environment variable to override it."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

# (environment variable, default, what it names) — the README's table is written from this.
ENVIRONMENT: tuple[tuple[str, str, str], ...] = (
    ("GAS_ALERTS_TABLE", "gas-alerts-prices", "DynamoDB table holding the weekly prices"),
    ("GAS_ALERTS_TOPIC", "gas-alerts-price-drops", "SNS topic the alerts are published to"),
    ("GAS_ALERTS_TOPIC_ARN", "", "the topic's ARN, when it cannot be looked up by name"),
    ("GAS_ALERTS_DIGEST_TOPIC", "gas-alerts-weekly-digest", "SNS topic the weekly digest is published to"),
    ("GAS_ALERTS_INBOX_QUEUE", "gas-alerts-inbox", "local SQS queue subscribed to the topic"),
    ("GAS_ALERTS_DIGEST_INBOX", "gas-alerts-digest-inbox", "local SQS queue subscribed to the digest topic"),
    ("GAS_ALERTS_DLQ", "gas-alerts-publisher-dlq", "SQS queue for stream batches that kept failing"),
    ("GAS_ALERTS_OUTBOX", "outbox", "folder the local delivery writes .eml files to"),
    ("GAS_ALERTS_STATE_DIR", ".gas-alerts", "folder for the stream checkpoint and local logs"),
    ("SOCRATA_APP_TOKEN", "", "optional Socrata app token, sent as X-App-Token, never logged"),
)
DEFAULT_AWS_REGION = "us-east-1"


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

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        """Read the settings, taking each default when its variable is unset or empty."""
        value = {name: environ.get(name) or default for name, default, _ in ENVIRONMENT}
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
            app_token=value["SOCRATA_APP_TOKEN"] or None,
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
            "GAS_ALERTS_OUTBOX": str(self.outbox),
            "GAS_ALERTS_STATE_DIR": str(self.state_dir),
        }
