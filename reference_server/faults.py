"""Compute API faults: one exception class per HTTP error the reference server sends.

Each class carries its status code and Nova's fault name, and renders the fault
body Nova sends, ``{"<name>": {"code": <status>, "message": "..."}}``::

    ComputeFault
    ├── BadRequest            400 badRequest
    ├── Forbidden             403 forbidden
    ├── NotFound              404 itemNotFound
    ├── MethodNotAllowed      405 badMethod
    ├── NotAcceptable         406 notAcceptable
    ├── Conflict              409 conflictingRequest
    ├── RequestEntityTooLarge 413 overLimit
    ├── UnsupportedMediaType  415 badMediaType
    └── InternalServerError   500 computeFault

    Unauthorized (401) is no compute fault: Keystone's auth middleware rejects the
    request before it reaches Nova, so it renders Keystone's error body instead.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

__all__ = [
    "KEYSTONE_URI",
    "BadRequest",
    "ComputeFault",
    "Conflict",
    "Forbidden",
    "HTTPError",
    "InternalServerError",
    "MethodNotAllowed",
    "NotAcceptable",
    "NotFound",
    "RequestEntityTooLarge",
    "Unauthorized",
    "UnsupportedMediaType",
    "additional_properties",
    "invalid_input",
    "shorten",
]

# Sent in WWW-Authenticate so a client knows where to get a token. No Keystone runs
# there: the reference server only reads tokens from the personas file.
KEYSTONE_URI = "http://127.0.0.1:5000/identity"

JSON_CONTENT_TYPE = "application/json"


class HTTPError(Exception):
    """An error sent as a response with ``status`` and the body from ``render``."""

    status: ClassVar[int] = 500

    def __init__(self, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = dict(headers or {})

    def render(self) -> bytes:
        """Return the response body as UTF-8 JSON."""
        raise NotImplementedError

    def response_headers(self) -> list[tuple[str, str]]:
        """Return Content-Type and the headers this error adds (Allow, ...)."""
        return [("Content-Type", JSON_CONTENT_TYPE), *self.headers.items()]


class ComputeFault(HTTPError):
    """A Nova fault, rendered as ``{"<name>": {"code": ..., "message": ...}}``."""

    name: ClassVar[str] = "computeFault"

    def render(self) -> bytes:
        body = {self.name: {"code": self.status, "message": self.message}}
        return json.dumps(body).encode("utf-8")


class BadRequest(ComputeFault):
    status = 400
    name = "badRequest"


class Forbidden(ComputeFault):
    status = 403
    name = "forbidden"


class NotFound(ComputeFault):
    status = 404
    name = "itemNotFound"


class MethodNotAllowed(ComputeFault):
    status = 405
    name = "badMethod"

    def __init__(self, message: str, allowed: list[str]) -> None:
        super().__init__(message, headers={"Allow": ", ".join(allowed)})


class NotAcceptable(ComputeFault):
    status = 406
    name = "notAcceptable"


class Conflict(ComputeFault):
    status = 409
    name = "conflictingRequest"


class RequestEntityTooLarge(ComputeFault):
    status = 413
    name = "overLimit"


class UnsupportedMediaType(ComputeFault):
    status = 415
    name = "badMediaType"


class InternalServerError(ComputeFault):
    status = 500
    name = "computeFault"


class Unauthorized(HTTPError):
    """Keystone's 401, byte for byte the body keystonemiddleware sends."""

    status = 401

    def __init__(self, message: str) -> None:
        # The message is for the server log only, because keystonemiddleware
        # sends the same fixed body whatever went wrong with the token.
        super().__init__(
            message, headers={"WWW-Authenticate": f'Keystone uri="{KEYSTONE_URI}"'}
        )

    def render(self) -> bytes:
        body = {
            "error": {
                "code": 401,
                "title": "Unauthorized",
                "message": "The request you have made requires authentication.",
            }
        }
        return json.dumps(body).encode("utf-8")


def shorten(value: object, limit: int = 80) -> str:
    """Return ``value`` as text cut to ``limit`` characters, for error messages."""
    text = value if isinstance(value, str) else json.dumps(value, default=repr)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def invalid_input(field: str, value: Any, reason: str) -> BadRequest:
    """Return a 400 worded like Nova's JSON-schema validation errors."""
    return BadRequest(
        f"Invalid input for field/attribute {field}. Value: {shorten(value)}. {reason}"
    )


def additional_properties(names: list[str]) -> str:
    """Word unexpected members the way jsonschema does, for ``invalid_input``."""
    listed = shorten(", ".join(repr(name) for name in sorted(names)))
    verb = "was" if len(names) == 1 else "were"
    return f"Additional properties are not allowed ({listed} {verb} unexpected)"
