"""boto3 clients: from a Prefect AwsCredentials block when one is named, else the standard chain."""

from __future__ import annotations

import os
import socket
from functools import lru_cache
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

import boto3
from botocore.config import Config

from gas_alerts.failures import PermanentError, is_loopback, no_local_aws
from gas_alerts.settings import DEFAULT_AWS_REGION

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodbstreams import DynamoDBStreamsClient
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient

# Standard retry mode retries throttling and 5xx with backoff; timeouts keep a hung call from hanging the run.
CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 5},
    connect_timeout=5,
    read_timeout=15,
)


def boto_session(credentials_block: str | None = None) -> boto3.Session:
    """A boto3 session from the named AwsCredentials block, or from the environment's credential chain."""
    if credentials_block:
        from prefect_aws import AwsCredentials

        block = cast("AwsCredentials", AwsCredentials.load(credentials_block))
        session: boto3.Session = block.get_boto3_session()
        return session
    return boto3.Session(region_name=os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION"))


# How long a local endpoint may take to accept a connection before it counts as not running.
LOCAL_CONNECT_SECONDS = 1.0


def check_local_endpoint(endpoint: str | None) -> None:
    """Raise PermanentError at once when the endpoint is on this machine and nothing listens there.

    botocore would retry a refused connection with backoff for over a minute; a local AWS that is not running
    will not start by itself, so there is nothing to wait for.
    """
    if not endpoint or not is_loopback(endpoint):
        return
    parts = urlsplit(endpoint)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", port), timeout=LOCAL_CONNECT_SECONDS):
            return
    except OSError:
        raise PermanentError(no_local_aws(endpoint.rstrip("/"))) from None


@lru_cache(maxsize=32)
def _client(service: str, credentials_block: str | None, endpoint: str | None, region: str | None) -> Any:
    check_local_endpoint(endpoint)
    session = boto_session(credentials_block)
    return session.client(
        service,  # type: ignore[call-overload]
        region_name=session.region_name or region or DEFAULT_AWS_REGION,
        config=CLIENT_CONFIG,
    )


def region() -> str:
    """The region the clients use: AWS_DEFAULT_REGION or AWS_REGION, else the product's default."""
    return os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION") or DEFAULT_AWS_REGION


def client(service: str, credentials_block: str | None = None) -> Any:
    """A client built once per service, credentials block and endpoint (AWS_ENDPOINT_URL is honoured)."""
    return _client(
        service,
        credentials_block,
        os.environ.get("AWS_ENDPOINT_URL"),
        os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION"),
    )


def dynamodb(credentials_block: str | None = None) -> DynamoDBClient:
    """The DynamoDB client."""
    result: DynamoDBClient = client("dynamodb", credentials_block)
    return result


def dynamodb_streams(credentials_block: str | None = None) -> DynamoDBStreamsClient:
    """The DynamoDB Streams client."""
    result: DynamoDBStreamsClient = client("dynamodbstreams", credentials_block)
    return result


def sns(credentials_block: str | None = None) -> SNSClient:
    """The SNS client."""
    result: SNSClient = client("sns", credentials_block)
    return result


def lambda_client(credentials_block: str | None = None) -> LambdaClient:
    """The Lambda client (for reading a deployed function and its event source mapping)."""
    result: LambdaClient = client("lambda", credentials_block)
    return result


def sqs(credentials_block: str | None = None) -> SQSClient:
    """The SQS client."""
    result: SQSClient = client("sqs", credentials_block)
    return result


def cloudwatch(credentials_block: str | None = None) -> CloudWatchClient:
    """The CloudWatch client (the heartbeat's and the sweep's metrics, the alarms)."""
    result: CloudWatchClient = client("cloudwatch", credentials_block)
    return result
