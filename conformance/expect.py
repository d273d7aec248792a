"""Assertions that fail with what was expected, what was received, and the exchange."""

from __future__ import annotations

from collections.abc import Collection

import requests

from conformance.compute import describe_exchange
from conformance.spec import Spec

__all__ = ["CheckFailure", "expect_empty_body", "expect_fault", "expect_status"]


class CheckFailure(AssertionError):
    """A target's answer broke a rule: a title, then what was expected and received."""

    def __init__(self, title: str, expected: str, response: requests.Response) -> None:
        self.title = title
        super().__init__(
            f"{title}\n"
            f"Expected: {expected}\n"
            f"Received: {response.status_code} {response.reason}\n"
            f"{describe_exchange(response)}"
        )


def expect_status(
    response: requests.Response, expected: int | Collection[int], title: str
) -> None:
    allowed = {expected} if isinstance(expected, int) else set(expected)
    if response.status_code not in allowed:
        shown = " or ".join(str(status) for status in sorted(allowed))
        raise CheckFailure(title, shown, response)


def expect_empty_body(response: requests.Response, title: str) -> None:
    if response.content:
        raise CheckFailure(title, "an empty body", response)


def expect_fault(
    response: requests.Response, spec: Spec, status: int, title: str
) -> None:
    """Check the status and that the body is the fault the spec documents for it."""
    expect_status(response, status, title)
    validator = spec.response_validator(status)
    if validator is None:
        raise AssertionError(f"spec/openapi.yaml documents no JSON body for {status}")
    content_type = response.headers.get("Content-Type", "")
    if not content_type.startswith("application/json"):
        raise CheckFailure(
            f"{title}: the fault body is not JSON",
            "Content-Type application/json",
            response,
        )
    try:
        body = response.json()
    except ValueError:
        raise CheckFailure(
            f"{title}: the fault body is not JSON", "a JSON fault body", response
        ) from None
    errors = sorted(validator.iter_errors(body), key=lambda error: list(error.path))
    if errors:
        detail = "; ".join(error.message for error in errors[:3])
        raise CheckFailure(
            f"{title}: the fault body is not the documented {status} fault ({detail})",
            f"{status} with a fault body as spec/openapi.yaml documents it",
            response,
        )
