"""Checks of generated requests for rules schemathesis's built-in checks let through.

The built-in checks accept a 202 that carries a body, and accept any 4xx (409
among them) for a malformed body. These checks hold generated requests to the
status each rule names.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from schemathesis import GenerationMode
from schemathesis.core.parameters import ParameterLocation

from conformance.expect import RuleFailure

__all__ = [
    "accepted_without_body",
    "body_rule",
    "expected_rejection",
    "invalid_locations",
]

JSON_MEDIA_TYPES = ("application/json", "application/vnd.openstack.compute+json")


def accepted_without_body(ctx: Any, response: Any, case: Any) -> bool | None:
    """Check rule accepted-empty-body: a 202 carries no body."""
    if response.status_code == 202 and response.content:
        raise RuleFailure(
            "accepted-empty-body",
            f"202 Accepted with a {len(response.content)}-byte body; the migrate "
            "action's 202 has an empty body (rule accepted-empty-body)",
        )
    return None


def invalid_locations(case: schemathesis.Case) -> set[ParameterLocation]:
    """Return the parts of the request that schemathesis generated invalid.

    Read this before ``case.call()``: later checks may re-judge the case.
    """
    meta = case.meta
    if meta is None:
        return set()
    return {
        location
        for location, info in meta.components.items()
        if info.mode == GenerationMode.NEGATIVE
    }


def expected_rejection(
    case: schemathesis.Case, invalid: set[ParameterLocation]
) -> tuple[set[int], str] | None:
    """Return the statuses a rule allows for an invalid request, and the rule.

    Returns None for a valid request, and for a body whose only fault is the
    value of migrate: that breaks an advisory rule, checked in test_body.py.
    """
    content_type = str(case.headers.get("Content-Type") or case.media_type or "")
    if ParameterLocation.HEADER in invalid:
        if content_type.split(";")[0].strip().lower() not in JSON_MEDIA_TYPES:
            return {415}, "content-type-json"
        return {401}, "token-required"
    if ParameterLocation.PATH in invalid:
        return set(range(400, 500)), "server-id-not-uuid"
    if ParameterLocation.BODY in invalid:
        rule = body_rule(case.body)
        return None if rule is None else ({400}, rule)
    return None


def body_rule(body: Any) -> str | None:
    """Return the rule an invalid body breaks; None when only migrate's value is off."""
    if not isinstance(body, dict):
        return "body-malformed"
    if "migrate" not in body:
        return "body-action-key"
    if len(body) > 1:
        return "body-single-key"
    return None
