"""The local outbox: alert emails written as .eml files that stay inside the outbox folder."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from gas_local.outbox import DeliveredAlert


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


def test_an_email_file_reads_as_plain_text(tmp_path: Path) -> None:
    """`cat` shows the cent sign and the body as the subscriber reads them: UTF-8 in 8 bits, not quoted-printable."""
    body = (
        "Regular gasoline in Albany fell 1¢ since 2026-02-16, in the week of Monday 23 February 2026.\n\n"
        "  Change:   -1¢ (-0.3%)"
    )
    alert = DeliveredAlert(
        message_id="m-1",
        subject="Gas fell 1 cent in Albany: $2.98/gal",
        body=body,
        attributes={"region": "albany", "drop_cents": "1"},
        sent_at=datetime(2026, 2, 25, 15, tzinfo=UTC),
    )

    text = alert.write_to(tmp_path).read_text(encoding="utf-8")

    assert "fell 1¢ since 2026-02-16" in text
    assert "=C2=A2" not in text
    assert "Content-Transfer-Encoding: 8bit" in text
