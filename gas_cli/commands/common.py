"""What every command shares: the consoles, region parsing, friendly errors and Prefect defaults."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.panel import Panel

from gas_publisher.contract import REGION_IDS, UnknownRegionError, known_regions

console = Console(highlight=False)
errors = Console(stderr=True, highlight=False, soft_wrap=True)

RegionsOption = Annotated[
    str | None,
    typer.Option(help=f"Comma-separated region ids (default: all 17). Known: {', '.join(REGION_IDS)}."),
]


def split_regions(value: str | None) -> list[str] | None:
    """Parse a comma-separated region list, rejecting unknown ids with the list of known ones."""
    if not value:
        return None
    try:
        return list(known_regions(part.strip() for part in value.split(",") if part.strip()))
    except UnknownRegionError as error:
        raise typer.BadParameter(str(error)) from None


def decimal_option(value: float | None) -> Decimal | None:
    """A CLI number as the exact decimal a person typed (3.00 stays 3.00, not 2.99999...)."""
    return None if value is None else Decimal(str(value))


@contextmanager
def friendly_errors() -> Iterator[None]:
    """Turn the product's expected failures into one clear line on stderr and exit status 1."""
    from botocore.exceptions import BotoCoreError, ClientError

    from gas_alerts.prices import SourceDataError
    from gas_alerts.source import SourceUnavailableError
    from gas_local.delivery import NotProvisionedError

    try:
        yield
    except SourceDataError as error:
        errors.print(f"error: the source data is invalid, nothing was written: {error}")
        raise typer.Exit(1) from None
    except (SourceUnavailableError, NotProvisionedError, ValueError) as error:
        errors.print(f"error: {error}")
        raise typer.Exit(1) from None
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        hint = (
            " (run `gas-alerts local provision`, or `terraform apply` in infra/)"
            if code == "ResourceNotFoundException"
            else ""
        )
        errors.print(f"error: AWS refused the call: {error}{hint}")
        raise typer.Exit(1) from None
    except BotoCoreError as error:
        errors.print(f"error: could not reach AWS: {error}")
        raise typer.Exit(1) from None


def prefect_defaults(*, quiet: bool) -> None:
    """Settings for Prefect's embedded server that suit a terminal command (only where the user set none)."""
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    if quiet:
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")


def show_alert(alert_subject: str, body: str, path: Path) -> None:
    """Print one alert email the way a subscriber would read it."""
    console.print(Panel(body, title=f"[bold]{alert_subject}[/bold]", subtitle=str(path), expand=False))
