"""Alert emails as received by a subscriber: parsed from SNS envelopes and written as .eml files."""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from gas_publisher.contract import ATTR_DROP_CENTS, ATTR_LARGEST_DROP_CENTS, ATTR_REGION, ATTR_REGIONS_FALLEN

SENDER = "NY Gas Price Alerts <alerts@gas-alerts.invalid>"
RECIPIENT = "subscriber@gas-alerts.invalid"


def _safe(text: str) -> str:
    """Keep a message's own values from steering the file name: letters, digits, _ and - only."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", text)


class MalformedEnvelopeError(ValueError):
    """An inbox message is not an SNS notification envelope."""


@dataclass(frozen=True)
class DeliveredAlert:
    """One alert, or one weekly digest, as an email subscriber would receive it."""

    message_id: str
    subject: str
    body: str
    attributes: Mapping[str, str]
    sent_at: datetime
    # When the subscribed queue received it (SQS SentTimestamp, ms): what SNS's per-subscription rate is about.
    received_at_ms: int = 0

    @property
    def is_digest(self) -> bool:
        """Whether this is the weekly digest rather than one region's alert."""
        return ATTR_REGIONS_FALLEN in self.attributes

    @property
    def region(self) -> str:
        """The alert's region id; empty for a digest."""
        return self.attributes.get(ATTR_REGION, "")

    @property
    def drop_cents(self) -> str:
        """The alert's drop in cents (or the digest's largest drop)."""
        return self.attributes.get(ATTR_DROP_CENTS, self.attributes.get(ATTR_LARGEST_DROP_CENTS, ""))

    @classmethod
    def from_envelope(cls, text: str, received_at_ms: int = 0) -> DeliveredAlert:
        """Parse the JSON envelope SNS delivers to an SQS subscriber."""
        try:
            envelope: dict[str, Any] = json.loads(text)
            attributes = envelope.get("MessageAttributes", {})
            return cls(
                message_id=str(envelope["MessageId"]),
                subject=str(envelope.get("Subject", "")),
                body=str(envelope["Message"]),
                attributes={str(name): str(value.get("Value", "")) for name, value in attributes.items()},
                sent_at=datetime.fromisoformat(str(envelope["Timestamp"]).replace("Z", "+00:00")),
                received_at_ms=received_at_ms,
            )
        except (ValueError, KeyError, AttributeError, TypeError) as error:
            raise MalformedEnvelopeError(f"not an SNS notification: {error}") from None

    def to_email(self) -> EmailMessage:
        """The email an SNS email subscription would deliver, with the attributes as headers."""
        message = EmailMessage()
        message["From"] = SENDER
        message["To"] = RECIPIENT
        message["Subject"] = self.subject
        message["Date"] = format_datetime(self.sent_at)
        message["Message-ID"] = f"<{self.message_id}@gas-alerts.invalid>"
        for name, value in sorted(self.attributes.items()):
            message[f"X-Gas-{name.replace('_', '-').title()}"] = value
        # 8-bit UTF-8, not quoted-printable, so `cat` shows the text (1¢, not 1=C2=A2).
        message.set_content(self.body, cte="8bit")
        return message

    def write_to(self, outbox: Path) -> Path:
        """Write the email as an .eml file, atomically: a crash leaves the whole file or none; returns its path."""
        outbox.mkdir(parents=True, exist_ok=True)
        # The name depends only on the message, so a message handed over twice overwrites its own file.
        name = f"{self.sent_at:%Y%m%dT%H%M%S}-{_safe(self.region) or 'digest'}-{_safe(self.message_id)[:8]}.eml"
        path = outbox / name
        descriptor, temporary = tempfile.mkstemp(dir=outbox, prefix=".writing-", suffix=".tmp")
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(bytes(self.to_email()))
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return path
