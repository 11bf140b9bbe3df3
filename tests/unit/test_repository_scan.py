"""No tracked file holds a credential or a personal email address, and the scan that says so is not vacuous."""

from __future__ import annotations

import re
import secrets
import string
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


LEAK_PATTERNS = {
    "AWS access key id": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "AWS secret key": re.compile(
        r"(?i)(?:secret|aws_secret_access_key|password|credential)[\w-]*['\"]?\s*[:=]\s*['\"]?"
        r"(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])"
    ),
    "private key": re.compile(r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY( BLOCK)?-----"),
}


EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)")


# Domains reserved for documentation and testing (RFC 2606, RFC 6761) cannot belong to a person.
RESERVED_DOMAINS = re.compile(r"(?i)(^|\.)(example\.(com|org|net)|example|invalid|test|localhost)$")


def leaks(text: str) -> list[str]:
    """What in this text looks like a credential or a personal email address."""
    found = [kind for kind, pattern in LEAK_PATTERNS.items() if pattern.search(text)]
    found += [f"email @{m[1]}" for m in EMAIL.finditer(text) if not RESERVED_DOMAINS.search(m[1])]
    return found


def tracked_files() -> list[Path]:
    listing = subprocess.run(
        ["git", "ls-files", "-z"],  # noqa: S607 (git from PATH, as a developer runs it)
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return [ROOT / name for name in listing.split("\0") if name and (ROOT / name).is_file()]


def test_tracked_files_hold_no_credentials_or_personal_email_addresses() -> None:
    """No tracked file holds an AWS key id, a secret key, a private key, or an address outside reserved domains."""
    files = tracked_files()
    found = {}
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # binary
        if hits := leaks(text):
            found[str(path.relative_to(ROOT))] = hits
    assert len(files) > 50, "the scan must see the repository"
    assert found == {}


def _fake(alphabet: str, size: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(size))


@pytest.mark.parametrize(
    ("planted", "kind"),
    [
        pytest.param(
            f"key = {'AKIA' + _fake(string.ascii_uppercase + string.digits, 16)}", "AWS access key id", id="akia"
        ),
        pytest.param(f"{'ASIA' + _fake(string.ascii_uppercase, 16)}", "AWS access key id", id="asia"),
        pytest.param(
            f'aws_secret_access_key = "{_fake(string.ascii_letters + string.digits + "/+", 40)}"',
            "AWS secret key",
            id="secret-key",
        ),
        pytest.param("-----BEGIN " + "RSA PRIVATE KEY-----\nMIIE", "private key", id="private-key"),
        pytest.param("-----BEGIN " + "OPENSSH PRIVATE KEY-----", "private key", id="openssh-key"),
        pytest.param("mail jane.doe" + "@gmail.com for access", "email @gmail.com", id="personal-email"),
    ],
)
def test_the_scan_finds_each_kind_of_leak(planted: str, kind: str) -> None:
    """The scan is not vacuous: a planted key, private key or personal address is reported by kind."""
    assert kind in leaks(f"some text\n{planted}\nmore text")


@pytest.mark.parametrize(
    "harmless",
    [
        "subscriber@gas-alerts.invalid",
        "you@example.com",
        "ops@alerts.example",
        "AWS_SECRET_ACCESS_KEY=testing",
        "the (?:AKIA|ASIA)[0-9A-Z]{16} pattern",
        "sha256 = 9f2c1b7e5a3d4c6b8a0e1f2d3c4b5a69788796a5b4c3d2e1f0a9b8c7d6e5f4a3",
    ],
)
def test_the_scan_lets_reserved_domains_and_fakes_pass(harmless: str) -> None:
    """Addresses in reserved domains, moto's fake keys, the pattern itself and hashes are not leaks."""
    assert leaks(harmless) == []
