"""Faulty implementations: the reference server with one rule broken each.

Each fault is a WSGI middleware around the correct reference app, so a fault
changes exactly one behaviour and the rest of the server stays right. Each names
the conformance tests that must fail because of it.
"""

from __future__ import annotations

import io
import json
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.personas import DEFAULT_PERSONAS_PATH, load_personas

REPOSITORY_ROOT = Path(__file__).resolve().parent.parent
PERSONAS = load_personas(DEFAULT_PERSONAS_PATH)
ACTION_PATH = re.compile(
    r"^/v2\.1/(?P<project>[^/]+)/servers/(?P<server>[^/]+)/action$"
)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


@dataclass
class Exchange:
    """One request as the middleware sees it, and the response it will send."""

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

    def respond(self, exchange: Exchange, status: str, document: Any = None) -> bool:
        exchange.status = status
        exchange.headers = [("Content-Type", "application/json")] if document else []
        exchange.response = (
            json.dumps(document).encode() if document is not None else b""
        )
        return True

    def before(self, exchange: Exchange) -> bool:
        """Change the request, or answer it; return True when answered."""
        return False

    def after(self, exchange: Exchange) -> None:
        """Change the response."""


class AcceptedAs200(Middleware):
    def after(self, exchange):
        if exchange.is_migrate and exchange.status.startswith("202"):
            exchange.status = "200 OK"


class BodyOn202(Middleware):
    def after(self, exchange):
        if exchange.is_migrate and exchange.status.startswith("202"):
            exchange.response = b'{"server": {"status": "RESIZE"}}'
            exchange.headers.append(("Content-Type", "application/json"))


class ExtraKeysAccepted(Middleware):
    def before(self, exchange):
        body = exchange.json_body()
        if exchange.action_match and isinstance(body, dict) and "migrate" in body:
            exchange.body = json.dumps({"migrate": body["migrate"]}).encode()
        return False


class MalformedJsonIs500(Middleware):
    def before(self, exchange):
        if (
            exchange.action_match
            and exchange.json_body() is None
            and exchange.body != b"null"
        ):
            return self.respond(
                exchange,
                "500 Internal Server Error",
                {"computeFault": {"code": 500, "message": "Unexpected API Error."}},
            )
        return False


class MissingTokenAccepted(Middleware):
    def before(self, exchange):
        if exchange.token is None:
            exchange.environ["HTTP_X_AUTH_TOKEN"] = PERSONAS["owner"].token
        return False


class OtherProjectAllowed(Middleware):
    def before(self, exchange):
        match = exchange.action_match
        if match and exchange.token == PERSONAS["other"].token and exchange.is_migrate:
            admin = PERSONAS["admin"]
            exchange.environ["HTTP_X_AUTH_TOKEN"] = admin.token
            exchange.environ["PATH_INFO"] = (
                f"/v2.1/{admin.project_id}/servers/{match['server']}/action"
            )
        return False


class VerifyResizeAccepted(Middleware):
    def before(self, exchange):
        match = exchange.action_match
        if (
            exchange.is_migrate
            and self.server_status(match["server"]) == "VERIFY_RESIZE"
        ):
            return self.respond(exchange, "202 Accepted")
        return False


class BadBodyIs409(Middleware):
    def after(self, exchange):
        if exchange.action_match and exchange.status.startswith("400"):
            exchange.status = "409 Conflict"
            exchange.response = json.dumps(
                {"conflictingRequest": {"code": 409, "message": "Bad body."}}
            ).encode()


class NonJsonContentTypeAccepted(Middleware):
    def before(self, exchange):
        if exchange.action_match:
            exchange.environ["CONTENT_TYPE"] = "application/json"
        return False


class LockIgnoredForOwner(Middleware):
    def before(self, exchange):
        match = exchange.action_match
        owner = PERSONAS["owner"]
        if exchange.is_migrate and exchange.token == owner.token:
            self.call(
                "POST",
                f"/v2.1/{owner.project_id}/servers/{match['server']}/action",
                owner.token,
                {"unlock": None},
            )
        return False


class TenantMismatchAccepted(Middleware):
    def before(self, exchange):
        match = exchange.action_match
        tokens = {persona.token: persona for persona in PERSONAS.personas.values()}
        persona = tokens.get(exchange.token or "")
        if match and persona is not None:
            exchange.environ["PATH_INFO"] = (
                f"/v2.1/{persona.project_id}/servers/{match['server']}/action"
            )
        return False


class NothingHappens(Middleware):
    def before(self, exchange):
        if exchange.is_migrate and exchange.token in (
            PERSONAS["admin"].token,
            PERSONAS["owner"].token,
        ):
            return self.respond(exchange, "202 Accepted")
        return False


class NonUuidServerIdIs500(Middleware):
    def before(self, exchange):
        match = exchange.action_match
        if match:
            try:
                uuid.UUID(match["server"])
            except ValueError:
                return self.respond(
                    exchange,
                    "500 Internal Server Error",
                    {"computeFault": {"code": 500, "message": "Unexpected API Error."}},
                )
        return False


class FaultBodyWrongShape(Middleware):
    def after(self, exchange):
        if exchange.action_match and exchange.status[:1] == "4":
            exchange.response = json.dumps({"error": exchange.status}).encode()


class ConcurrentDoubleAccept(Middleware):
    """Answer 202 to a migrate of a server that is already migrating."""

    def before(self, exchange):
        match = exchange.action_match
        if exchange.is_migrate and self.server_status(match["server"]) == "RESIZE":
            return self.respond(exchange, "202 Accepted")
        return False


class MissingResponseHeaders(Middleware):
    def after(self, exchange):
        exchange.headers = [
            (k, v)
            for k, v in exchange.headers
            if k.lower() not in ("x-openstack-request-id", "openstack-api-version")
        ]


@dataclass(frozen=True)
class Fault:
    """A faulty variant: how to build it, and which tests must catch it."""

    name: str
    rule: str
    must_fail: tuple[str, ...]
    middleware: type[Middleware] | None = None
    server_policy: Path | None = None
    suite_policy: Path | None = None
    advisory: bool = False


POLICIES = REPOSITORY_ROOT / "policies"

# Whether the suite caught each fault (its rule's verdict was "failed"), filled in
# by test_faulty_servers.py and summed up as the kill rate at the end of the run.
FAULT_OUTCOMES: dict[str, bool] = {}

FAULTS = [
    Fault(
        "accepted-as-200",
        "migrate-accepted",
        ("test_document_body_is_accepted",),
        AcceptedAs200,
    ),
    Fault(
        "body-on-202",
        "accepted-empty-body",
        ("test_document_body_is_accepted", "test_generated_migrate_requests"),
        BodyOn202,
    ),
    Fault(
        "extra-keys-accepted",
        "body-single-key",
        ("test_bad_body_is_400[extra-key-is-400]",),
        ExtraKeysAccepted,
    ),
    Fault(
        "malformed-json-is-500",
        "body-malformed",
        ("test_bad_body_is_400[truncated-json-is-400]",),
        MalformedJsonIs500,
    ),
    Fault(
        "missing-token-accepted",
        "token-required",
        ("test_request_without_valid_token_is_401[missing-token]",),
        MissingTokenAccepted,
    ),
    Fault(
        "other-project-allowed",
        "policy-default",
        ("test_default_policy_outcome[other-project-member]",),
        OtherProjectAllowed,
    ),
    Fault(
        "policy-file-ignored",
        "policy-configurable",
        ("test_policy_file_outcome[owner-active]",),
        None,
        None,
        POLICIES / "admin-only.yaml",
    ),
    Fault(
        "verify-resize-accepted",
        "state-conflict",
        ("test_server_that_cannot_move_is_409[VERIFY_RESIZE]",),
        VerifyResizeAccepted,
    ),
    Fault(
        "bad-body-is-409",
        "body-malformed",
        ("test_bad_body_is_400[empty-body-is-400]", "test_generated_migrate_requests"),
        BadBodyIs409,
    ),
    Fault(
        "non-json-content-type-accepted",
        "content-type-json",
        ("test_body_not_sent_as_json_is_415[text/plain]",),
        NonJsonContentTypeAccepted,
    ),
    Fault(
        "lock-ignored-for-owner",
        "locked-conflict",
        ("test_locked_server_is_409_for_owner",),
        LockIgnoredForOwner,
    ),
    Fault(
        "tenant-mismatch-accepted",
        "tenant-id-mismatch",
        ("test_tenant_id_of_another_project_is_400",),
        TenantMismatchAccepted,
    ),
    Fault(
        "nothing-happens",
        "server-migrates",
        ("test_migrated_server_lands_on_another_host",),
        NothingHappens,
    ),
    Fault(
        "non-uuid-server-id-is-500",
        "server-id-not-uuid",
        (
            "test_non_uuid_server_id_is_never_accepted[word]",
            "test_generated_server_ids",
        ),
        NonUuidServerIdIs500,
    ),
    Fault(
        "fault-body-wrong-shape",
        "fault-body",
        ("test_unknown_server_is_404",),
        FaultBodyWrongShape,
    ),
    Fault(
        "concurrent-double-accept",
        "concurrent-single-accept",
        ("test_concurrent_migrates_accept_exactly_one",),
        ConcurrentDoubleAccept,
    ),
    Fault(
        "missing-response-headers",
        "response-headers",
        ("test_accepted_response_names_request_and_microversion",),
        MissingResponseHeaders,
        advisory=True,
    ),
]
