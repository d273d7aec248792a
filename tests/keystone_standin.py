"""A stand-in for Keystone's identity API v3, enough for keystoneauth1 to log in.

It serves version discovery (``GET /`` and ``GET /v3``) and token creation
(``POST /v3/auth/tokens``) with the password, token and application_credential
methods, scoped to a project by id or by name and domain, or unscoped. Response
bodies follow the Identity API v3 reference; the test configures the users,
projects, role assignments and the compute endpoints of the service catalog.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = [
    "ApplicationCredential",
    "KeystoneStandin",
    "KeystoneUser",
    "Project",
]

logger = logging.getLogger("tests.keystone_standin")

StartResponse = Callable[[str, list[tuple[str, str]]], Any]

DEFAULT_DOMAIN = {"id": "default", "name": "Default"}
TOKEN_LIFETIME = timedelta(hours=1)
REGION = "RegionOne"

# Keystone's message for every failed authentication. It names no cause, so a
# caller cannot tell a wrong password from an unknown user or project.
UNAUTHORIZED_MESSAGE = "The request you have made requires authentication."


@dataclass(frozen=True)
class Project:
    """A Keystone project in the default domain."""

    id: str
    name: str


@dataclass(frozen=True)
class KeystoneUser:
    """A user in the default domain, with role names per project id."""

    id: str
    name: str
    password: str = field(repr=False)
    roles: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class ApplicationCredential:
    """An application credential, which always yields a token for its project."""

    id: str
    secret: str = field(repr=False)
    user_id: str
    project_id: str
    roles: tuple[str, ...]


@dataclass(frozen=True)
class _Grant:
    """The user, optional project and roles that an issued token is for."""

    user: KeystoneUser
    project: Project | None
    roles: tuple[str, ...]


class _KeystoneError(Exception):
    def __init__(self, code: int, title: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.title = title
        self.message = message


def _unauthorized() -> _KeystoneError:
    return _KeystoneError(401, "Unauthorized", UNAUTHORIZED_MESSAGE)


def _bad_request(message: str) -> _KeystoneError:
    return _KeystoneError(400, "Bad Request", message)


class KeystoneStandin:
    """The WSGI application. Serve it with ``reference_server.serve_in_thread``.

    ``compute_endpoints`` maps an interface (public, internal, admin) to the URL
    the catalog lists for the compute service. Empty leaves compute out.
    """

    def __init__(
        self,
        *,
        users: Iterable[KeystoneUser],
        projects: Iterable[Project],
        compute_endpoints: Mapping[str, str],
        application_credentials: Iterable[ApplicationCredential] = (),
    ) -> None:
        self.users = {user.id: user for user in users}
        self.projects = {project.id: project for project in projects}
        self.compute_endpoints = dict(compute_endpoints)
        self.application_credentials = {
            credential.id: credential for credential in application_credentials
        }
        self._tokens: dict[str, _Grant] = {}
        self._lock = threading.Lock()

    def token_scope(self, token_id: str) -> tuple[str, str | None] | None:
        """Return the user id and project id of an issued token, None if unknown."""
        with self._lock:
            grant = self._tokens.get(token_id)
        if grant is None:
            return None
        return grant.user.id, grant.project.id if grant.project else None

    def __call__(
        self, environ: dict[str, Any], start_response: StartResponse
    ) -> list[bytes]:
        method = environ["REQUEST_METHOD"]
        path = environ.get("PATH_INFO", "/").rstrip("/") or "/"
        base_url = f"{environ['wsgi.url_scheme']}://{environ['HTTP_HOST']}"

        try:
            status, headers, body = self._route(method, path, environ, base_url)
        except _KeystoneError as exc:
            logger.info("%s %s -> %d %s", method, path, exc.code, exc.message)
            error = {"code": exc.code, "title": exc.title, "message": exc.message}
            status = f"{exc.code} {exc.title}"
            headers = []
            if exc.code == 401:
                headers.append(("WWW-Authenticate", f'Keystone uri="{base_url}/v3"'))
            body = {"error": error}
        else:
            logger.info("%s %s -> %s", method, path, status)

        payload = json.dumps(body).encode()
        headers += [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(payload))),
        ]
        start_response(status, headers)
        return [payload]

    def _route(
        self, method: str, path: str, environ: dict[str, Any], base_url: str
    ) -> tuple[str, list[tuple[str, str]], dict[str, Any]]:
        allowed = {"/": "GET", "/v3": "GET", "/v3/auth/tokens": "POST"}
        if path not in allowed:
            raise _KeystoneError(
                404, "Not Found", f"The resource could not be found: {path}"
            )
        if method != allowed[path]:
            raise _KeystoneError(
                405, "Method Not Allowed", f"{method} is not allowed on {path}"
            )

        # keystoneauth1 reads the version list from the unversioned root, which
        # Keystone sends as 300 Multiple Choices, or the one version from /v3.
        if path == "/":
            versions = {"values": [_version_document(base_url)]}
            return "300 Multiple Choices", [], {"versions": versions}
        if path == "/v3":
            return "200 OK", [], {"version": _version_document(base_url)}

        token_id, body = self._issue_token(_read_json(environ), base_url)
        return "201 Created", [("X-Subject-Token", token_id)], body

    def _issue_token(self, request: Any, base_url: str) -> tuple[str, dict[str, Any]]:
        auth = request.get("auth") if isinstance(request, dict) else None
        if not isinstance(auth, dict):
            raise _bad_request("auth is a required property")
        identity = auth.get("identity")
        if not isinstance(identity, dict) or not identity.get("methods"):
            raise _bad_request("auth.identity.methods is a required property")
        methods = identity["methods"]

        if methods == ["password"]:
            user = self._check_password(identity.get("password"))
            grant = self._scope(user, auth.get("scope"))
        elif methods == ["token"]:
            user = self._check_token(identity.get("token"))
            grant = self._scope(user, auth.get("scope"))
        elif methods == ["application_credential"]:
            grant = self._check_application_credential(
                identity.get("application_credential")
            )
        else:
            raise _unauthorized()

        token_id = secrets.token_hex(16)
        with self._lock:
            self._tokens[token_id] = grant
        return token_id, {"token": self._token_body(grant, methods, base_url)}

    def _check_password(self, password: Any) -> KeystoneUser:
        entry = password.get("user") if isinstance(password, dict) else None
        if not isinstance(entry, dict) or "password" not in entry:
            raise _bad_request("password.user.password is a required property")

        if "id" in entry:
            user = self.users.get(entry["id"])
        elif "name" in entry and _is_default_domain(entry.get("domain")):
            user = next(
                (u for u in self.users.values() if u.name == entry["name"]), None
            )
        else:
            raise _bad_request("password.user needs an id, or a name and a domain")

        if user is None or not secrets.compare_digest(
            user.password.encode(), str(entry["password"]).encode()
        ):
            raise _unauthorized()
        return user

    def _check_token(self, token: Any) -> KeystoneUser:
        token_id = token.get("id") if isinstance(token, dict) else None
        with self._lock:
            grant = self._tokens.get(str(token_id))
        if grant is None:
            raise _unauthorized()
        return grant.user

    def _check_application_credential(self, entry: Any) -> _Grant:
        if not isinstance(entry, dict):
            raise _bad_request("application_credential is a required property")
        credential = self.application_credentials.get(str(entry.get("id")))
        if credential is None or not secrets.compare_digest(
            credential.secret.encode(), str(entry.get("secret")).encode()
        ):
            raise _unauthorized()
        return _Grant(
            user=self.users[credential.user_id],
            project=self.projects[credential.project_id],
            roles=credential.roles,
        )

    def _scope(self, user: KeystoneUser, scope: Any) -> _Grant:
        """Scope the token to the requested project, or leave it unscoped."""
        if scope is None:
            return _Grant(user=user, project=None, roles=())
        entry = scope.get("project") if isinstance(scope, dict) else None
        if not isinstance(entry, dict):
            raise _bad_request("only project scope is supported")

        if "id" in entry:
            project = self.projects.get(entry["id"])
        elif "name" in entry and _is_default_domain(entry.get("domain")):
            project = next(
                (p for p in self.projects.values() if p.name == entry["name"]), None
            )
        else:
            raise _bad_request("scope.project needs an id, or a name and a domain")

        # Keystone rejects a scope with 401 both for an unknown project and for
        # a project where the user has no role.
        if project is None or not user.roles.get(project.id):
            raise _unauthorized()
        return _Grant(user=user, project=project, roles=user.roles[project.id])

    def _token_body(
        self, grant: _Grant, methods: list[str], base_url: str
    ) -> dict[str, Any]:
        issued_at = datetime.now(UTC)
        body: dict[str, Any] = {
            "methods": methods,
            "user": {
                "id": grant.user.id,
                "name": grant.user.name,
                "domain": DEFAULT_DOMAIN,
                "password_expires_at": None,
            },
            "audit_ids": [secrets.token_urlsafe(16)],
            "issued_at": _timestamp(issued_at),
            "expires_at": _timestamp(issued_at + TOKEN_LIFETIME),
        }
        if grant.project is None:
            return body

        # Only a project-scoped token has roles and a service catalog.
        body["project"] = {
            "id": grant.project.id,
            "name": grant.project.name,
            "domain": DEFAULT_DOMAIN,
        }
        body["is_domain"] = False
        body["roles"] = [{"id": _role_id(name), "name": name} for name in grant.roles]
        body["catalog"] = self._catalog(base_url)
        return body

    def _catalog(self, base_url: str) -> list[dict[str, Any]]:
        catalog = [
            _service("identity", "keystone", {"public": f"{base_url}/v3"}),
        ]
        if self.compute_endpoints:
            catalog.append(_service("compute", "nova", self.compute_endpoints))
        return catalog


def _read_json(environ: dict[str, Any]) -> Any:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError as exc:
        raise _bad_request("invalid Content-Length") from exc
    try:
        return json.loads(environ["wsgi.input"].read(length) or b"null")
    except ValueError as exc:
        raise _bad_request("the request body is not valid JSON") from exc


def _is_default_domain(domain: Any) -> bool:
    if not isinstance(domain, dict):
        return False
    return domain.get("id") == "default" or domain.get("name") == "Default"


def _service(
    service_type: str, name: str, endpoints: Mapping[str, str]
) -> dict[str, Any]:
    return {
        "id": uuid.uuid5(uuid.NAMESPACE_URL, service_type).hex,
        "type": service_type,
        "name": name,
        "endpoints": [
            {
                "id": uuid.uuid5(uuid.NAMESPACE_URL, url + interface).hex,
                "interface": interface,
                "region": REGION,
                "region_id": REGION,
                "url": url,
            }
            for interface, url in endpoints.items()
        ],
    }


def _version_document(base_url: str) -> dict[str, Any]:
    return {
        "id": "v3.14",
        "status": "stable",
        "updated": "2020-04-07T00:00:00Z",
        "links": [{"rel": "self", "href": f"{base_url}/v3/"}],
        "media-types": [
            {
                "base": "application/json",
                "type": "application/vnd.openstack.identity-v3+json",
            }
        ],
    }


def _role_id(name: str) -> str:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"role:{name}").hex


def _timestamp(moment: datetime) -> str:
    # Keystone's format: microseconds and a Z, as in 2015-11-07T02:58:43.578887Z.
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
