"""deployments/setup.py's AwsCredentials block stores exactly the identity it is given, and refuses a mixed one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from deployments.setup import credentials_from

REPO = Path(__file__).resolve().parents[2]
# Step 5's flow user: long-term keys (AKIA…), no session token. The ids are built in two parts so the repository's
# own scan for leaked keys (tests/unit/test_repository_scan.py) does not take these fakes for real ones.
LONG_TERM_KEY_ID = "AKIA" + "FLOWUSEREXAMPLE1"
TEMPORARY_KEY_ID = "ASIA" + "TEMPORARYEXAMPLE"
FLOW_KEYS = {"AWS_ACCESS_KEY_ID": LONG_TERM_KEY_ID, "AWS_SECRET_ACCESS_KEY": "flow-user-secret"}
SECRETS = ("flow-user-secret", "sso-session-token", "temporary-secret")


def no_prompt(question: str) -> str:
    """Stands in for getpass: these cases must never ask."""
    raise AssertionError(f"asked {question!r}")


def test_the_flow_users_keys_are_stored_as_given() -> None:
    """Access keys alone are stored as they are, with the region and no session token."""
    block = credentials_from({**FLOW_KEYS, "AWS_DEFAULT_REGION": "us-east-1"}, no_prompt, interactive=False)
    assert block.aws_access_key_id == FLOW_KEYS["AWS_ACCESS_KEY_ID"]
    assert block.aws_secret_access_key is not None
    assert block.aws_secret_access_key.get_secret_value() == FLOW_KEYS["AWS_SECRET_ACCESS_KEY"]
    assert block.aws_session_token is None
    assert block.profile_name is None
    assert block.region_name == "us-east-1"


def test_a_profile_alone_is_stored_as_the_profile() -> None:
    """A profile and nothing else is stored as that profile's name, and no key."""
    block = credentials_from({"AWS_PROFILE": "gas-alerts-flow"}, no_prompt, interactive=False)
    assert block.profile_name == "gas-alerts-flow"
    assert block.aws_access_key_id is None


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        # Step 1's administrator profile still set when the flow user's keys are exported.
        ({**FLOW_KEYS, "AWS_PROFILE": "admin"}, "AWS_PROFILE"),
        ({**FLOW_KEYS, "AWS_DEFAULT_PROFILE": "admin"}, "AWS_DEFAULT_PROFILE"),
        # A token from `aws sso login` (or an assumed role) left beside the flow user's keys.
        ({**FLOW_KEYS, "AWS_SESSION_TOKEN": "sso-session-token"}, "AWS_SESSION_TOKEN"),
        ({**FLOW_KEYS, "AWS_SECURITY_TOKEN": "sso-session-token"}, "AWS_SECURITY_TOKEN"),
        ({"AWS_PROFILE": "admin", "AWS_SESSION_TOKEN": "sso-session-token"}, "AWS_SESSION_TOKEN"),
        # Temporary keys whole: they expire within hours, and a scheduled flow would stop with them.
        (
            {
                "AWS_ACCESS_KEY_ID": TEMPORARY_KEY_ID,
                "AWS_SECRET_ACCESS_KEY": "temporary-secret",
                "AWS_SESSION_TOKEN": "sso-session-token",
            },
            "AWS_SESSION_TOKEN",
        ),
        ({"AWS_ACCESS_KEY_ID": TEMPORARY_KEY_ID, "AWS_SECRET_ACCESS_KEY": "temporary-secret"}, "ASIA"),
        # Half a key pair, and two different profiles.
        ({"AWS_ACCESS_KEY_ID": LONG_TERM_KEY_ID}, "AWS_SECRET_ACCESS_KEY"),
        ({"AWS_SECRET_ACCESS_KEY": "flow-user-secret"}, "AWS_ACCESS_KEY_ID"),
        ({"AWS_PROFILE": "flow", "AWS_DEFAULT_PROFILE": "admin"}, "AWS_DEFAULT_PROFILE"),
    ],
)
def test_a_mixed_or_temporary_identity_is_refused_in_one_line(environ: dict[str, str], named: str) -> None:
    """Nothing is stored; one line names the variable at fault and what to unset, and quotes no secret."""
    with pytest.raises(SystemExit) as refused:
        credentials_from(environ, no_prompt, interactive=False)
    message = str(refused.value.code)
    assert message.startswith("error: ")
    assert "\n" not in message
    assert named in message
    assert "unset" in message or "set " in message
    assert not [secret for secret in SECRETS if secret in message]


def test_setup_refuses_a_mixed_identity_before_it_writes_anything() -> None:
    """Run as the runbook runs it, with an SSO token beside the flow keys: exit 1, one line, no Prefect call."""
    environment = {
        **{name: value for name, value in os.environ.items() if not name.startswith("AWS_")},
        **FLOW_KEYS,
        "AWS_SESSION_TOKEN": "sso-session-token",
        # Nothing listens here: reaching Prefect (to create the work pool first) would fail differently.
        "PREFECT_API_URL": "http://127.0.0.1:9/api",
    }
    result = subprocess.run(
        [sys.executable, "deployments/setup.py", "--aws-credentials-block", "gas-alerts-aws"],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("error: AWS_SESSION_TOKEN")
