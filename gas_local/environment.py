"""Environment variables: the ones that point boto3 at a local AWS, and setting some for the length of a block.

Importing this does not import moto, so the commands that only talk to a local AWS start without it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from gas_alerts.settings import DEFAULT_AWS_REGION

# moto accepts any credentials; fixed fake ones keep boto3 from looking for real ones.
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def local_aws_environment(endpoint: str) -> dict[str, str]:
    """The variables that point every boto3 client at a local endpoint."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_DEFAULT_REGION": DEFAULT_AWS_REGION,
        "AWS_REGION": DEFAULT_AWS_REGION,
        **FAKE_CREDENTIALS,
    }


@contextmanager
def patched_environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for the duration of the block, then restore them."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, old in saved.items():
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old
