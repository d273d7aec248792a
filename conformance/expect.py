"""Assertions that fail with the broken rule, what was expected, and the exchange."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, NoReturn

import pytest

from conformance.compute import describe_exchange
from conformance.spec import Spec

__all__ = [
    "CheckFailure",
    "RuleFailure",
    "describe_statuses",
    "expect_accepted",
    "expect_empty_body",
    "expect_fault",
    "expect_status",
    "not_applicable",
]

NOT_APPLICABLE = "not applicable: "
SERVER_ERROR_RULE = "no-server-error"


class RuleFailure(AssertionError):
    """A check found a rule broken; ``rule`` is its id in the catalogue.

    The verdicts name this rule as broken, rather than every rule the failed
    test checks. ``also_broken`` names further rules the same response broke.
    ``met`` names the rules the check had confirmed before it failed, such as
    the status rule of a right status with a wrong body.
    """

    def __init__(
        self,
        rule: str,
        message: str,
        met: tuple[str, ...] = (),
        also_broken: tuple[str, ...] = (),
    ) -> None:
        self.rule = rule
        self.met = met
        self.also_broken = also_broken
        super().__init__(message)


class CheckFailure(RuleFailure):
    """A response broke a rule: the rule, a title, what was expected and received.

    A 5xx response breaks no-server-error as well as ``rule``.
    """

    def __init__(
        self,
        rule: str,
        title: str,
        expected: str,
        response: Any,
        met: tuple[str, ...] = (),
    ) -> None:
        self.title = title
        reason = getattr(response, "reason", None) or getattr(response, "message", "")
        also_broken: tuple[str, ...] = ()
        named = f"rule {rule}"
        if response.status_code >= 500 and rule != SERVER_ERROR_RULE:
            also_broken = (SERVER_ERROR_RULE,)
            named = f"rules {rule} and {SERVER_ERROR_RULE}"
        super().__init__(
            rule,
            f"{title} ({named})\n"
            f"Expected: {expected}\n"
            f"Received: {response.status_code} {reason}\n"
            f"{describe_exchange(response)}",
            met,
            also_broken,
        )


def not_applicable(reason: str) -> NoReturn:
    """Skip a check that cannot apply to this target, with the reason in the report."""
    __tracebackhide__ = True
    pytest.skip(NOT_APPLICABLE + reason)


def expect_status(
    response: Any, expected: int | Collection[int], title: str, *, rule: str
) -> None:
    allowed = {expected} if isinstance(expected, int) else set(expected)
    if response.status_code not in allowed:
        raise CheckFailure(rule, title, describe_statuses(allowed), response)


def expect_accepted(response: Any, title: str, *, rule: str) -> None:
    """Check for 202: another 2xx breaks migrate-accepted, anything else ``rule``."""
    if response.status_code != 202 and 200 <= response.status_code < 300:
        rule = "migrate-accepted"
    expect_status(response, 202, title, rule=rule)


def describe_statuses(statuses: set[int]) -> str:
    """Write statuses as people read them: 202, 403 or 404, 4xx, 2xx to 4xx."""
    low, high = min(statuses), max(statuses)
    if len(statuses) > 2 and statuses == set(range(low, high + 1)):
        first, last = low // 100, high // 100
        return f"{first}xx" if first == last else f"{first}xx to {last}xx"
    return " or ".join(str(status) for status in sorted(statuses))


def expect_empty_body(response: Any, title: str) -> None:
    if response.content:
        raise CheckFailure("accepted-empty-body", title, "an empty body", response)


def expect_fault(
    response: Any, spec: Spec, status: int | Collection[int], title: str, *, rule: str
) -> None:
    """Check the status (rule ``rule``), then that the body is its documented fault.

    A wrong body breaks fault-body; the status rule counts as met, so its
    verdict does not hinge on the body.
    """
    expect_status(response, status, title, rule=rule)
    met = (rule,)
    validator = spec.response_validator(response.status_code)
    if validator is None:
        raise AssertionError(
            f"spec/openapi.yaml documents no JSON body for {response.status_code}"
        )
    shape = f"a {response.status_code} fault body as spec/openapi.yaml documents it"
    content_type = response.headers.get("Content-Type", "")
    if not content_type.startswith("application/json"):
        raise CheckFailure(
            "fault-body", f"{title}: the fault body is not JSON", shape, response, met
        )
    try:
        body = response.json()
    except ValueError:
        raise CheckFailure(
            "fault-body", f"{title}: the fault body is not JSON", shape, response, met
        ) from None
    errors = sorted(validator.iter_errors(body), key=lambda error: list(error.path))
    if errors:
        detail = "; ".join(error.message for error in errors[:3])
        raise CheckFailure(
            "fault-body",
            f"{title}: the body is not the documented fault ({detail})",
            shape,
            response,
            met,
        )
