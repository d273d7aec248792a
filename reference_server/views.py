"""JSON documents of the Compute API 2.1: servers, migrations, version documents."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from .store import Migration, Server
from .wsgi import MICROVERSION

__all__ = [
    "migration_document",
    "server_document",
    "server_summary",
    "version_document",
    "versions_document",
]

_VERSION_UPDATED = "2013-07-23T11:33:21Z"


def _api_time(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _links(base_url: str, project_id: str, collection: str, item_id: str) -> list:
    root = base_url.rstrip("/")
    return [
        {"rel": "self", "href": f"{root}/v2.1/{project_id}/{collection}/{item_id}"},
        {"rel": "bookmark", "href": f"{root}/{project_id}/{collection}/{item_id}"},
    ]


def server_summary(server: Server, base_url: str) -> dict[str, Any]:
    """Build the entry of a server in ``GET /servers``: id, name and links."""
    return {
        "id": server.id,
        "name": server.name,
        "links": _links(base_url, server.project_id, "servers", server.id),
    }


def server_document(
    server: Server, base_url: str, *, show_host: bool
) -> dict[str, Any]:
    """Build the ``server`` of ``GET /servers/{id}``.

    ``show_host`` adds the OS-EXT-SRV-ATTR host attributes, which Nova shows only
    to callers its ``os-extended-server-attributes`` policy rule allows (admins).
    """
    # Nova's hostId: a hash of the host and project, so that a project's users
    # see which of their servers share a host without learning its name.
    host_id = hashlib.sha224((server.project_id + server.host).encode()).hexdigest()
    document: dict[str, Any] = {
        **server_summary(server, base_url),
        "status": server.status,
        "tenant_id": server.project_id,
        "user_id": server.user_id,
        "hostId": host_id,
        "OS-EXT-STS:vm_state": server.vm_state,
        "OS-EXT-STS:task_state": server.task_state,
        "OS-EXT-STS:power_state": server.power_state,
        "flavor": {
            "id": server.flavor_ref,
            "links": _links(base_url, server.project_id, "flavors", server.flavor_ref)[
                1:
            ],
        },
        "image": {
            "id": server.image_ref,
            "links": _links(base_url, server.project_id, "images", server.image_ref)[
                1:
            ],
        },
        "created": _api_time(server.created_at),
        "updated": _api_time(server.updated_at),
        "metadata": dict(server.metadata),
        "addresses": {},
        "accessIPv4": "",
        "accessIPv6": "",
        "progress": 0,
    }
    if show_host:
        document["OS-EXT-SRV-ATTR:host"] = server.host
        document["OS-EXT-SRV-ATTR:hypervisor_hostname"] = server.host
    return document


def migration_document(migration: Migration) -> dict[str, Any]:
    """Build one entry of ``GET /os-migrations`` at microversion 2.1."""
    return {
        "id": migration.id,
        "instance_uuid": migration.instance_uuid,
        "source_compute": migration.source_compute,
        "dest_compute": migration.dest_compute,
        # Each host has one node of the same name, as with the libvirt driver.
        "source_node": migration.source_compute,
        "dest_node": migration.dest_compute,
        "status": migration.status,
        "old_instance_type_id": migration.flavor_id,
        "new_instance_type_id": migration.flavor_id,
        # os-migrations shows times without a zone, with microseconds.
        "created_at": migration.created_at.strftime("%Y-%m-%dT%H:%M:%S.%f"),
        "updated_at": migration.updated_at.strftime("%Y-%m-%dT%H:%M:%S.%f"),
    }


def _version_entry(base_url: str) -> dict[str, Any]:
    return {
        "id": "v2.1",
        "status": "CURRENT",
        "version": MICROVERSION,
        "min_version": MICROVERSION,
        "updated": _VERSION_UPDATED,
        "links": [{"rel": "self", "href": base_url.rstrip("/") + "/v2.1/"}],
    }


def versions_document(base_url: str) -> dict[str, Any]:
    """Build the body of ``GET /``: the API versions this endpoint serves."""
    return {"versions": [_version_entry(base_url)]}


def version_document(base_url: str) -> dict[str, Any]:
    """Build the body of ``GET /v2.1``, with the microversion range (2.1 to 2.1)."""
    entry = _version_entry(base_url)
    entry["links"].append(
        {
            "rel": "describedby",
            "type": "text/html",
            "href": "https://docs.openstack.org/",
        }
    )
    entry["media-types"] = [
        {
            "base": "application/json",
            "type": "application/vnd.openstack.compute+json;version=2.1",
        }
    ]
    return {"version": entry}
