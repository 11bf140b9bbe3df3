"""The local outbox: alert emails written as .eml files that stay inside the outbox folder."""

from __future__ import annotations

import json
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
