"""The WSGI application: request checks, routing and dispatch.

Every request goes through the same steps, and the first check that fails sets
the response:

1. body size (413), read bounded, never the whole stream;
2. Content-Type (415);
3. authentication by X-Auth-Token (401), except for the version documents;
4. route: unknown path (404), known path with another method (405);
5. microversion headers (400 malformed, 406 unsupported);
6. the URL's project_id against the token's project (400);
7. the handler: body, server lookup, policy rule, lock, state, host.

NOTE: Nova checks the token (keystonemiddleware) before the Content-Type, and it
decodes the JSON body before it compares project ids, so a request failing both
checks of steps 2-3 or 6-7 gets the other error from Nova.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any

from . import servers
from .auth import Persona, authenticate, load_personas
from .context import RequestContext
from .faults import (
    BadRequest,
    HTTPError,
    InternalServerError,
    MethodNotAllowed,
    NotFound,
)
from .policy import PolicyEngine
from .store import Store
from .wsgi import MICROVERSION, Request, Response, check_microversion

__all__ = ["ComputeApp", "create_app"]

logger = logging.getLogger("reference_server")

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
Handler = Callable[..., Response]

# oslo.middleware's default max_request_body_size (112 KiB), the size limit in
# front of Nova's API.
DEFAULT_MAX_BODY_BYTES = 114688


@dataclass(frozen=True)
class Route:
    """A path pattern and the handler of each method it accepts."""

    pattern: re.Pattern[str]
    methods: Mapping[str, Handler]
    public: bool = False


def _route(pattern: str, public: bool = False, **methods: Handler) -> Route:
    segment = "[^/]+"
    regex = pattern.replace("{project_id}", f"(?P<project_id>{segment})")
    regex = regex.replace("{server_id}", f"(?P<server_id>{segment})")
    return Route(re.compile(regex), methods, public)


ROUTES: Sequence[Route] = (
    _route("/", public=True, GET=servers.show_versions),
    _route("/v2\\.1/?", public=True, GET=servers.show_version),
    _route(
        "/v2\\.1/{project_id}/servers",
        GET=servers.list_servers,
        POST=servers.create_server,
    ),
    _route(
        "/v2\\.1/{project_id}/servers/{server_id}",
        GET=servers.show_server,
        DELETE=servers.delete_server,
    ),
    _route(
        "/v2\\.1/{project_id}/servers/{server_id}/action", POST=servers.server_action
    ),
    _route("/v2\\.1/{project_id}/os-migrations", GET=servers.list_migrations),
)


class ComputeApp:
    """A WSGI application serving the slice of the Compute API the suite needs."""

    def __init__(
        self,
        store: Store,
        policy: PolicyEngine,
        personas: Mapping[str, Persona],
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ) -> None:
        self.store = store
        self.policy = policy
        self.personas = dict(personas)
        self.max_body_bytes = max_body_bytes

    def __call__(
        self, environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        started = time.perf_counter()
        request_id = f"req-{uuid.uuid4()}"
        request = Request(environ, self.max_body_bytes)

        response = self._respond(request, request_id)
        headers = [*response.headers, *_common_headers(request_id)]
        headers.append(("Content-Length", str(len(response.body))))
        status = HTTPStatus(response.status)
        start_response(f"{status.value} {status.phrase}", headers)

        elapsed_ms = (time.perf_counter() - started) * 1000
        logger.info(
            "%s %s %d %s %.1fms",
            _printable(request.method),
            _printable(request.path),
            response.status,
            request_id,
            elapsed_ms,
        )
        return [b"" if request.method == "HEAD" else response.body]

    def _respond(self, request: Request, request_id: str) -> Response:
        """Run the request through the steps and turn any error into its response."""
        try:
            return self._dispatch(request)
        except HTTPError as error:
            logger.info(
                "%s %s rejected with %d: %s",
                request_id,
                _printable(request.method),
                error.status,
                _printable(error.message, limit=500),
            )
            return Response(error.status, error.render(), error.response_headers())
        except Exception:
            # Any exception that gets here is a bug in the server: log its
            # traceback and send Nova's generic 500 fault.
            logger.exception(
                "%s %s failed unexpectedly", request_id, _printable(request.method)
            )
            internal = InternalServerError(
                f"Unexpected API Error. The server logged it under {request_id}."
            )
            return Response(
                internal.status, internal.render(), internal.response_headers()
            )

    def _dispatch(self, request: Request) -> Response:
        request.read_body()
        request.check_content_type()

        route, params = _match(request.path)
        persona = None
        if route is None or not route.public:
            persona = authenticate(request.header("X-Auth-Token"), self.personas)
        if route is None:
            raise NotFound("The resource could not be found.")

        handler = route.methods.get(request.method)
        if handler is None:
            raise MethodNotAllowed(
                f"The method {_printable(request.method)} is not allowed for this"
                " resource.",
                allowed=sorted(route.methods),
            )
        check_microversion(request)
        if persona is None:
            return handler(request)

        _check_project(params.get("project_id"), persona)
        ctx = RequestContext(
            request=request,
            persona=persona,
            creds=self.policy.credentials(persona),
            policy=self.policy,
            store=self.store,
        )
        return handler(ctx, **params)


def _match(path: str) -> tuple[Route | None, dict[str, str]]:
    for route in ROUTES:
        match = route.pattern.fullmatch(path)
        if match:
            return route, match.groupdict()
    return None, {}


def _check_project(url_project_id: str | None, persona: Persona) -> None:
    # Nova compares the project in the URL with the token's, for admins too
    # (nova.api.openstack.wsgi.Resource._process_stack).
    if url_project_id is not None and url_project_id != persona.project_id:
        raise BadRequest(
            f"Malformed request URL: URL's project_id '{url_project_id}' doesn't"
            f" match Context's project_id '{persona.project_id}'"
        )


def _common_headers(request_id: str) -> list[tuple[str, str]]:
    return [
        ("x-openstack-request-id", request_id),
        ("x-compute-request-id", request_id),
        ("OpenStack-API-Version", f"compute {MICROVERSION}"),
        ("X-OpenStack-Nova-API-Version", MICROVERSION),
        ("Vary", "OpenStack-API-Version, X-OpenStack-Nova-API-Version"),
    ]


def _printable(text: str, limit: int = 200) -> str:
    """Escape control characters and cut long text, so a log line stays one line."""
    escaped = text.encode("unicode_escape").decode("ascii")
    return escaped if len(escaped) <= limit else escaped[:limit] + "..."


def create_app(
    personas_path: Path | str | None = None,
    policy_file: Path | str | None = None,
    hosts: Sequence[str] = ("compute-1", "compute-2"),
    build_seconds: float = 0.05,
    migrate_seconds: float = 0.1,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> ComputeApp:
    """Build the WSGI application; its ``store`` is reachable for tests.

    Raises PersonasError or PolicyFileError for a file that cannot be used.
    """
    personas = load_personas(personas_path)
    policy = PolicyEngine(policy_file)
    store = Store(hosts, build_seconds=build_seconds, migrate_seconds=migrate_seconds)
    return ComputeApp(store, policy, personas, max_body_bytes=max_body_bytes)
