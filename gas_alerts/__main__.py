"""Allows `python -m gas_alerts`."""

from gas_alerts.cli import main

main()
