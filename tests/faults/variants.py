"""Faulty servers: the reference server with one rule broken each.

Each fault is a WSGI middleware around the correct reference app, so it changes
exactly one behaviour and the rest of the server stays right.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any, ClassVar

from reference_server.actions import ACTIONS
from reference_server.app import DEFAULT_MAX_BODY_BYTES
from reference_server.faults import (
    BadRequest,
    Forbidden,
    InternalServerError,
)
from tests.faults.base import (
    DOCUMENT_BODY,
    HANG_SECONDS,
    KEYSTONE_PROJECT_ID,
    PERSONAS,
    Middleware,
)


class AcceptedWithStatus(Middleware):
    """Send ``status`` where the correct app accepts a migrate with 202."""

    status: ClassVar[str]

    def after(self, exchange):
        if exchange.is_migrate and exchange.status.startswith("202"):
            exchange.status = self.status


class AcceptedAs200(AcceptedWithStatus):
    status: ClassVar[str] = "200 OK"


class AcceptedAs201(AcceptedWithStatus):
    status: ClassVar[str] = "201 Created"


class AcceptedAs204(AcceptedWithStatus):
    status: ClassVar[str] = "204 No Content"


class MigrateRedirected(Middleware):
    """Send 302 to the server's URL where the correct app sends 202.

    The Location is a path on this server, so a client that follows it stays on
    the loopback address the suite targets.
    """

    def after(self, exchange):
        match = exchange.action_match
        if exchange.is_migrate and exchange.status.startswith("202"):
            exchange.status = "302 Found"
            exchange.set_header(
                "Location", f"/v2.1/{match['project']}/servers/{match['server']}"
            )


class BodyOn202(Middleware):
    def after(self, exchange):
        if exchange.is_migrate and exchange.status.startswith("202"):
            exchange.response = b'{"server": {"status": "RESIZE"}}'
            exchange.headers.append(("Content-Type", "application/json"))


class ExtraKeysAccepted(Middleware):
    def before(self, exchange):
        body = exchange.json_body()
        if exchange.action_match and isinstance(body, dict) and "migrate" in body:
            exchange.set_json_body({"migrate": body["migrate"]})
        return False


class MissingActionKeyAccepted(Middleware):
    """Read an action body that names no known action, such as ``{}``, as migrate."""

    def before(self, exchange):
        body = exchange.json_body()
        if (
            exchange.action_match
            and isinstance(body, dict)
            and not set(body) & set(ACTIONS)
        ):
            exchange.set_json_body(DOCUMENT_BODY)
        return False


class MalformedBodyAccepted(Middleware):
    """Read an action body that is not a JSON object as the document's body."""

    def before(self, exchange):
        if exchange.action_match and not isinstance(exchange.json_body(), dict):
            exchange.set_json_body(DOCUMENT_BODY)
        return False


class MalformedJsonIs500(Middleware):
    def before(self, exchange):
        if (
            exchange.action_match
            and exchange.json_body() is None
            and exchange.body != b"null"
        ):
            return self.respond_fault(
                exchange, InternalServerError("Unexpected API Error.")
            )
        return False


class BadBodyIs409(Middleware):
    def after(self, exchange):
        if exchange.action_match and exchange.status.startswith("400"):
            exchange.status = "409 Conflict"
            exchange.response = json.dumps(
                {"conflictingRequest": {"code": 409, "message": "Bad body."}}
            ).encode()


class BadRequestAsPlainText(Middleware):
    """Send a 400 of the action as the text "Bad Request", not as a fault body."""

    def after(self, exchange):
        if exchange.action_match and exchange.status.startswith("400"):
            exchange.response = b"Bad Request"
            exchange.set_header("Content-Type", "text/plain")


class BodyRejected(Middleware):
    """Reject with 400 a migrate whose body is ``body``, which is valid."""

    body: ClassVar[Any]

    def before(self, exchange):
        # The size limit comes first, as in the correct app.
        if (
            exchange.action_match
            and len(exchange.body) <= DEFAULT_MAX_BODY_BYTES
            and exchange.json_body() == self.body
        ):
            message = f"Invalid input for the body {json.dumps(self.body)}"
            return self.respond_fault(exchange, BadRequest(message))
        return False


class DocumentBodyRejected(BodyRejected):
    body: ClassVar[Any] = DOCUMENT_BODY


class ClientBodyRejected(BodyRejected):
    body: ClassVar[Any] = {"migrate": {}}


class StringValueAccepted(Middleware):
    """Read a string value of migrate, which only an advisory rule rejects, as null."""

    def before(self, exchange):
        body = exchange.json_body()
        if (
            exchange.is_migrate
            and list(body) == ["migrate"]
            and isinstance(body["migrate"], str)
        ):
            exchange.set_json_body(DOCUMENT_BODY)
        return False


class NonJsonContentTypeAccepted(Middleware):
    def before(self, exchange):
        if exchange.action_match:
            exchange.environ["CONTENT_TYPE"] = "application/json"
        return False


class OversizedBodyIs500(Middleware):
    def before(self, exchange):
        if exchange.action_match and len(exchange.body) > DEFAULT_MAX_BODY_BYTES:
            return self.respond_fault(
                exchange, InternalServerError("Unexpected API Error.")
            )
        return False


class OversizedBodyIs400(Middleware):
    def after(self, exchange):
        if exchange.action_match and exchange.status.startswith("413"):
            self.respond_fault(exchange, BadRequest("Request is too large."))


class UnknownServerIs403(Middleware):
    def before(self, exchange):
        if self.is_unknown_server(exchange):
            return self.respond_fault(exchange, Forbidden("Policy does not allow."))
        return False


class UnknownServerIs200(Middleware):
    def before(self, exchange):
        if self.is_unknown_server(exchange):
            return self.respond(exchange, "200 OK")
        return False


class UnknownServerHangs(Middleware):
    """Delay a migrate of an unknown server past the timeout, then send the 404."""

    def before(self, exchange):
        if self.is_unknown_server(exchange):
            time.sleep(HANG_SECONDS)
        return False


class NonUuidServerIdIs500(Middleware):
    def before(self, exchange):
        match = exchange.action_match
        if match:
            try:
                uuid.UUID(match["server"])
            except ValueError:
                return self.respond_fault(
                    exchange, InternalServerError("Unexpected API Error.")
                )
        return False


class LongServerIdTruncated(Middleware):
    """Cut a 37-character server id to the UUID it starts with, and migrate that."""

    def before(self, exchange):
        match = exchange.action_match
        if exchange.is_migrate and len(match["server"]) == 37:
            exchange.environ["PATH_INFO"] = (
                f"/v2.1/{match['project']}/servers/{match['server'][:-1]}/action"
            )
        return False


class KeystoneProjectIdRejected(Middleware):
    """Reject a migrate whose tenant_id is 32 hex digits, Keystone's form."""

    def before(self, exchange):
        match = exchange.action_match
        if exchange.is_migrate and KEYSTONE_PROJECT_ID.fullmatch(match["project"]):
            message = f"Malformed request URL: {match['project']} is not a UUID"
            return self.respond_fault(exchange, BadRequest(message))
        return False


class TenantMismatchAccepted(Middleware):
    def before(self, exchange):
        match = exchange.action_match
        persona = exchange.persona
        if match and persona is not None:
            exchange.environ["PATH_INFO"] = (
                f"/v2.1/{persona.project_id}/servers/{match['server']}/action"
            )
        return False


class MissingTokenAccepted(Middleware):
    def before(self, exchange):
        if exchange.token is None:
            exchange.environ["HTTP_X_AUTH_TOKEN"] = PERSONAS["owner"].token
        return False


class UnknownTokenAccepted(Middleware):
    def before(self, exchange):
        if exchange.token is not None and exchange.persona is None:
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


class OtherProjectAcceptedAsNoOp(Middleware):
    """Send 202 where the correct app rejects another project's migrate, as a no-op."""

    def after(self, exchange):
        match = exchange.action_match
        if (
            exchange.is_migrate
            and exchange.token == PERSONAS["other"].token
            and exchange.status[:3] in ("403", "404")
            and self.server_status(match["server"]) is not None
        ):
            self.respond(exchange, "202 Accepted")


class AcceptedWhile(Middleware):
    """Send 202 as a no-op when the server's status is in ``server_statuses``."""

    server_statuses: ClassVar[frozenset[str]]

    def before(self, exchange):
        match = exchange.action_match
        if (
            exchange.is_migrate
            and self.server_status(match["server"]) in self.server_statuses
        ):
            return self.respond(exchange, "202 Accepted")
        return False


class VerifyResizeAccepted(AcceptedWhile):
    server_statuses: ClassVar[frozenset[str]] = frozenset({"VERIFY_RESIZE"})


class PausedAccepted(AcceptedWhile):
    server_statuses: ClassVar[frozenset[str]] = frozenset({"PAUSED"})


class ConcurrentDoubleAccept(AcceptedWhile):
    """Answer 202 to a migrate of a server that is already migrating."""

    server_statuses: ClassVar[frozenset[str]] = frozenset({"RESIZE"})


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


class NothingHappens(Middleware):
    def before(self, exchange):
        if exchange.is_migrate and exchange.token in (
            PERSONAS["admin"].token,
            PERSONAS["owner"].token,
        ):
            return self.respond(exchange, "202 Accepted")
        return False


class ConfirmReverts(Middleware):
    """Run confirmResize as revertResize, so the server returns to its source host."""

    def before(self, exchange):
        body = exchange.json_body()
        if exchange.action_match and isinstance(body, dict) and "confirmResize" in body:
            exchange.set_json_body({"revertResize": body["confirmResize"]})
        return False


class FaultBodyWrongShape(Middleware):
    def after(self, exchange):
        if exchange.action_match and exchange.status[:1] == "4":
            exchange.response = json.dumps({"error": exchange.status}).encode()


class FaultBodyAsHtml(Middleware):
    """Label the action's fault bodies text/html; the JSON in them stays right."""

    def after(self, exchange):
        if exchange.action_match and exchange.status[:1] == "4":
            exchange.set_header("Content-Type", "text/html")


class MissingResponseHeaders(Middleware):
    def after(self, exchange):
        exchange.headers = [
            (k, v)
            for k, v in exchange.headers
            if k.lower() not in ("x-openstack-request-id", "openstack-api-version")
        ]
