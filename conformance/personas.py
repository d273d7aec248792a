"""Load the personas file: who the suite acts as, and how it creates servers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "DEFAULT_PERSONAS_PATH",
    "REQUIRED_PERSONAS",
    "Persona",
    "PersonasError",
    "PersonasFile",
    "ServerTemplate",
    "load_personas",
]

DEFAULT_PERSONAS_PATH = (
    Path(__file__).resolve().parent.parent / "personas" / "reference.yaml"
)

# admin: has the admin role. owner: a member of the project that owns the
# servers the suite creates. other: a member of a different project.
REQUIRED_PERSONAS = ("admin", "owner", "other")


class PersonasError(Exception):
    """The personas file is missing, malformed or lacks a required entry."""


@dataclass(frozen=True)
class Persona:
    """A caller of the API: a token scoped to a project, with roles."""

    name: str
    token: str = field(repr=False)
    project_id: str
    roles: tuple[str, ...]
    user_id: str = ""

    def policy_credentials(self) -> dict[str, Any]:
        """Return the credentials oslo.policy checks, as Nova builds them."""
        return {
            "user_id": self.user_id,
            "project_id": self.project_id,
            "roles": list(self.roles),
        }


@dataclass(frozen=True)
class ServerTemplate:
    """The server the suite creates on the target: flavor, image, networks."""

    flavor_ref: str
    image_ref: str | None = None
    networks: Any = None
    microversion: str | None = None

    def create_body(self, name: str) -> dict[str, Any]:
        server: dict[str, Any] = {"name": name, "flavorRef": self.flavor_ref}
        if self.image_ref is not None:
            server["imageRef"] = self.image_ref
        if self.networks is not None:
            server["networks"] = self.networks
        return {"server": server}


@dataclass(frozen=True)
class PersonasFile:
    path: Path
    personas: Mapping[str, Persona]
    server: ServerTemplate
    # The owner's public compute endpoint from Keystone's catalog, when the
    # owner logged in through a clouds.yaml entry; the target without --target.
    compute_endpoint: str | None = None

    def __getitem__(self, name: str) -> Persona:
        return self.personas[name]


def load_personas(path: Path) -> PersonasFile:
    """Read and check a personas file (YAML)."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PersonasError(
            f"cannot read personas file {path}: {exc.strerror}"
        ) from exc
    except yaml.YAMLError as exc:
        raise PersonasError(f"personas file {path} is not valid YAML: {exc}") from exc
    if not isinstance(document, Mapping):
        raise PersonasError(f"personas file {path} must be a mapping with 'personas'")

    entries = document.get("personas")
    if not isinstance(entries, Mapping):
        raise PersonasError(f"personas file {path} has no 'personas' mapping")
    clouds_file = document.get("clouds_file")
    if clouds_file is not None:
        clouds_file = (path.parent / str(clouds_file)).resolve()
    endpoints: dict[str, str | None] = {}
    personas = {
        name: _parse_persona(path, name, entry, clouds_file, endpoints)
        for name, entry in entries.items()
    }
    missing = [name for name in REQUIRED_PERSONAS if name not in personas]
    if missing:
        raise PersonasError(
            f"personas file {path} lacks {', '.join(missing)}; "
            f"it needs {', '.join(REQUIRED_PERSONAS)}"
        )
    if personas["owner"].project_id == personas["other"].project_id:
        raise PersonasError(
            f"personas file {path}: 'other' must be in another project than 'owner'"
        )
    server = _parse_server(path, document.get("server"))
    return PersonasFile(path, personas, server, endpoints.get("owner"))


def _parse_persona(
    path: Path,
    name: str,
    entry: Any,
    clouds_file: Path | None,
    endpoints: dict[str, str | None],
) -> Persona:
    if not isinstance(entry, Mapping):
        raise PersonasError(f"personas file {path}: persona {name!r} must be a mapping")
    if "cloud" in entry:
        return _persona_from_cloud(name, str(entry["cloud"]), clouds_file, endpoints)
    for key in ("token", "project_id"):
        if not isinstance(entry.get(key), str) or not entry[key]:
            raise PersonasError(
                f"personas file {path}: persona {name!r} needs a non-empty {key!r}"
            )
    roles = entry.get("roles", [])
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise PersonasError(
            f"personas file {path}: persona {name!r} has 'roles' that is not a "
            "list of strings"
        )
    return Persona(
        name=name,
        token=entry["token"],
        project_id=entry["project_id"],
        roles=tuple(roles),
        user_id=str(entry.get("user_id", "")),
    )


def _persona_from_cloud(
    name: str, cloud: str, clouds_file: Path | None, endpoints: dict[str, str | None]
) -> Persona:
    """Log in through the clouds.yaml entry ``cloud`` and take the token it gives."""
    # Imported here: openstacksdk is slow to import, and most runs need no login.
    from conformance.credentials import CredentialsError, credentials_from_cloud

    try:
        credentials = credentials_from_cloud(cloud, config_file=clouds_file)
    except CredentialsError as exc:
        raise PersonasError(f"persona {name!r}: {exc}") from None
    endpoints[name] = credentials.compute_endpoint
    return Persona(
        name=name,
        token=credentials.token,
        project_id=credentials.project_id,
        roles=credentials.roles,
        user_id=credentials.user_id,
    )


def _parse_server(path: Path, entry: Any) -> ServerTemplate:
    if not isinstance(entry, Mapping) or not entry.get("flavorRef"):
        raise PersonasError(
            f"personas file {path} needs a 'server' mapping with at least 'flavorRef', "
            "used to create the servers the suite migrates"
        )
    microversion = entry.get("microversion")
    return ServerTemplate(
        flavor_ref=str(entry["flavorRef"]),
        image_ref=str(entry["imageRef"]) if entry.get("imageRef") else None,
        networks=entry.get("networks"),
        microversion=str(microversion) if microversion is not None else None,
    )
