"""What a command checks before Prefect's embedded server starts (11 to 14 s): the token, AWS and the table, a file.

Each check takes a second at most, and a failure no retry can mend then ends the command at once, in one line.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from gas_alerts.compare import HISTORY_WEEKS
from gas_alerts.settings import Settings
from gas_alerts.source import is_url


def check_ready(
    settings: Settings,
    *,
    table: str,
    credentials_block: str | None,
    source: str,
    lookback: int,
    until: date | None = None,
) -> None:
    """Raise the failure a run would meet: a bad app token, no AWS, no table or a bad stored week, a bad file."""
    settings.source_token()
    from tasks.store import price_table

    # One Query with a Limit: the credentials, the endpoint, the table and the stored weeks, all at once.
    price_table(table, credentials_block).recent_weeks(HISTORY_WEEKS)
    if not is_url(source) and Path(source).is_file():
        from tasks.fetch import fetch_weeks

        fetch_weeks(source, lookback, until=until)
