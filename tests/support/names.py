"""Resource names unique to one test, so tests sharing a moto server never see each other's data."""

from __future__ import annotations

import uuid
from pathlib import Path

from gas_alerts.settings import Settings


def unique_settings(prefix: str, outbox: Path, state_dir: Path) -> Settings:
    """Settings whose every resource name carries `prefix` and a fresh random suffix."""
    suffix = uuid.uuid4().hex[:8]
    return Settings(
        table_name=f"{prefix}prices-{suffix}",
        topic_name=f"{prefix}drops-{suffix}",
        topic_arn="",
        inbox_queue=f"{prefix}inbox-{suffix}",
        digest_topic_name=f"{prefix}digest-{suffix}",
        digest_inbox_queue=f"{prefix}digest-inbox-{suffix}",
        dead_letter_queue=f"{prefix}dlq-{suffix}",
        outbox=outbox,
        state_dir=state_dir,
        app_token=None,
        operator_topic_name=f"{prefix}operator-{suffix}",
    )
