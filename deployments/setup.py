"""One-time, idempotent Prefect setup: the work pool, prefect-aws's block types, and an AwsCredentials block.

Run from the repository root with PREFECT_API_URL pointing at your Prefect server:
    .venv/bin/python deployments/setup.py                                  # work pool and block types
    .venv/bin/python deployments/setup.py --aws-credentials-block gas-alerts-aws
Credentials are never read from a file. The block stores exactly one identity: a profile name (AWS_PROFILE) or
the flow user's long-term keys (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY), else it asks for the keys. A mixed
environment (a profile beside keys, a session token) is refused before anything is written: unset what is not
the flow's identity, for example `unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN AWS_SECURITY_TOKEN`.
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


# The variables botocore reads for each part of an identity, in its own order.
PROFILE_VARIABLES = ("AWS_DEFAULT_PROFILE", "AWS_PROFILE")
KEY_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
TOKEN_VARIABLES = ("AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")
# Access key ids of temporary (STS) credentials start so; an IAM user's long-term ones start with AKIA.
TEMPORARY_KEY_PREFIX = "ASIA"


def _set(environ: Mapping[str, str], names: Sequence[str]) -> list[str]:
    return [name for name in names if environ.get(name)]


def refuse_mixed_identity(environ: Mapping[str, str]) -> None:
    """Stop, with one line naming what to unset, unless the environment gives one long-lived identity or none."""
    profiles, keys, tokens = (_set(environ, names) for names in (PROFILE_VARIABLES, KEY_VARIABLES, TOKEN_VARIABLES))
    if tokens:
        # Whether beside an SSO login's leftovers or the flow user's keys, a session token means credentials that
        # expire within hours: a block holding them would fail every scheduled run after that.
        raise SystemExit(
            f"error: {tokens[0]} is set: a session token belongs to temporary credentials (aws sso login, an assumed "
            f"role), which expire; unset {' '.join(tokens)} and give the flow user's access keys or profile"
        )
    if profiles and keys:
        raise SystemExit(
            f"error: {' and '.join(profiles)} and {' and '.join(keys)} are both set, two identities; unset "
            f"{' '.join(profiles)} to store the keys, or unset {' '.join(keys)} to store the profile"
        )
    if len({environ[name] for name in profiles}) > 1:
        raise SystemExit(
            f"error: AWS_DEFAULT_PROFILE and AWS_PROFILE name different profiles ({environ['AWS_DEFAULT_PROFILE']}, "
            f"{environ['AWS_PROFILE']}); unset the one that is not the flow's"
        )
    if len(keys) == 1:
        [missing] = set(KEY_VARIABLES) - set(keys)
        raise SystemExit(f"error: {keys[0]} is set but {missing} is not; set both, or unset {keys[0]}")
    if keys and environ["AWS_ACCESS_KEY_ID"].startswith(TEMPORARY_KEY_PREFIX):
        raise SystemExit(
            f"error: AWS_ACCESS_KEY_ID is a temporary key ({TEMPORARY_KEY_PREFIX}…), which expires; set the flow "
            "user's long-term keys (step 5 of docs/deploy.md) instead"
        )


def credentials_from(environ: Mapping[str, str], ask: Callable[[str], str], interactive: bool) -> AwsCredentials:
    """An AwsCredentials block holding exactly the one identity given: a profile name, keys, or keys typed in."""
    refuse_mixed_identity(environ)
    region = environ.get("AWS_DEFAULT_REGION") or environ.get("AWS_REGION") or None
    profiles = _set(environ, PROFILE_VARIABLES)
    if profiles:
        return AwsCredentials(profile_name=environ[profiles[0]], region_name=region)
    key_id = environ.get("AWS_ACCESS_KEY_ID")
    secret = environ.get("AWS_SECRET_ACCESS_KEY")
    if not (key_id and secret):
        if not interactive:
            raise SystemExit(
                "error: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run interactively"
            )
        key_id = input("AWS access key id: ").strip()
        secret = ask("AWS secret access key (not echoed): ").strip()
        refuse_mixed_identity({"AWS_ACCESS_KEY_ID": key_id, "AWS_SECRET_ACCESS_KEY": secret})
    return AwsCredentials(aws_access_key_id=key_id, aws_secret_access_key=SecretStr(secret), region_name=region)


def main(argv: Sequence[str] | None = None) -> int:
    """Set up the work pool and block types, and the credentials block when one is named."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pool", default=DEFAULT_POOL, help="work pool name (default: %(default)s)")
    parser.add_argument("--pool-type", default="process", help="work pool type, e.g. process or ecs")
    parser.add_argument("--aws-credentials-block", help="save an AwsCredentials block under this name")
    args = parser.parse_args(argv)

    # The identity is settled before anything is written, so a refused one leaves the server as it was.
    block = credentials_from(os.environ, getpass.getpass, sys.stdin.isatty()) if args.aws_credentials_block else None
    created = ensure_work_pool(args.pool, args.pool_type)
    print(f"work pool {args.pool!r} ({args.pool_type}): {'created' if created else 'already there'}")
    AwsCredentials.register_type_and_schema()
    print("block types from prefect-aws: registered")
    if block is not None:
        block.save(args.aws_credentials_block, overwrite=True)
        kind = "profile " + str(block.profile_name) if block.profile_name else "access keys"
        print(f"AwsCredentials block {args.aws_credentials_block!r}: saved ({kind}; secrets stay in Prefect)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
