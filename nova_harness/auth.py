"""A stand-in for keystonemiddleware's ``auth_token`` filter, without Keystone.

Nova 34 no longer has a ``noauth2`` strategy: its API pipeline always runs
keystonemiddleware's ``auth_token`` and then Nova's ``NovaKeystoneContext``,
which builds the request context from the identity headers that auth_token
sets. This filter takes auth_token's place in Nova's own pipeline. It validates
``X-Auth-Token`` against the personas file instead of against Keystone, and
then sets the same headers auth_token sets for a project-scoped token
(keystonemiddleware's ``_request.py`` lists them). A request without a valid
token is rejected with auth_token's 401 and its Keystone fault body.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from nova_harness.personas import Identity, load_identities

__all__ = ["KeystoneStandIn", "filter_factory"]

logger = logging.getLogger("nova_harness.auth")

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

# The identity endpoint named in WWW-Authenticate, where a deployment's clients
# get tokens. Nothing listens there, because the harness runs no Keystone.
DEFAULT_WWW_AUTHENTICATE_URI = "http://127.0.0.1/identity"

# The identity headers auth_token removes from every incoming request, so that
# a caller cannot claim an identity by sending them (as WSGI environ keys).
_TEMPLATES = (
    "X{}-DOMAIN-ID",
    "X{}-DOMAIN-NAME",
    "X{}-PROJECT-ID",
    "X{}-PROJECT-NAME",
    "X{}-PROJECT-DOMAIN-ID",
    "X{}-PROJECT-DOMAIN-NAME",
    "X{}-USER-ID",
    "X{}-USER-NAME",
    "X{}-USER-DOMAIN-ID",
    "X{}-USER-DOMAIN-NAME",
    "X{}-ROLES",
)
_OTHER_HEADERS = (
    "X-SERVICE-CATALOG",
    "X-IDENTITY-STATUS",
    "X-SERVICE-IDENTITY-STATUS",
    "X-IS-ADMIN-PROJECT",
    "X-ROLE",
    "X-USER",
    "X-TENANT-ID",
    "X-TENANT-NAME",
    "X-TENANT",
    "OPENSTACK-SYSTEM-SCOPE",
)
AUTH_ENVIRON_KEYS = tuple(
    "HTTP_" + name.replace("-", "_")
    for name in (
        *(
            template.format(prefix)
            for template in _TEMPLATES
            for prefix in ("", "-SERVICE")
        ),
        *_OTHER_HEADERS,
    )
)

# auth_token's rejection body, word for word.
UNAUTHORIZED_BODY = json.dumps(
    {
        "error": {
            "code": 401,
            "title": "Unauthorized",
            "message": "The request you have made requires authentication.",
        }
    }
).encode("utf-8")

# Keystone's default domain, which contains users and projects unless a
# domain is given.
DEFAULT_DOMAIN_ID = "default"
DEFAULT_DOMAIN_NAME = "Default"


class KeystoneStandIn:
    """WSGI filter: accept the personas' tokens and set Keystone's identity headers."""

    def __init__(
        self,
        app: WsgiApp,
        identities: Mapping[str, Identity],
        www_authenticate_uri: str = DEFAULT_WWW_AUTHENTICATE_URI,
    ) -> None:
        self.app = app
        self.identities = identities
        self.www_authenticate_uri = www_authenticate_uri

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        for key in AUTH_ENVIRON_KEYS:
            environ.pop(key, None)

        token = environ.get("HTTP_X_AUTH_TOKEN") or environ.get("HTTP_X_STORAGE_TOKEN")
        identity = self.identities.get(token) if token else None
        if identity is None:
            reason = "an unknown token" if token else "no token"
            logger.info(
                "rejected %s %s%s with 401: %s",
                environ.get("REQUEST_METHOD"),
                environ.get("SCRIPT_NAME", ""),
                environ.get("PATH_INFO", ""),
                reason,
            )
            return self._reject(start_response)

        environ.update(identity_environ(identity))
        return self.app(environ, start_response)

    def _reject(self, start_response: Callable[..., Any]) -> Iterable[bytes]:
        start_response(
            "401 Unauthorized",
            [
                ("Content-Type", "application/json; charset=UTF-8"),
                ("Content-Length", str(len(UNAUTHORIZED_BODY))),
                ("WWW-Authenticate", f'Keystone uri="{self.www_authenticate_uri}"'),
            ],
        )
        return [UNAUTHORIZED_BODY]


def identity_environ(identity: Identity) -> dict[str, str]:
    """Return the environ entries auth_token sets for a project-scoped token."""
    # NOTE: a project's name is its id here, because the personas file stores
    # no names. Nova shows project names only in notifications.
    headers = {
        "X-Identity-Status": "Confirmed",
        "X-User-Id": identity.user_id,
        "X-User-Name": identity.persona,
        "X-User-Domain-Id": DEFAULT_DOMAIN_ID,
        "X-User-Domain-Name": DEFAULT_DOMAIN_NAME,
        "X-Project-Id": identity.project_id,
        "X-Project-Name": identity.project_id,
        "X-Project-Domain-Id": DEFAULT_DOMAIN_ID,
        "X-Project-Domain-Name": DEFAULT_DOMAIN_NAME,
        "X-Roles": ",".join(identity.roles),
        # Keystone marks every project as the admin project unless its
        # [resource] admin_project_name is set.
        "X-Is-Admin-Project": "True",
    }
    # auth_token also sets the deprecated names, copied from the current ones.
    headers.update(
        {
            "X-Role": headers["X-Roles"],
            "X-User": headers["X-User-Name"],
            "X-Tenant-Id": headers["X-Project-Id"],
            "X-Tenant-Name": headers["X-Project-Name"],
            "X-Tenant": headers["X-Project-Name"],
        }
    )
    return {
        "HTTP_" + name.upper().replace("-", "_"): value
        for name, value in headers.items()
    }


def filter_factory(
    global_conf: dict[str, str], **local_conf: str
) -> Callable[[WsgiApp], KeystoneStandIn]:
    """Build the filter from a paste section with ``personas_file`` set."""
    personas_file = local_conf.get("personas_file")
    if not personas_file:
        raise ValueError(
            "the [filter:authtoken] section of the paste config has no "
            "personas_file; set it to the personas file the harness wrote"
        )
    identities = load_identities(Path(personas_file))
    uri = local_conf.get("www_authenticate_uri", DEFAULT_WWW_AUTHENTICATE_URI)

    def make_filter(app: WsgiApp) -> KeystoneStandIn:
        return KeystoneStandIn(app, identities, uri)

    return make_filter
