"""The base of the faulty servers: a WSGI middleware around every exchange.

A fault subclasses ``Middleware`` and changes a request before the correct
reference app handles it, or the response after.
"""

from __future__ import annotations

import io
import json
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any

from conformance.personas import DEFAULT_PERSONAS_PATH, Persona, load_personas
from reference_server.faults import (
    HTTPError,
)

REPOSITORY_ROOT = Path(__file__).resolve().parent.parent.parent
PERSONAS = load_personas(DEFAULT_PERSONAS_PATH)
PERSONAS_BY_TOKEN = {persona.token: persona for persona in PERSONAS.personas.values()}
ACTION_PATH = re.compile(
    r"^/v2\.1/(?P<project>[^/]+)/servers/(?P<server>[^/]+)/action$"
)
DASHED_UUID = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE
)
KEYSTONE_PROJECT_ID = re.compile(r"[0-9a-f]{32}")
DOCUMENT_BODY = {"migrate": None}

# Longer than the --request-timeout of 2 s that tests/test_faulty_servers.py
# passes, and short enough that a hung request ends on its own.
HANG_SECONDS = 3.0

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


@dataclass
class Exchange:
    """One request as the middleware received it, and the response it will send."""

    environ: dict[str, Any]
    body: bytes
    status: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)
    response: bytes = b""

    @property
    def action_match(self) -> re.Match[str] | None:
        if self.environ["REQUEST_METHOD"] != "POST":
            return None
        return ACTION_PATH.match(self.environ.get("PATH_INFO", ""))

    def json_body(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def set_json_body(self, document: Any) -> None:
        self.body = json.dumps(document).encode()

    def set_header(self, name: str, value: str) -> None:
        """Set a response header, replacing any of the same name."""
        self.headers = [(k, v) for k, v in self.headers if k.lower() != name.lower()]
        self.headers.append((name, value))

    @property
    def is_migrate(self) -> bool:
        body = self.json_body()
        return (
            self.action_match is not None
            and isinstance(body, dict)
            and "migrate" in body
        )

    @property
    def token(self) -> str | None:
        return self.environ.get("HTTP_X_AUTH_TOKEN")

    @property
    def persona(self) -> Persona | None:
        """The persona whose token the request carries, if the token is known."""
        return PERSONAS_BY_TOKEN.get(self.token or "")


class Middleware:
    """Rewrite requests before, and responses after, the correct app."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        exchange = Exchange(environ, body)
        if not self.before(exchange):
            self.forward(exchange)
        self.after(exchange)
        headers = [(k, v) for k, v in exchange.headers if k.lower() != "content-length"]
        headers.append(("Content-Length", str(len(exchange.response))))
        start_response(exchange.status, headers)
        return [exchange.response]

    def forward(self, exchange: Exchange) -> None:
        environ = dict(exchange.environ)
        environ["wsgi.input"] = io.BytesIO(exchange.body)
        environ["CONTENT_LENGTH"] = str(len(exchange.body))
        captured: dict[str, Any] = {}

        def start_response(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers

        exchange.response = b"".join(self.app(environ, start_response))
        exchange.status, exchange.headers = (
            captured["status"],
            list(captured["headers"]),
        )

    def call(
        self, method: str, path: str, token: str, body: Any = None
    ) -> tuple[int, Any]:
        """Send a request of the middleware's own to the correct app."""
        data = json.dumps(body).encode() if body is not None else b""
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(data),
            "wsgi.errors": io.StringIO(),
            "CONTENT_LENGTH": str(len(data)),
            "CONTENT_TYPE": "application/json",
            "HTTP_X_AUTH_TOKEN": token,
        }
        exchange = Exchange(environ, data)
        self.forward(exchange)
        document = json.loads(exchange.response) if exchange.response else None
        return int(exchange.status.split()[0]), document

    def server_status(self, server_id: str) -> str | None:
        admin = PERSONAS["admin"]
        status, document = self.call(
            "GET", f"/v2.1/{admin.project_id}/servers/{server_id}", admin.token
        )
        return document["server"]["status"] if status == 200 else None

    def is_unknown_server(self, exchange: Exchange) -> bool:
        """Return whether the request migrates a UUID that names no server.

        Ids that are not UUIDs are left out, so that a fault of rule
        server-id-unknown leaves rule server-id-not-uuid intact.
        """
        match = exchange.action_match
        return (
            exchange.is_migrate
            and DASHED_UUID.fullmatch(match["server"]) is not None
            and self.server_status(match["server"]) is None
        )

    def respond(self, exchange: Exchange, status: str, document: Any = None) -> bool:
        exchange.status = status
        exchange.headers = [("Content-Type", "application/json")] if document else []
        # The headers the correct app sends on every response, so that only the
        # fault's own rule breaks.
        exchange.headers += [
            ("x-openstack-request-id", f"req-{uuid.uuid4()}"),
            ("OpenStack-API-Version", "compute 2.1"),
        ]
        exchange.response = (
            json.dumps(document).encode() if document is not None else b""
        )
        return True

    def respond_fault(self, exchange: Exchange, error: HTTPError) -> bool:
        """Respond with the fault body the reference server renders for ``error``."""
        self.respond(exchange, status_line(error.status), json.loads(error.render()))
        return True

    def before(self, exchange: Exchange) -> bool:
        """Change the request, or respond to it and return True."""
        return False

    def after(self, exchange: Exchange) -> None:
        """Change the response."""


def status_line(code: int) -> str:
    return f"{code} {HTTPStatus(code).phrase}"
