"""Allows `python -m gas_cli`."""

from gas_cli.app import main

main()
