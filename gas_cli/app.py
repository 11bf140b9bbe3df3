"""The `gas-alerts` command: the Typer app and where each subcommand is registered."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import typer
from typer.core import TyperGroup

from gas_alerts.redaction import install_log_redaction
from gas_alerts.settings import ENVIRONMENT
from gas_cli.commands import history, local, operate, stack, weekly


class OneLineErrors(TyperGroup):
    """A command line whose usage errors are one line: what is wrong, and where the help is."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        """Run the command; a usage error prints 'error: ...' on one line and exits with status 2."""
        try:
            result = super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        except typer.Abort:
            typer.echo("Aborted.", err=True)
            sys.exit(1)
        except typer.TyperException as error:
            if type(error).__name__ == "NoArgsIsHelpError":
                error.show()  # type: ignore[attr-defined]  # a bare command shows its help
            else:
                context = getattr(error, "ctx", None)
                where = f" (see `{context.command_path} --help`)" if context is not None else ""
                typer.echo(f"error: {error.format_message()}{where}", err=True)
            sys.exit(getattr(error, "exit_code", 2))
        if not standalone_mode:
            return result
        sys.exit(result if isinstance(result, int) else 0)


ENVIRONMENT_HELP = "\n\n".join(f"{name} (default: {default or 'unset'}): {what}" for name, default, what in ENVIRONMENT)
app = typer.Typer(
    cls=OneLineErrors,
    help="Email alerts when New York gasoline prices fall.\n\n"
    "Environment variables override resource names:\n\n" + ENVIRONMENT_HELP,
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)
local_app = typer.Typer(
    cls=OneLineErrors,
    help="Local stand-ins for AWS pieces (works against moto, LocalStack or any AWS_ENDPOINT_URL).",
    no_args_is_help=True,
)
app.add_typer(local_app, name="local")

app.command()(weekly.demo)
app.command()(weekly.check)
app.command()(history.backfill)
app.command()(history.replay)
app.command()(operate.status)
app.command()(operate.sweep)
app.command()(operate.redrive)
app.command()(operate.subscribers)
app.command("send-test")(operate.send_test)
local_app.command("provision")(local.local_provision)
local_app.command("deliver")(local.local_deliver)
local_app.command("schedule")(local.local_schedule)
local_app.command("up")(stack.local_up)
local_app.command("down")(stack.local_down)
local_app.command("status")(stack.local_status)


@app.callback()
def _every_command() -> None:
    """Mask tokens and keys in every log line before any command runs."""
    install_log_redaction()


def main() -> None:
    """Entry point for `python -m gas_alerts`."""
    app(prog_name="gas-alerts")
