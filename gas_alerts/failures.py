"""Which failures no retry can mend, and the one line a person reads for each: the problem and the next step.

Transient failures (throttling, 5xx, timeouts, a reset connection, an unreachable remote source) are retried where
they happen. Permanent ones (no credentials, access denied, a missing table or topic, nothing listening on a local
endpoint, bad data or stored items, a bad app token) end the command or the flow run at once with their line.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from functools import lru_cache
from urllib.parse import urlsplit

import botocore.session
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    CredentialRetrievalError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
)

from gas_alerts.prices import SourceDataError
from gas_alerts.settings import AppTokenError
from gas_alerts.source import SourceUnavailableError

OFFLINE_SOURCE = "data/ny_gas_prices_weekly_2017_2026.csv"
NO_CREDENTIALS = (
    "no AWS credentials: set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) for AWS, "
    "or AWS_ENDPOINT_URL for a local AWS started with `make up`; or try `make demo`"
)
# Error codes AWS answers that no retry changes.
DENIED = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "ExpiredTokenException",
        "KMSAccessDeniedException",
        "AuthorizationError",
    }
)
# AWS names the refused action in its message ("... is not authorized to perform: dynamodb:Query on resource ...").
REFUSED_ACTION = re.compile(r"not authorized to perform:? (?P<action>[a-z0-9-]+:[A-Za-z0-9]+)")
# The services whose calls the product makes, by botocore name, and their IAM action prefix where it differs.
SERVICES = ("dynamodb", "dynamodbstreams", "sns", "sqs", "lambda", "cloudwatch", "scheduler", "sts")
IAM_PREFIX = {"dynamodbstreams": "dynamodb"}
# Calls IAM authorises as another action.
AUTHORISED_AS = {"PublishBatch": "sns:Publish"}
MISSING = frozenset(
    {"ResourceNotFoundException", "NotFound", "NotFoundException", "AWS.SimpleQueueService.NonExistentQueue"}
)


class PermanentError(RuntimeError):
    """A failure no retry can mend: it ends the command or the run at once, with its one line."""

    def __init__(self, line: str) -> None:
        super().__init__(line)
        self.line = line


def is_loopback(url: str) -> bool:
    """Whether a URL points at this machine (127.0.0.0/8, ::1 or localhost)."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def no_local_aws(endpoint: str) -> str:
    """The line for a local AWS endpoint that nothing listens on."""
    return f"no AWS at {endpoint}: start it with `make up`, or try `make demo`"


def one_line(error: BaseException, table: str = "") -> str | None:
    """The line a person reads for a failure the product knows; None for one it does not (shown in full)."""
    for cause in _chain(error):
        line = _known(cause, table)
        if line is not None:
            return line
    return None


def is_permanent(error: BaseException) -> bool:
    """Whether no retry can mend this failure (a transient one, or an unknown one, may be retried)."""
    for cause in _chain(error):
        if isinstance(cause, PermanentError | SourceDataError | AppTokenError):
            return True
        if isinstance(cause, NoCredentialsError | PartialCredentialsError):
            return True
        if isinstance(cause, CredentialRetrievalError | NoRegionError):
            return True
        if isinstance(cause, EndpointConnectionError | ConnectTimeoutError) and is_loopback(_endpoint(cause)):
            return True
        if isinstance(cause, ClientError) and error_code(cause) in DENIED | MISSING:
            return True
    return False


def _chain(error: BaseException) -> list[BaseException]:
    """The error and what caused it, outermost first (a task's failure wraps the real one)."""
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _known(error: BaseException, table: str) -> str | None:
    for kinds, describe in DESCRIPTIONS:
        if isinstance(error, kinds):
            return describe(error, table)
    return None


def _connection(error: BaseException, table: str) -> str:
    endpoint = _endpoint(error)
    if is_loopback(endpoint):
        return no_local_aws(_base(endpoint))
    return f"AWS could not be reached at {_base(endpoint)} ({type(error).__name__}); check the network and retry"


def _client_error(error: BaseException, table: str) -> str | None:
    return _refused(error, table) if isinstance(error, ClientError) else None


# Each kind of failure the product knows, and how its line reads.
DESCRIPTIONS: tuple[
    tuple[type[BaseException] | tuple[type[BaseException], ...], Callable[[BaseException, str], str | None]], ...
] = (
    (PermanentError, lambda error, _: error.line if isinstance(error, PermanentError) else None),
    (SourceDataError, lambda error, _: f"the source data is invalid, nothing was written: {error}"),
    (AppTokenError, lambda error, _: str(error)),
    (
        SourceUnavailableError,
        lambda error, _: f"{error}; to work offline, use the bundled export: --source {OFFLINE_SOURCE}",
    ),
    ((NoCredentialsError, PartialCredentialsError, CredentialRetrievalError), lambda _, __: NO_CREDENTIALS),
    (NoRegionError, lambda _, __: "no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION), for example us-east-1"),
    ((EndpointConnectionError, ConnectTimeoutError), _connection),
    (ClientError, _client_error),
)


def _refused(error: ClientError, table: str) -> str | None:
    code = error_code(error)
    operation = error.operation_name
    if code in MISSING:
        if table and operation in {"Query", "PutItem", "TransactWriteItems", "DescribeTable", "UpdateItem"}:
            return (
                f"table {table} does not exist on this AWS: create it with `make up` (local) or "
                "`terraform apply` in infra/, or set GAS_ALERTS_TABLE to the table's name"
            )
        return f"AWS says {operation} found nothing ({code}): {_message(error)}"
    if code in DENIED:
        return (
            f"denied: the credentials in use may not call {refused_action(error)} ({code}); the flow needs the policy "
            "of `terraform output flow_runner_policy_arn`, the operator commands that of `operator_policy_arn`"
        )
    return None


def refused_action(error: ClientError) -> str:
    """The IAM action AWS refused: named in its message, or worked out from the operation ("dynamodb:Query")."""
    found = REFUSED_ACTION.search(_message(error))
    if found:
        return found["action"]
    operation = error.operation_name
    if operation in AUTHORISED_AS:
        return AUTHORISED_AS[operation]
    service = _service_of(operation)
    return f"{IAM_PREFIX.get(service, service)}:{operation}" if service else operation


@lru_cache(maxsize=64)
def _service_of(operation: str) -> str:
    """Which of the product's services has this operation ('' when none), from botocore's service models."""
    session = botocore.session.get_session()
    for service in SERVICES:
        if operation in session.get_service_model(service).operation_names:
            return service
    return ""


def error_code(error: ClientError) -> str:
    """The error code AWS answered with ("" when none)."""
    return str(error.response.get("Error", {}).get("Code", ""))


def _message(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Message", ""))[:200]


def _endpoint(error: BaseException) -> str:
    kwargs = getattr(error, "kwargs", {})
    return str(kwargs.get("endpoint_url", "")) if isinstance(kwargs, dict) else ""


def _base(url: str) -> str:
    """scheme://host:port of a URL (an endpoint error holds the full request URL)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else url
