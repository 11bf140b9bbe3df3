"""One-time, idempotent Prefect setup: the work pool, prefect-aws's block types, and an AwsCredentials block.

Run from the repository root with PREFECT_API_URL pointing at your Prefect server:
    .venv/bin/python deployments/setup.py                                  # work pool and block types
    .venv/bin/python deployments/setup.py --aws-credentials-block gas-alerts-aws
Credentials are never read from a file: the block takes AWS_PROFILE if it is set (and stores only the profile
name), else AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY from the environment, else it asks for them.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable, Mapping, Sequence

from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.exceptions import ObjectAlreadyExists
from prefect_aws import AwsCredentials
from pydantic import SecretStr

DEFAULT_POOL = "gas-alerts"


def ensure_work_pool(name: str, pool_type: str = "process") -> bool:
    """Create the work pool unless it exists; True when it was created."""
    with get_client(sync_client=True) as client:
        try:
            client.create_work_pool(WorkPoolCreate(name=name, type=pool_type))
        except ObjectAlreadyExists:
            return False
    return True


def credentials_from(environ: Mapping[str, str], ask: Callable[[str], str], interactive: bool) -> AwsCredentials:
    """An AwsCredentials block from a profile name, environment keys, or answers typed at a prompt."""
    region = environ.get("AWS_DEFAULT_REGION") or environ.get("AWS_REGION") or None
    if environ.get("AWS_PROFILE"):
        return AwsCredentials(profile_name=environ["AWS_PROFILE"], region_name=region)
    key_id = environ.get("AWS_ACCESS_KEY_ID")
    secret = environ.get("AWS_SECRET_ACCESS_KEY")
    if not (key_id and secret):
        if not interactive:
            raise SystemExit(
                "error: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run interactively"
            )
        key_id = input("AWS access key id: ").strip()
        secret = ask("AWS secret access key (not echoed): ").strip()
    token = environ.get("AWS_SESSION_TOKEN")
    return AwsCredentials(
        aws_access_key_id=key_id,
        aws_secret_access_key=SecretStr(secret),
        aws_session_token=token,
        region_name=region,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Set up the work pool and block types, and the credentials block when one is named."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pool", default=DEFAULT_POOL, help="work pool name (default: %(default)s)")
    parser.add_argument("--pool-type", default="process", help="work pool type, e.g. process or ecs")
    parser.add_argument("--aws-credentials-block", help="save an AwsCredentials block under this name")
    args = parser.parse_args(argv)

    created = ensure_work_pool(args.pool, args.pool_type)
    print(f"work pool {args.pool!r} ({args.pool_type}): {'created' if created else 'already there'}")
    AwsCredentials.register_type_and_schema()
    print("block types from prefect-aws: registered")
    if args.aws_credentials_block:
        block = credentials_from(os.environ, getpass.getpass, sys.stdin.isatty())
        block.save(args.aws_credentials_block, overwrite=True)
        kind = "profile " + str(block.profile_name) if block.profile_name else "access keys"
        print(f"AwsCredentials block {args.aws_credentials_block!r}: saved ({kind}; secrets stay in Prefect)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
