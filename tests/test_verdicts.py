"""Verdicts per rule from check results, without running a suite."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from conformance.expect import CheckFailure, RuleFailure
from conformance.spec import Rule
from conformance.verdicts import (
    CheckResult,
    broken_rules,
    gate_passed,
    met_rules,
    rule_verdicts,
)

RULES = {
    rule_id: Rule(rule_id, level, "derived", f"{rule_id} holds.", "test")
    for rule_id, level in [
        ("body-size-limit", "advisory"),
        ("content-type-json", "required"),
        ("fault-body", "required"),
        ("no-server-error", "required"),
        ("state-conflict", "required"),
    ]
}


def verdicts_of(*results: CheckResult) -> dict[str, str]:
    return {v.rule.id: v.verdict for v in rule_verdicts(RULES, results)}


def failed(nodeid: str, rules: tuple[str, ...], error: RuleFailure) -> CheckResult:
    broken = broken_rules(error, rules)
    return CheckResult(
        nodeid, rules, "failed", broken, str(error), met_rules(error, broken)
    )


def wrong_body(status_rule: str) -> CheckFailure:
    response = SimpleNamespace(
        status_code=413,
        reason="Request Entity Too Large",
        headers={},
        content=b"",
        request=None,
    )
    return CheckFailure(
        "fault-body", "a 1 MiB body", "a fault body", response, (status_rule,)
    )


@pytest.fixture(autouse=True)
def plain_exchange(monkeypatch):
    monkeypatch.setattr(
        "conformance.expect.describe_exchange", lambda response: "(exchange)"
    )


def test_wrong_fault_body_credits_status_rule():
    rules = ("body-size-limit", "fault-body")

    verdicts = verdicts_of(failed("t413", rules, wrong_body("body-size-limit")))

    assert verdicts["body-size-limit"] == "passed"
    assert verdicts["fault-body"] == "failed"


def test_met_rule_broken_by_another_check_fails():
    rules = ("body-size-limit", "fault-body")
    other = RuleFailure("body-size-limit", "a 1 MiB body answered 400")

    verdicts = verdicts_of(
        failed("t413", rules, wrong_body("body-size-limit")),
        failed("t413-again", rules, other),
    )

    assert verdicts["body-size-limit"] == "failed"


def test_broken_rule_is_never_met():
    error = RuleFailure("state-conflict", "paused server accepted", ("state-conflict",))

    assert met_rules(error, broken_rules(error, ("state-conflict",))) == ()


def test_failure_without_rule_confirms_nothing():
    assert met_rules(AssertionError("boom"), ("fault-body",)) == ()


def test_unreached_rule_is_not_run():
    rules = ("state-conflict", "fault-body")
    error = RuleFailure("fault-body", "the server answered HTML")

    verdicts = verdicts_of(failed("t409", rules, error))

    assert verdicts["state-conflict"] == "not run"


def test_gate_ignores_advisory_failures():
    error = RuleFailure("body-size-limit", "a 1 MiB body answered 400")

    verdicts = rule_verdicts(RULES, [failed("t413", ("body-size-limit",), error)])

    assert gate_passed(verdicts)


def test_server_error_breaks_no_server_error_too():
    response = SimpleNamespace(
        status_code=500, reason="Internal Server Error", headers={}, content=b""
    )
    error = CheckFailure("content-type-json", "multipart body", "415", response)

    verdicts = verdicts_of(failed("t415", ("content-type-json",), error))

    assert broken_rules(error, ()) == ("content-type-json", "no-server-error")
    assert "rules content-type-json and no-server-error" in str(error)
    assert verdicts["content-type-json"] == "failed"
    assert verdicts["no-server-error"] == "failed"
