"""WSGI request and response primitives, and the checks every request goes through.

The checks follow Nova's API stack: a bounded body read (the size limit), the
request's Content-Type, the microversion headers and the JSON body.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from .faults import (
    BadRequest,
    NotAcceptable,
    RequestEntityTooLarge,
    UnsupportedMediaType,
    shorten,
)

__all__ = [
    "MICROVERSION",
    "Request",
    "Response",
    "check_microversion",
    "json_response",
    "parse_json_body",
]

MICROVERSION = "2.1"

# Nova's two request media types (nova.api.openstack.wsgi).
_JSON_MEDIA_TYPES = frozenset(
    {"application/json", "application/vnd.openstack.compute+json"}
)
_VERSION_PATTERN = re.compile(r"([1-9][0-9]*)\.([1-9][0-9]*|0)")
_READ_CHUNK = 65536


@dataclass
class Response:
    """A response to send: status code, headers and a complete body."""

    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)


def json_response(status: int, document: Mapping[str, Any]) -> Response:
    """Return a response carrying ``document`` as JSON."""
    body = json.dumps(document).encode("utf-8")
    return Response(status, body, [("Content-Type", "application/json")])


class Request:
    """The parts of a WSGI environ the API reads, with the body read once."""

    def __init__(self, environ: Mapping[str, Any], max_body_bytes: int) -> None:
        self.environ = environ
        self.max_body_bytes = max_body_bytes
        self.method = str(environ.get("REQUEST_METHOD", "GET")).upper()
        self.path = _decode_wsgi_str(str(environ.get("PATH_INFO", "")))
        self.body = b""

    def header(self, name: str) -> str | None:
        """Return a request header by its HTTP name, or None."""
        key = name.upper().replace("-", "_")
        if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            key = "HTTP_" + key
        value = self.environ.get(key)
        return None if value is None else str(value)

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(
            str(self.environ.get("QUERY_STRING", "")), keep_blank_values=True
        )

    @property
    def base_url(self) -> str:
        """The URL up to the application root, from the Host the client sent."""
        scheme = self.environ.get("wsgi.url_scheme", "http")
        host = self.environ.get("HTTP_HOST") or "{}:{}".format(
            self.environ.get("SERVER_NAME", "localhost"),
            self.environ.get("SERVER_PORT", "80"),
        )
        return f"{scheme}://{host}{self.environ.get('SCRIPT_NAME', '')}"

    def read_body(self) -> bytes:
        """Read the body, never more than ``max_body_bytes`` + 1 bytes.

        Raises RequestEntityTooLarge (413) when Content-Length or the bytes
        actually sent exceed the limit, and BadRequest for a bad Content-Length.
        """
        limit = self.max_body_bytes
        length = self._content_length()
        if length is not None and length > limit:
            raise RequestEntityTooLarge(_too_large_message(limit))

        if length is not None:
            to_read = length
        elif self._body_until_eof():
            to_read = limit + 1
        else:
            to_read = 0

        self.body = (
            _read_at_most(self.environ["wsgi.input"], to_read) if to_read else b""
        )
        if len(self.body) > limit:
            raise RequestEntityTooLarge(_too_large_message(limit))
        return self.body

    def _content_length(self) -> int | None:
        raw = self.environ.get("CONTENT_LENGTH")
        if raw is None or str(raw).strip() == "":
            return None
        text = str(raw).strip()
        if not text.isdigit() or not text.isascii():
            raise BadRequest(f"Invalid Content-Length header: {shorten(text)!r}")
        # A length of more than 18 digits is over any limit, so skip int() on it.
        return int(text) if len(text) <= 18 else self.max_body_bytes + 1

    def _body_until_eof(self) -> bool:
        encoding = str(self.environ.get("HTTP_TRANSFER_ENCODING", "")).lower()
        return "chunked" in encoding or bool(self.environ.get("wsgi.input_terminated"))

    def check_content_type(self) -> None:
        """Raise UnsupportedMediaType (415) unless the body is declared as JSON.

        A request without Content-Type, or with ``text/plain``, is read as JSON,
        as Nova's wsgi.Request.get_content_type does, because eventlet and other
        WSGI servers fill in ``text/plain`` when a request has no Content-Type.
        """
        raw = self.environ.get("CONTENT_TYPE")
        if raw is None:
            return
        media_type = str(raw).split(";", 1)[0].strip().lower()
        if media_type in ("", "text/plain") or media_type in _JSON_MEDIA_TYPES:
            return
        raise UnsupportedMediaType("Unsupported Content-Type")


def check_microversion(request: Request) -> None:
    """Raise unless the requested compute microversion is 2.1 or "latest".

    ``OpenStack-API-Version: compute X`` wins over the legacy
    ``X-OpenStack-Nova-API-Version: X``. A malformed version is a 400, a valid
    one this server does not implement a 406, both with Nova's messages.
    """
    version = _requested_version(request)
    if version is None or version.lower() == "latest":
        return

    match = _VERSION_PATTERN.fullmatch(version)
    if match is None:
        raise BadRequest(
            f"API Version String {shorten(version)} is of invalid format. Must be of"
            " format MajorNum.MinorNum."
        )
    if (match[1], match[2]) != ("2", "1"):
        raise NotAcceptable(
            f"Version {shorten(version)} is not supported by the API. Minimum is"
            f" {MICROVERSION} and maximum is {MICROVERSION}."
        )


def _requested_version(request: Request) -> str | None:
    header = request.header("OpenStack-API-Version")
    if header is not None:
        versions = []
        for entry in header.split(","):
            words = entry.split()
            if words and words[0].lower() == "compute":
                versions.append(" ".join(words[1:]))
        if len(versions) > 1:
            raise BadRequest(
                f"OpenStack-API-Version header names compute more than once: "
                f"{shorten(header)!r}"
            )
        if versions:
            return versions[0]

    legacy = request.header("X-OpenStack-Nova-API-Version")
    return None if legacy is None else legacy.strip()


def parse_json_body(body: bytes) -> Any:
    """Decode a JSON request body, or raise BadRequest with Nova's message."""
    if not body.strip():
        raise BadRequest("Malformed request body: the body is empty")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(
            f"Malformed request body: not UTF-8 at byte {exc.start}"
        ) from exc
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        # RecursionError: deeply nested arrays are valid JSON deeper than
        # Python's parser goes, so they are rejected like unreadable JSON.
        raise BadRequest(
            f"Malformed request body: cannot understand JSON ({exc})"
        ) from exc


def _read_at_most(stream: Any, size: int) -> bytes:
    chunks: list[bytes] = []
    remaining = size
    while remaining > 0:
        chunk = stream.read(min(remaining, _READ_CHUNK))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _too_large_message(limit: int) -> str:
    return f"Request is too large. The maximum request body size is {limit} bytes."


def _decode_wsgi_str(value: str) -> str:
    # PEP 3333 hands over the path as Latin-1 text of the raw bytes.
    try:
        return value.encode("latin-1").decode("utf-8", errors="replace")
    except UnicodeEncodeError:
        return value
