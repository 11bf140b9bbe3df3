"""DynamoDB faults injected at the HTTP boundary of the shared client: throttling and 5xx answers on demand."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.compat import HTTPHeaders
from botocore.httpsession import URLLib3Session

# botocore's max_attempts counts retries: 5 retries after the first try (see gas_alerts/aws.py CLIENT_CONFIG).
CLIENT_ATTEMPTS = 1 + 5
ERROR_STATUS = {"ThrottlingException": 400, "ProvisionedThroughputExceededException": 400, "InternalServerError": 500}
# DynamoDB Streams' answer for a sequence number older than the stream keeps (24 hours): not transient.
GONE_STATUS = {"TrimmedDataAccessException": 400}
# IAM's answer to a call the credentials may not make.
DENIED_STATUS = {"AccessDeniedException": 400}
# Not an AWS error code: the request reaches DynamoDB and is applied, then its response is lost (a 500 is returned).
LOST_RESPONSE = "LostResponse"


class _Body:
    """The raw body of a canned HTTP response, in the shape botocore reads."""

    def __init__(self, content: bytes) -> None:
        self.content = content

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.content


@dataclass
class DynamoFaults:
    """Answers chosen operations of the shared DynamoDB client with an AWS error instead of sending them to moto."""

    planned: dict[str, list[str]] = field(default_factory=dict)
    always: dict[str, str] = field(default_factory=dict)
    attempts: Counter[str] = field(default_factory=Counter)
    waits: list[float] = field(default_factory=list)

    def fail(self, operation: str, code: str, times: int | None = None) -> None:
        """Fail the next `times` attempts of the operation with this error code (every attempt when None)."""
        if times is None:
            self.always[operation] = code
        else:
            self.planned.setdefault(operation, []).extend([code] * times)

    def answer(self, request: AWSPreparedRequest, event_name: str, **_: Any) -> AWSResponse | None:
        """A before-send hook: count the attempt, and return an error response when one is due."""
        operation = event_name.rsplit(".", 1)[-1]
        self.attempts[operation] += 1
        pending = self.planned.get(operation)
        code = pending.pop(0) if pending else self.always.get(operation)
        if code is None:
            return None
        if code == LOST_RESPONSE:
            URLLib3Session().send(request)
            code = "InternalServerError"
        body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": "injected fault"})
        headers = HTTPHeaders()
        headers["Content-Type"] = "application/x-amz-json-1.0"
        status = {**ERROR_STATUS, **GONE_STATUS, **DENIED_STATUS}[code]
        return AWSResponse(request.url, status, headers, _Body(body.encode()))
