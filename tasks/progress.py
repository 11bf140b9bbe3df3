"""Progress of a backfill's writes: to listeners in this process (a terminal bar) and to a Prefect artifact."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import cast
from uuid import UUID

from prefect.context import FlowRunContext, TaskRunContext

PROGRESS_ARTIFACT_KEY = "gas-prices-backfill-progress"
# Each artifact update is an API call to Prefect; a few per second are plenty for a person watching.
ARTIFACT_UPDATE_INTERVAL = 0.5

# (weeks written so far, weeks to write)
ProgressListener = Callable[[int, int], None]

# The flow's parameters must stay plain values for its deployment, so a terminal listens here instead.
_listeners: list[ProgressListener] = []


@contextmanager
def listening_to_progress(listener: ProgressListener) -> Iterator[None]:
    """Call `listener(done, total)` whenever a backfill in this process writes a batch."""
    _listeners.append(listener)
    try:
        yield
    finally:
        _listeners.remove(listener)


def _tell_listeners(done: int, total: int) -> None:
    for listener in list(_listeners):
        listener(done, total)


class WriteProgress:
    """Progress of the writes: to terminal listeners always, and to a Prefect progress artifact inside a run."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0
        self._shown_at = time.monotonic()
        self._artifact: UUID | None = None
        if FlowRunContext.get() is not None or TaskRunContext.get() is not None:
            from prefect.artifacts import create_progress_artifact

            # Called from sync code, Prefect's dual sync/async function returns the id, not a coroutine.
            self._artifact = cast(
                "UUID",
                create_progress_artifact(
                    0.0 if total else 100.0,
                    key=PROGRESS_ARTIFACT_KEY,
                    description=f"Backfill: writing {total} weeks to the price table",
                ),
            )
        _tell_listeners(0, total)

    @property
    def percent(self) -> float:
        """How much is written, 0 to 100."""
        return 100.0 * self.done / self.total if self.total else 100.0

    def advance(self, written: int) -> None:
        """Count a written batch."""
        self.done += written
        _tell_listeners(self.done, self.total)
        if time.monotonic() - self._shown_at >= ARTIFACT_UPDATE_INTERVAL:
            self._update_artifact()

    def finish(self) -> None:
        """Show the final figure."""
        self._update_artifact()

    def _update_artifact(self) -> None:
        self._shown_at = time.monotonic()
        if self._artifact is not None:
            from prefect.artifacts import update_progress_artifact

            update_progress_artifact(self._artifact, self.percent)
