"""`gas-alerts local up|down|status`: the whole stack on 127.0.0.1 with one command, and back down."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from gas_alerts.settings import Settings
from gas_cli.commands.common import console, errors
from gas_local.stack import LocalStack, Ports, StackError, demo_run_command


def _stack() -> LocalStack:
    return LocalStack(Path.cwd(), Settings.from_environment(), Ports.from_environment(), console.print)


def local_up() -> None:
    """Start a Prefect server (UI), moto, a process worker and the stream runner, and deploy prefect.yaml."""
    stack = _stack()
    console.print(f"Starting the local stack on 127.0.0.1 (about a minute with Terraform); logs in {stack.logs}")
    try:
        with console.status("starting…") as status:

            def step(message: str) -> None:
                console.print(f"  {message}", soft_wrap=True)
                status.update(message)

            stack.report = step
            state = stack.up()
    except StackError as error:
        errors.print(f"error: {error}")
        errors.print("Stop whatever did start with `make down`.")
        raise typer.Exit(1) from None
    api = stack.ports.prefect_api
    console.print(f"[bold]Local stack is up.[/bold] Prefect UI: {stack.ports.prefect_ui}", soft_wrap=True)
    console.print(f"AWS resources on moto made by {state.provisioned_by}", soft_wrap=True)
    console.print("Point `prefect` at the local server in your shell (copy this line):")
    console.print(f"  export PREFECT_API_URL={api}", soft_wrap=True)
    console.print("Then run the check on the worker, reading the bundled export as it stood a week later:")
    console.print(f"  {demo_run_command()}", soft_wrap=True)
    console.print(
        f"Its emails (three alerts and a digest) land in {stack.settings.outbox} within seconds. The daily schedule "
        "is paused; `prefect deployment schedule resume --all` turns it on. Stop everything with `make down`.",
        soft_wrap=True,
    )


def local_down() -> None:
    """Stop exactly the processes `local up` started (by their recorded PIDs)."""
    stopped = _stack().down()
    console.print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")


def local_status() -> None:
    """Say which stack processes run and whether the Prefect API and moto answer."""
    rows = _stack().status()
    if not rows:
        console.print("the local stack is not running (start it with `make up`)")
        return
    table = Table(show_header=False)
    for name, state in rows:
        table.add_row(name, state)
    console.print(table)
