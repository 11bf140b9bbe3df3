"""Subscriber filter policies on the alert message attributes, as the helper builds them."""

from __future__ import annotations

from gas_alerts.filter_policy import filter_policy


def test_no_choice_means_every_alert() -> None:
    """A subscriber who picks nothing gets an empty policy, which SNS treats as no filter."""
    assert filter_policy() == {}


def test_policy_names_the_contract_attributes() -> None:
    """Regions become a sorted list on 'region'; the minimum drop a numeric rule on 'drop_cents'."""
    assert filter_policy(["new_york_city", "albany"], 5) == {
        "region": ["albany", "new_york_city"],
        "drop_cents": [{"numeric": [">=", 5]}],
    }
