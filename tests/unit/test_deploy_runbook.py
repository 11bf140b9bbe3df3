"""Every command of docs/deploy.md is run by a test against moto and a local Prefect, or is marked `# real AWS`."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RUNBOOK = REPO / "docs" / "deploy.md"
REAL = "# real AWS"

# Each command the runbook gives, as written there, and where it is run: a test file (or the code a test drives),
# with the text in it that makes the same call. The call itself is what these texts show; the tests named here
# assert its outcome.
RUN_BY: dict[str, list[tuple[str, str]]] = {
    "cp infra/terraform.tfvars.example infra/terraform.tfvars": [
        ("tests/support/terraform.py", '"-var-file=terraform.tfvars.example"'),
    ],
    "make package": [("tests/contract/test_infra_contract.py", '[make, "--no-print-directory", "package"]')],
    "terraform -chdir=infra apply": [("tests/support/terraform.py", 'terraform.succeed("apply", "-auto-approve"')],
    "terraform -chdir=infra apply -var deletion_protection=false": [
        ("tests/support/terraform.py", '"deletion_protection=false"'),
    ],
    "terraform -chdir=infra destroy": [
        ("tests/contract/test_terraform_apply.py", 'succeed("destroy", "-auto-approve"')
    ],
    ".venv/bin/gas-alerts subscribers": [("tests/integration/test_subscribers.py", 'invoke(app, ["subscribers"]')],
    ".venv/bin/gas-alerts subscribers --terraform-dir infra": [
        ("tests/contract/test_terraform_apply.py", '["subscribers", "--terraform-dir", folder]'),
    ],
    ".venv/bin/prefect server start --host 127.0.0.1 --port 4200": [
        ("tests/support/prefect_api.py", '"server", "start", "--host", "127.0.0.1", "--port"'),
    ],
    ".venv/bin/python deployments/setup.py --aws-credentials-block gas-alerts-aws": [
        ("tests/flows/test_deployment.py", '"deployments/setup.py", "--aws-credentials-block", CREDENTIALS_BLOCK'),
    ],
    ".venv/bin/prefect --no-prompt deploy --all": [
        ("tests/flows/test_deployment.py", '"--no-prompt", "deploy", "--all"')
    ],
    ".venv/bin/gas-alerts backfill": [("tests/integration/test_clear_failures.py", 'run(["backfill"')],
    ".venv/bin/gas-alerts send-test": [("tests/integration/test_subscribers.py", 'invoke(app, ["send-test",')],
    ".venv/bin/gas-alerts redrive": [("tests/integration/test_crash_and_redrive.py", 'invoke(app, ["redrive"]')],
    ".venv/bin/gas-alerts status": [("tests/integration/test_status.py", 'invoke(app, ["status"]')],
    ".venv/bin/gas-alerts sweep": [("tests/integration/test_sweep.py", 'invoke(app, ["sweep"]')],
}
# The worker the systemd unit starts: its ExecStart line is a command too.
UNIT_COMMAND = re.compile(r"^ExecStart=\S*/\.venv/bin/prefect worker start --pool gas-alerts$", re.MULTILINE)
# Within [Unit], before [Service]: the unit wants the network online, and starts after it.
NETWORK = r"Wants=network-online\.target\nAfter=network-online\.target\n"
UNIT_NETWORK = re.compile(rf"^\[Unit\]\n(?:[^\[].*\n)*{NETWORK}", re.MULTILINE)
WORKER_RUN_BY = ("tests/flows/test_deployment.py", '"worker", "start", "--pool", "gas-alerts"')


def shell_commands(markdown: str) -> list[str]:
    """The commands of the ```sh blocks, one per line, with their comments kept; `export`/`unset` lines run none."""
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", markdown, flags=re.DOTALL):
        for line in block.splitlines():
            stripped = line.strip()
            if stripped and not stripped.startswith(("#", "export ", "unset ")):
                commands.append(stripped)
    return commands


def command_of(line: str) -> str:
    """The command without its trailing comment."""
    return re.sub(r"\s+#.*$", "", line).strip()


def test_every_command_is_run_by_a_test_or_marked_as_needing_real_aws() -> None:
    """A command neither mapped to a test nor marked would be a step nobody has run."""
    unrun = [
        line for line in shell_commands(RUNBOOK.read_text()) if REAL not in line and command_of(line) not in RUN_BY
    ]
    assert unrun == []


def test_every_mapped_test_makes_the_call_it_is_mapped_to() -> None:
    """The map cannot point at a test that no longer makes the call (or at one that never did)."""
    missing = [
        f"{command}: {path} lacks {needle}"
        for command, places in RUN_BY.items()
        for path, needle in places
        if needle not in (REPO / path).read_text()
    ]
    assert missing == []
    assert WORKER_RUN_BY[1] in (REPO / WORKER_RUN_BY[0]).read_text()


def test_the_map_holds_only_commands_the_runbook_gives() -> None:
    """A command removed from the runbook leaves the map too, so the map stays the runbook's."""
    given = {command_of(line) for line in shell_commands(RUNBOOK.read_text())}
    assert sorted(set(RUN_BY) - given) == []


def test_the_systemd_unit_starts_the_worker_the_tests_start() -> None:
    """The unit's ExecStart is the worker command a test runs against a local Prefect server."""
    assert UNIT_COMMAND.search(RUNBOOK.read_text())


def test_the_systemd_unit_waits_for_the_network() -> None:
    """After= alone only orders the unit; Wants= pulls network-online.target in, so the worker starts online."""
    assert UNIT_NETWORK.search(RUNBOOK.read_text())


def test_the_runbook_has_the_eleven_steps_in_order() -> None:
    """From prerequisites to teardown, as the issue's checklist orders them."""
    steps = re.findall(r"^## (\d+)\. (.+)$", RUNBOOK.read_text(), flags=re.MULTILINE)
    assert [int(number) for number, _ in steps] == list(range(1, 12))
    assert steps[0][1] == "Prerequisites"
    assert steps[-1][1] == "Teardown"


def test_the_parser_reads_commands_and_their_marks() -> None:
    """Comments, blank lines, `export` and `unset` lines are not commands; a trailing mark stays with its command."""
    text = (
        "```sh\n# a note\nexport A=1\nunset B\n\nmake package   # builds\naws s3 ls   # real AWS\n```\n"
        "```hcl\nx = 1\n```\n"
    )
    assert shell_commands(text) == ["make package   # builds", "aws s3 ls   # real AWS"]
    assert command_of("make package   # builds") == "make package"
