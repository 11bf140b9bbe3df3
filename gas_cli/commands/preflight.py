"""What a command checks before Prefect's embedded server starts (11 to 14 s): the token, AWS and the table, a file.

Each check takes a second at most, and a failure no retry can mend then ends the command at once, in one line. None
of them needs Prefect, so a command that fails here never imports it.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from gas_alerts import aws
from gas_alerts.compare import HISTORY_WEEKS
from gas_alerts.settings import Settings
from gas_alerts.source import is_url, read_weeks
from gas_alerts.store import PriceTable


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
    token = settings.source_token()
    # One Query with a Limit: the credentials, the endpoint, the table and the stored weeks, all at once.
    PriceTable(aws.dynamodb(credentials_block), table).recent_weeks(HISTORY_WEEKS)
    if not is_url(source) and Path(source).is_file():
        read_weeks(source, lookback, app_token=token, until=until)
