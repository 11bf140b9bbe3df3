"""Region ids: one check of unknown and hostile ids, wherever a person or a message can name a region."""

from __future__ import annotations

import inspect

import pytest
from typer.testing import CliRunner

from flows.check_prices import check_gas_prices
from gas_alerts.compare import plan_check
from gas_alerts.filter_policy import filter_policy
from gas_cli.app import app
from gas_publisher.contract import known_regions
from tests.support.data import HOSTILE_REGIONS


@pytest.mark.parametrize("region", HOSTILE_REGIONS, ids=range(len(HOSTILE_REGIONS)))
def test_hostile_region_parameters_are_refused_by_the_flow_and_the_policy(region: str) -> None:
    """Region parameters (replay's) and a subscriber's filter policy accept only the known region ids."""
    with pytest.raises(ValueError, match="unknown region"):
        known_regions(["albany", region])
    with pytest.raises(ValueError, match="unknown region"):
        filter_policy(["albany", region])


@pytest.mark.parametrize("command", [["replay", "--from", "2023-02-20"], ["local", "provision"]])
def test_hostile_region_options_are_refused_by_the_cli(command: list[str]) -> None:
    """`--regions` with an unknown name exits with a usage error before anything runs."""
    result = CliRunner().invoke(app, [*command, "--regions", "albany,<script>"])
    assert result.exit_code == 2
    assert "unknown region(s): <script>" in result.output


runner = CliRunner()


def test_a_check_cannot_narrow_what_it_stores() -> None:
    """The check always compares and stores all 17 regions: neither the flow, the plan nor the command takes regions.

    A check of one region used to store the week with that region's drops only; the scheduled check then found
    the week stored, and the other regions' falls were never told.
    """
    assert "regions" not in inspect.signature(check_gas_prices.fn).parameters
    assert "regions" not in inspect.signature(plan_check).parameters
    result = runner.invoke(app, ["check", "--regions", "albany"])
    assert result.exit_code == 2
    assert "No such option: --regions" in result.output


def test_unknown_region_is_a_usage_error_naming_the_known_ones() -> None:
    """A misspelt region stops before any work, with exit status 2 and the valid ids."""
    result = runner.invoke(app, ["local", "provision", "--regions", "nyc"])
    assert result.exit_code == 2
    assert "unknown region(s): nyc" in result.output
    assert "new_york_city" in result.output


def test_unknown_region_is_refused_with_the_known_list() -> None:
    """A misspelt region fails with a message listing the valid ids."""
    with pytest.raises(ValueError, match=r"unknown region\(s\): nyc; known regions: new_york_state, albany"):
        filter_policy(["nyc"])


def test_the_command_rejects_an_unknown_region() -> None:
    """An unknown region id fails with the list of known ones, before anything is read."""
    result = CliRunner().invoke(app, ["replay", "--from", "2023-02-20", "--regions", "atlantis"])

    assert result.exit_code != 0
    assert "new_york_city" in result.output
