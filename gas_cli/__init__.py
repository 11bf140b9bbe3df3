"""The `gas-alerts` command line: a Typer app whose commands sit on top of every other layer."""
