"""The README stays short and gives the local run that make up prints and tests/integration/test_readme_path walks."""

from __future__ import annotations

from gas_local.stack import demo_run_command
from tests.support.data import REPO

README = (REPO / "README.md").read_text()


def test_the_readme_gives_the_run_that_make_up_prints() -> None:
    """The documented run is, character for character, the one the README path test runs."""
    assert demo_run_command() in README


def test_the_readme_begins_with_make_demo_and_make_test() -> None:
    """The two commands that set everything up come first."""
    first_block = README.split("```sh\n", 1)[1].split("```", 1)[0]
    assert [line.split()[:2] for line in first_block.splitlines()] == [["make", "demo"], ["make", "test"]]


def test_the_readme_is_one_page() -> None:
    """Under about 1,200 words; the rest belongs in docs/."""
    assert len(README.split()) <= 1200
