"""The suite's verdicts on the real Nova 34 stay as pinned in expected.yaml.

The live tests start Nova with nova_harness, run the whole suite against it
under each policy profile, and compare every rule's verdict, and the checks
that failed it, with the pinned ones. The other tests keep the pinned file
whole: every rule pinned, every failure explained by a documented divergence.
"""

from __future__ import annotations

import pytest

from conformance.spec import Spec
from nova_check.harness import REPOSITORY_ROOT
from nova_check.page import PAGE, render_page
from nova_check.pinned import PinnedVerdict, load_pinned

PINNED = load_pinned()
RULES = Spec(REPOSITORY_ROOT / "spec" / "openapi.yaml").rules
PROFILES = sorted(PINNED.gates)
UPDATE_HINT = (
    "If Nova or the suite changed on purpose, update nova_check/expected.yaml and "
    "rewrite the page with: python -m nova_check.page"
)


def verdict_params() -> list[object]:
    return [
        pytest.param(pinned, id=f"{pinned.profile}-{pinned.rule}")
        for pinned in PINNED.verdicts
    ]


@pytest.mark.parametrize("profile", PROFILES)
def test_every_rule_is_pinned(profile):
    pinned = set(PINNED.profile(profile))

    assert pinned == set(RULES), (
        f"profile {profile}: not pinned {sorted(set(RULES) - pinned)}; "
        f"not in the catalogue {sorted(pinned - set(RULES))}"
    )


def test_both_policy_profiles_are_pinned():
    assert PROFILES == ["document", "nova"]


@pytest.mark.parametrize("pinned", verdict_params())
def test_pinned_verdict_other_than_passed_says_why(pinned: PinnedVerdict):
    if pinned.verdict == "passed":
        assert not pinned.failed_checks, "a passed rule has no failed checks"
        return
    assert pinned.reason, f"{pinned.profile}/{pinned.rule} is {pinned.verdict}: why?"
    if pinned.verdict == "failed":
        assert pinned.failed_checks, f"{pinned.profile}/{pinned.rule}: which checks?"
        assert pinned.divergences, (
            f"{pinned.profile}/{pinned.rule} failed: name the divergences that "
            f"explain it, of {sorted(PINNED.divergences)}"
        )
        for name in pinned.divergences:
            divergence = PINNED.divergences.get(name)
            assert divergence is not None, f"no divergence {name} is documented"
            assert pinned.rule in divergence.rules, (
                f"divergence {name} does not list rule {pinned.rule}"
            )


def test_nova_profile_leaves_no_required_rule_unjudged():
    unjudged = {
        rule: pinned.verdict
        for rule, pinned in PINNED.profile("nova").items()
        if RULES[rule].required and pinned.verdict in ("skipped", "not run")
    }

    assert not unjudged, (
        f"required rules without a verdict on Nova: {unjudged}; make the suite "
        "judge them under the nova profile, then pin the verdicts it gives"
    )


def test_every_divergence_explains_a_pinned_failure():
    used = {name for pinned in PINNED.verdicts for name in pinned.divergences}

    assert set(PINNED.divergences) <= used, (
        f"divergences no verdict names: {sorted(set(PINNED.divergences) - used)}"
    )


def test_divergence_page_is_current():
    assert PAGE.read_text(encoding="utf-8") == render_page(PINNED, RULES), (
        "docs/nova-divergences.md is out of date; rewrite it with: "
        "python -m nova_check.page"
    )


@pytest.mark.parametrize("profile", PROFILES)
def test_nova_gate_is_pinned(profile, nova_runs):
    run = nova_runs.get(profile)

    assert run.suite.gate == PINNED.gates[profile], run.suite.summary()
    assert run.suite.exit_code == (0 if PINNED.gates[profile] == "passed" else 1), (
        run.suite.summary()
    )


@pytest.mark.parametrize("pinned", verdict_params())
def test_nova_verdict_is_pinned(pinned: PinnedVerdict, nova_runs):
    rule = nova_runs.get(pinned.profile).suite.rules[pinned.rule]
    was = f" ({pinned.reason})" if pinned.reason else ""
    now = f": {rule['reason']}" if rule["reason"] else ""

    assert rule["verdict"] == pinned.verdict, (
        f"Nova's verdict on {pinned.rule} under profile {pinned.profile} changed "
        f"from {pinned.verdict}{was} to {rule['verdict']}{now}\n{UPDATE_HINT}"
    )
    failed_checks = set(rule["failed_checks"])
    assert failed_checks == pinned.failed_checks, (
        f"{pinned.rule} under profile {pinned.profile}: checks that newly broke "
        f"it {sorted(failed_checks - pinned.failed_checks)}, checks that no longer "
        f"break it {sorted(pinned.failed_checks - failed_checks)}\n{UPDATE_HINT}"
    )
