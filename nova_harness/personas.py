"""The callers the harness accepts, and the personas file that names them.

The file is in the suite's personas format (see ``personas/reference.yaml``).
It has a token, user id, project id and roles per persona, and a ``server``
section with the request fields the suite uses to create servers as ``owner``.
The harness's authentication filter reads the same file, so the tokens the
suite sends and the identities Nova sees cannot drift apart.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "SERVER_TEMPLATE",
    "Identity",
    "PersonasFileError",
    "load_identities",
    "make_identities",
    "write_personas_file",
]

# Keystone writes project and user ids as 32 hex digits.
ADMIN_PROJECT_ID = "70f980cbac4449cd80fb60b55d0904e6"
SERVERS_PROJECT_ID = "1117f66307794f6bb9e31e66fd93201c"
OTHER_PROJECT_ID = "92bb83d5ffa643c7a6db62860007877c"

# Roles as a Keystone token lists them, implied roles included: the roles that
# `keystone-manage bootstrap` creates imply each other admin > manager >
# member > reader, and a token carries the whole chain.
ADMIN_ROLES = ("admin", "manager", "member", "reader")
MANAGER_ROLES = ("manager", "member", "reader")
MEMBER_ROLES = ("member", "reader")
READER_ROLES = ("reader",)

# persona name: (project id, roles)
PERSONA_GRANTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "admin": (ADMIN_PROJECT_ID, ADMIN_ROLES),
    "owner": (SERVERS_PROJECT_ID, MEMBER_ROLES),
    "manager": (SERVERS_PROJECT_ID, MANAGER_ROLES),
    "reader": (SERVERS_PROJECT_ID, READER_ROLES),
    "other": (OTHER_PROJECT_ID, MEMBER_ROLES),
    "other-admin": (OTHER_PROJECT_ID, ADMIN_ROLES),
}

# The request fields of the servers the suite creates. Flavor "1" (m1.tiny)
# comes from Nova's DefaultFlavorsFixture and the image from its GlanceFixture.
# Servers get no ports ("networks": "none", which needs microversion 2.37 or
# later), so migrations do not depend on the Neutron stand-in's networks.
SERVER_TEMPLATE: dict[str, Any] = {
    "flavorRef": "1",
    "imageRef": "70a599e0-31e7-49b7-b260-868f441e862b",
    "networks": "none",
    "microversion": "2.37",
}

# Fixed, so that user ids stay the same from one start to the next.
USER_ID_NAMESPACE = uuid.UUID("3f7b2d0e-9c1a-4e5f-8b6d-2a4c6e8f0b1d")


class PersonasFileError(Exception):
    """The personas file is missing or is not in the expected format."""


@dataclass(frozen=True)
class Identity:
    """The identity behind a valid token: a user scoped to a project, with roles."""

    persona: str
    token: str = field(repr=False)
    user_id: str
    project_id: str
    roles: tuple[str, ...]


def make_identities() -> list[Identity]:
    """Create one identity per persona, each with a new random token."""
    return [
        Identity(
            persona=name,
            token=secrets.token_urlsafe(32),
            user_id=uuid.uuid5(USER_ID_NAMESPACE, name).hex,
            project_id=project_id,
            roles=roles,
        )
        for name, (project_id, roles) in PERSONA_GRANTS.items()
    ]


def write_personas_file(path: Path, identities: list[Identity]) -> None:
    """Write the identities and the server template in the suite's format."""
    document = {
        "personas": {
            identity.persona: {
                "token": identity.token,
                "user_id": identity.user_id,
                "project_id": identity.project_id,
                "roles": list(identity.roles),
            }
            for identity in identities
        },
        "server": SERVER_TEMPLATE,
    }
    header = (
        "# Personas of the Nova harness (python -m nova_harness), written at its\n"
        "# start. The tokens are valid until the harness stops.\n"
    )
    text = header + yaml.safe_dump(document, sort_keys=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def load_identities(path: Path) -> dict[str, Identity]:
    """Read a personas file and return its identities keyed by token."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise PersonasFileError(f"cannot read personas file {path}: {exc}") from exc

    entries = document.get("personas") if isinstance(document, Mapping) else None
    if not isinstance(entries, Mapping):
        raise PersonasFileError(
            f"personas file {path} has no 'personas' mapping; write it with "
            "nova_harness.personas.write_personas_file"
        )
    identities: dict[str, Identity] = {}
    for name, entry in entries.items():
        identity = _parse_identity(path, str(name), entry)
        identities[identity.token] = identity
    return identities


def _parse_identity(path: Path, name: str, entry: Any) -> Identity:
    keys = ("token", "user_id", "project_id")
    if not isinstance(entry, Mapping) or not all(
        isinstance(entry.get(key), str) and entry[key] for key in keys
    ):
        raise PersonasFileError(
            f"personas file {path}: persona {name!r} needs non-empty {', '.join(keys)}"
        )
    roles = entry.get("roles", [])
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise PersonasFileError(
            f"personas file {path}: persona {name!r} has 'roles' that is not a "
            "list of strings"
        )
    return Identity(
        persona=name,
        token=entry["token"],
        user_id=entry["user_id"],
        project_id=entry["project_id"],
        roles=tuple(roles),
    )
