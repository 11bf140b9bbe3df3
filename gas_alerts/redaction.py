"""Masks secrets in every log record of the process: the Socrata app token, AWS keys and session tokens."""

from __future__ import annotations

import logging
import os
import re
import threading
import traceback
from collections.abc import Callable
from typing import Any

MASK = "[REDACTED]"
# The environment variables whose values are secrets wherever they show up.
SECRET_VARIABLES = (
    "SOCRATA_APP_TOKEN",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
)
# Shorter values (moto's fake key "testing") would mask ordinary words in every line; real ones are 20+ characters.
MIN_SECRET_LENGTH = 8
_NAMES = (
    r"x-app-token|\$\$app_token|app_token|x-amz-security-token|aws_secret_access_key|secret_access_key"
    r"|secretaccesskey|aws_session_token|session_token|sessiontoken"
)
# (pattern, replacement): AWS access key ids (long-term AKIA, temporary ASIA); a secret-looking name followed by
# its value, as in headers, query strings, reprs and JSON; and the same in XML, as in an STS response body.
SECRET_PATTERNS = (
    (re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), MASK),
    (re.compile(rf"(?i)({_NAMES})(['\"]?\s*[:=]\s*b?['\"]?)[^'\"\s,;&}}]+"), rf"\1\2{MASK}"),
    (re.compile(r"(?i)(<(SecretAccessKey|SessionToken)>)[^<]+"), rf"\1{MASK}"),
)

_lock = threading.Lock()


def redact(text: str) -> str:
    """The text with every known secret value and every secret-looking key or token masked."""
    secrets = {os.environ.get(name, "") for name in SECRET_VARIABLES}
    for secret in sorted((s for s in secrets if len(s) >= MIN_SECRET_LENGTH), key=len, reverse=True):
        text = text.replace(secret, MASK)
    for pattern, replacement in SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class _RedactingFactory:
    """A log record factory that builds the record as before, then masks secrets in its text."""

    def __init__(self, previous: Callable[..., logging.LogRecord]) -> None:
        self.previous = previous

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record: logging.LogRecord = self.previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a bad format string is the handler's to report, exactly as without redaction
            return record
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and record.exc_info[0] is not None:
            text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
            if redact(text) != text:
                record.exc_text = redact(text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return record


def install_log_redaction() -> None:
    """Mask secrets in every log record created from now on, whatever logger or handler it goes to."""
    with _lock:
        current = logging.getLogRecordFactory()
        if not isinstance(current, _RedactingFactory):
            logging.setLogRecordFactory(_RedactingFactory(current))


def uninstall_log_redaction() -> None:
    """Restore the record factory that was in place before install_log_redaction()."""
    with _lock:
        current = logging.getLogRecordFactory()
        if isinstance(current, _RedactingFactory):
            logging.setLogRecordFactory(current.previous)


def is_installed() -> bool:
    """Whether log records are being redacted."""
    return isinstance(logging.getLogRecordFactory(), _RedactingFactory)
