"""The subcommands of `gas-alerts`, one module per group."""
