"""Handlers for the servers and os-migrations resources and the version documents."""

from __future__ import annotations

import secrets
from typing import Any

from . import views
from .actions import parse_action, perform_action
from .context import RequestContext
from .faults import Conflict, additional_properties, invalid_input, shorten
from .wsgi import Request, Response, json_response, parse_json_body

__all__ = [
    "create_server",
    "delete_server",
    "list_migrations",
    "list_servers",
    "server_action",
    "show_server",
    "show_version",
    "show_versions",
]

# Members of a 2.1 server create request that the reference server accepts
# and ignores, because it has no network, volume or key pair service.
_IGNORED_CREATE_MEMBERS = frozenset(
    {
        "OS-DCF:diskConfig",
        "accessIPv4",
        "accessIPv6",
        "adminPass",
        "availability_zone",
        "block_device_mapping",
        "block_device_mapping_v2",
        "config_drive",
        "key_name",
        "max_count",
        "min_count",
        "personality",
        "return_reservation_id",
        "security_groups",
        "user_data",
    }
)
_CREATE_MEMBERS = _IGNORED_CREATE_MEMBERS | {
    "name",
    "flavorRef",
    "imageRef",
    "networks",
    "metadata",
}


def show_versions(request: Request) -> Response:
    return json_response(200, views.versions_document(request.base_url))


def show_version(request: Request) -> Response:
    return json_response(200, views.version_document(request.base_url))


def _validate_create(document: Any) -> dict[str, Any]:
    if not isinstance(document, dict) or "server" not in document:
        raise invalid_input("server", document, "'server' is a required property")
    extra = sorted(set(document) - {"server"})
    if extra:
        raise invalid_input("server", document, additional_properties(extra))

    server = document["server"]
    if not isinstance(server, dict):
        raise invalid_input(
            "server", server, f"{shorten(server)} is not of type 'object'"
        )
    unknown = sorted(set(server) - _CREATE_MEMBERS)
    if unknown:
        raise invalid_input("server", server, additional_properties(unknown))

    for required in ("name", "flavorRef"):
        if required not in server:
            raise invalid_input(
                "server", server, f"'{required}' is a required property"
            )
    _validate_name(server["name"])
    _validate_refs(server)
    _validate_networks_and_metadata(server)
    return server


def _validate_name(name: Any) -> None:
    if not isinstance(name, str):
        raise invalid_input("name", name, f"{shorten(name)} is not of type 'string'")
    if not 1 <= len(name) <= 255:
        raise invalid_input("name", name, "The name must have 1 to 255 characters")
    if name != name.strip():
        raise invalid_input(
            "name", name, "The name must not start or end with whitespace"
        )


def _validate_refs(server: dict[str, Any]) -> None:
    flavor_ref = server["flavorRef"]
    if isinstance(flavor_ref, bool) or not isinstance(flavor_ref, str | int):
        raise invalid_input(
            "flavorRef", flavor_ref, "flavorRef must be a string or an integer"
        )
    if str(flavor_ref) == "":
        raise invalid_input("flavorRef", flavor_ref, "flavorRef must not be empty")
    image_ref = server.get("imageRef", "")
    if not isinstance(image_ref, str):
        raise invalid_input(
            "imageRef", image_ref, f"{shorten(image_ref)} is not of type 'string'"
        )


def _validate_networks_and_metadata(server: dict[str, Any]) -> None:
    networks = server.get("networks", [])
    # "auto" and "none" exist only from microversion 2.37 on.
    if not isinstance(networks, list) or not all(isinstance(n, dict) for n in networks):
        raise invalid_input(
            "networks", networks, "networks must be an array of objects"
        )

    metadata = server.get("metadata", {})
    if not isinstance(metadata, dict) or not all(
        isinstance(v, str) and 1 <= len(k) <= 255 and len(v) <= 255
        for k, v in metadata.items()
    ):
        raise invalid_input(
            "metadata",
            metadata,
            "metadata must map 1-255 character keys to strings of 0-255 characters",
        )


def create_server(ctx: RequestContext, project_id: str) -> Response:
    """Create a server in the caller's project, in BUILD (``POST /servers``)."""
    # Nova validates the body against its schema before it checks the policy.
    fields = _validate_create(parse_json_body(ctx.request.body))
    ctx.authorize("os_compute_api:servers:create")
    server = ctx.store.create_server(
        name=fields["name"],
        project_id=ctx.project_id,
        user_id=ctx.persona.user_id,
        flavor_ref=str(fields["flavorRef"]),
        image_ref=fields.get("imageRef", ""),
        metadata=fields.get("metadata"),
    )
    links = views.server_summary(server, ctx.request.base_url)["links"]
    document = {
        "server": {
            "id": server.id,
            "links": links,
            "adminPass": secrets.token_urlsafe(9),
            "OS-DCF:diskConfig": "MANUAL",
            "security_groups": [{"name": "default"}],
        }
    }
    response = json_response(202, document)
    response.headers.append(("Location", links[0]["href"]))
    return response


def list_servers(ctx: RequestContext, project_id: str) -> Response:
    """List the caller's project's servers (``GET /servers``).

    An admin who passes ``all_tenants`` gets the servers of every project.
    """
    ctx.authorize("os_compute_api:servers:index")
    every_project = ctx.is_admin and "all_tenants" in ctx.request.query
    servers = ctx.store.list_servers(None if every_project else ctx.project_id)
    base_url = ctx.request.base_url
    return json_response(
        200, {"servers": [views.server_summary(s, base_url) for s in servers]}
    )


def show_server(ctx: RequestContext, project_id: str, server_id: str) -> Response:
    """Show a server, with host attributes only where policy allows them."""
    server = ctx.store.get_server(server_id, ctx.lookup_scope)
    ctx.authorize("os_compute_api:servers:show", server)
    show_host = ctx.is_allowed("os_compute_api:os-extended-server-attributes", server)
    document = views.server_document(server, ctx.request.base_url, show_host=show_host)
    return json_response(200, {"server": document})


def delete_server(ctx: RequestContext, project_id: str, server_id: str) -> Response:
    """Delete a server: 204, or 409 if it is locked and the caller is no admin."""
    with ctx.store.edit(server_id, ctx.lookup_scope) as server:
        ctx.authorize("os_compute_api:servers:delete", server)
        if server.locked and not ctx.is_admin:
            raise Conflict(f"Instance {server.id} is locked")
        ctx.store.delete_server(server)
    return Response(204)


def server_action(ctx: RequestContext, project_id: str, server_id: str) -> Response:
    """Parse an action body, then run the action on the server."""
    name, _value = parse_action(parse_json_body(ctx.request.body))
    return perform_action(ctx, server_id, name)


def list_migrations(ctx: RequestContext, project_id: str) -> Response:
    """List migration records (admins by default), filtered like Nova's query."""
    ctx.authorize("os_compute_api:os-migrations:index")
    query = ctx.request.query
    migrations = ctx.store.list_migrations()
    for name in ("instance_uuid", "status", "source_compute"):
        if name in query:
            migrations = [m for m in migrations if getattr(m, name) == query[name][-1]]
    if "host" in query:
        host = query["host"][-1]
        migrations = [
            m for m in migrations if host in (m.source_compute, m.dest_compute)
        ]
    return json_response(
        200, {"migrations": [views.migration_document(m) for m in migrations]}
    )
