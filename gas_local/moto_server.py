"""A moto server on 127.0.0.1 inside this process, with the environment pointed at it."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from moto.server import ThreadedMotoServer

from gas_alerts.settings import DEFAULT_AWS_REGION
from gas_local.environment import patched_environment

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
def local_aws(port: int = 0) -> Iterator[str]:
    """Run moto on 127.0.0.1 (a free port by default) and point boto3 at it; yields the endpoint."""
    # werkzeug logs every request at INFO, which would bury the product's own output.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    host, bound_port = server.get_host_and_port()
    endpoint = f"http://{host}:{bound_port}"
    try:
        with patched_environment(local_aws_environment(endpoint)):
            yield endpoint
    finally:
        server.stop()
