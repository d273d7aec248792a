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
    "read_as_json",
]

TOKEN_HEADER = "X-Auth-Token"
JSON_MEDIA_TYPES = ("application/json", "application/vnd.openstack.compute+json")


def read_as_json(content_type: str) -> bool:
    """Return whether a Compute API reads a body sent with ``content_type`` as JSON.

    No Content-Type and ``text/plain`` count as JSON. Nova reads ``text/plain``
    as no Content-Type, because some WSGI servers fill it in for a request
    without one.
    """
    media_type = content_type.split(";")[0].strip().lower()
    return media_type in ("", "text/plain", *JSON_MEDIA_TYPES)


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
    case: schemathesis.Case, invalid: set[ParameterLocation], token: str
) -> tuple[set[int], str] | None:
    """Return the statuses a rule allows for an invalid request, and the rule.

    ``token`` is the valid token the request was generated with. Returns None
    for a valid request; for a body whose only fault is the value of migrate,
    which breaks an advisory rule checked in test_body.py; and for a
    ``text/plain`` Content-Type, which a Compute API reads as JSON.
    """
    if ParameterLocation.HEADER in invalid:
        content_type = str(case.headers.get("Content-Type") or case.media_type or "")
        if not read_as_json(content_type):
            return {415}, "content-type-json"
        if case.headers.get(TOKEN_HEADER) != token:
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
