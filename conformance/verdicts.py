"""Turn test outcomes into a verdict per rule, and the gate verdict of the run."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from conformance.expect import NOT_APPLICABLE, RuleFailure
from conformance.spec import Rule

__all__ = [
    "CheckResult",
    "RuleVerdict",
    "broken_rules",
    "gate_passed",
    "met_rules",
    "rule_verdicts",
]

# Schemathesis failure classes and the rule each breaks. UndefinedStatusCode
# depends on the status and is handled in code.
SCHEMATHESIS_FAILURE_RULES = {
    "ServerError": "no-server-error",
    "ContentTypeServerError": "no-server-error",
    "RejectedPositiveData": "migrate-accepted",
    "IgnoredAuth": "token-required",
    "MissingHeaders": "response-headers",
    "JsonSchemaError": "fault-body",
    "MalformedJson": "fault-body",
    "MissingContentType": "fault-body",
    "UndefinedContentType": "fault-body",
    "MalformedMediaType": "fault-body",
    "ContentDeserializationError": "fault-body",
}


@dataclass
class CheckResult:
    """One check's result: the rules it names, its outcome, the rules it broke.

    ``met`` names rules a failed check confirmed before it failed.
    """

    nodeid: str
    rules: tuple[str, ...]
    outcome: str = "passed"
    broken: tuple[str, ...] = ()
    message: str = ""
    met: tuple[str, ...] = ()


@dataclass
class RuleVerdict:
    """A rule's verdict: passed, failed, skipped, not applicable or not run."""

    rule: Rule
    verdict: str
    checks: list[str] = field(default_factory=list)
    reason: str = ""
    failed_checks: list[str] = field(default_factory=list)


def broken_rules(
    error: BaseException | None, test_rules: Iterable[str]
) -> tuple[str, ...]:
    """Return the rules a failure breaks; every rule of the test if it cannot tell."""
    found: list[str] = []
    _collect_rules(error, found)
    if not found:
        return tuple(test_rules)
    return tuple(dict.fromkeys(found))


def met_rules(error: BaseException | None, broken: Iterable[str]) -> tuple[str, ...]:
    """Return the rules a failure confirmed before it failed, less those it broke."""
    if not isinstance(error, RuleFailure):
        return ()
    return tuple(rule_id for rule_id in error.met if rule_id not in set(broken))


def _collect_rules(error: BaseException | None, found: list[str]) -> None:
    if error is None:
        return
    if isinstance(error, RuleFailure):
        found.extend((error.rule, *error.also_broken))
    elif isinstance(error, BaseExceptionGroup):
        for inner in error.exceptions:
            _collect_rules(inner, found)
    elif type(error).__name__ == "CustomFailure":
        _collect_rules(getattr(error, "exception", None), found)
    elif type(error).__name__ == "UndefinedStatusCode":
        status = getattr(error, "status_code", 0)
        found.append("migrate-accepted" if status < 400 else "fault-body")
    elif type(error).__name__ in SCHEMATHESIS_FAILURE_RULES:
        found.append(SCHEMATHESIS_FAILURE_RULES[type(error).__name__])


def rule_verdicts(
    rules: Mapping[str, Rule], results: Iterable[CheckResult]
) -> list[RuleVerdict]:
    """Return a verdict for every rule of the catalogue, in catalogue order.

    A rule fails when a check broke it. It passes when a check that names it
    passed, or when a failed check had confirmed it before failing at another
    rule. A check that stopped at another rule's failure before reaching this
    rule is no evidence.
    """
    verdicts = {
        rule_id: RuleVerdict(rule, "not run") for rule_id, rule in rules.items()
    }
    evidence: dict[str, set[str]] = {rule_id: set() for rule_id in rules}
    for result in results:
        for rule_id in result.rules:
            verdicts[rule_id].checks.append(result.nodeid)
        for rule_id in result.broken:
            if rule_id in verdicts:
                evidence[rule_id].add("failed")
                verdicts[rule_id].failed_checks.append(result.nodeid)
                if not verdicts[rule_id].reason:
                    verdicts[rule_id].reason = f"{result.nodeid}: {result.message}"
        for rule_id in result.met:
            if rule_id in evidence:
                evidence[rule_id].add("passed")
        if result.outcome in ("passed", "skipped"):
            for rule_id in result.rules:
                evidence[rule_id].add(result.outcome)
                if result.outcome == "skipped" and not verdicts[rule_id].reason:
                    verdicts[rule_id].reason = result.message
    for rule_id, verdict in verdicts.items():
        verdict.verdict = _decide(evidence[rule_id], verdict)
    return list(verdicts.values())


def _decide(evidence: set[str], verdict: RuleVerdict) -> str:
    if "failed" in evidence:
        return "failed"
    if "passed" in evidence:
        verdict.reason = ""
        return "passed"
    if "skipped" in evidence:
        if verdict.reason.startswith(NOT_APPLICABLE):
            verdict.reason = verdict.reason.removeprefix(NOT_APPLICABLE)
            return "not applicable"
        return "skipped"
    if verdict.checks and not verdict.reason:
        verdict.reason = "every check of this rule stopped at another rule's failure"
    return "not run"


def gate_passed(verdicts: Iterable[RuleVerdict]) -> bool:
    """Return whether no required rule failed: the verdict a CI gate acts on."""
    return not any(v.rule.required and v.verdict == "failed" for v in verdicts)
