"""Loggers that go to the Prefect run when there is one, and to standard logging otherwise."""

from __future__ import annotations

import logging
from typing import Any

from prefect import get_run_logger
from prefect.exceptions import MissingContextError


def run_logger(name: str = "gas_alerts") -> logging.Logger | logging.LoggerAdapter[Any]:
    """The current flow or task run's logger, or a plain logger when called outside a run (tests, scripts)."""
    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger(name)
