"""What every command shares: the consoles, region parsing, friendly errors and Prefect defaults."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, NoReturn

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
def friendly_errors(*, verbose: bool = False, table: str = "") -> Iterator[None]:
    """Turn any failure into one line on stderr and exit status 1: the problem, and the next step where known.

    A failure the product knows reads as its own line; any other reads as its type and first line, and --verbose
    shows its traceback instead.
    """
    from gas_alerts.failures import one_line
    from gas_ops.resources import NotProvisionedError

    try:
        yield
    except (typer.TyperException, typer.Exit, typer.Abort, KeyboardInterrupt):
        raise
    except Exception as error:
        line = one_line(error, table)
        if line is None and isinstance(error, NotProvisionedError | ValueError):
            line = str(error)
        if line is None:
            if verbose:
                raise
            first = (str(error).strip().splitlines() or [""])[0][:300]
            line = f"{type(error).__name__}: {first} (run again with --verbose for the details)"
        fail(line)


def fail(line: str) -> NoReturn:
    """Print one error line and exit with status 1."""
    errors.print(f"error: {line}", soft_wrap=True)
    raise typer.Exit(1)


def warn(line: str) -> None:
    """Print one warning line."""
    errors.print(f"warning: {line}", soft_wrap=True)


def prefect_defaults(*, quiet: bool) -> None:
    """Settings for Prefect's embedded server that suit a terminal command (only where the user set none).

    Quiet, Prefect's own lines (its server's start, each task's state, tracebacks) stay out of the terminal: the
    command prints what happened itself, and a failure as one line.
    """
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    if quiet:
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "CRITICAL")


def finished(state: Any) -> Any:
    """A flow run's result, or its one line and exit status 1 when it failed."""
    if state.is_failed() or state.is_crashed() or state.is_cancelled():
        fail(state.message or f"the flow run ended {state.type.value.lower()}")
    return state.result()


def show_alert(alert_subject: str, body: str, path: Path) -> None:
    """Print one alert email the way a subscriber would read it."""
    console.print(Panel(body, title=f"[bold]{alert_subject}[/bold]", subtitle=str(path), expand=False))
