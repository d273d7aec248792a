"""Token authentication, a stand-in for keystonemiddleware.

The personas file maps each persona to a token, a user, a project and roles. The
server trusts exactly those tokens, so the suite and the server share one file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .faults import Unauthorized

__all__ = [
    "DEFAULT_PERSONAS_PATH",
    "Persona",
    "PersonasError",
    "authenticate",
    "load_personas",
]

DEFAULT_PERSONAS_PATH = (
    Path(__file__).resolve().parent.parent / "personas" / "reference.yaml"
)


class PersonasError(ValueError):
    """The personas file is missing, unparsable or has an invalid entry."""


@dataclass(frozen=True)
class Persona:
    """The identity behind a token: user, project and roles."""

    name: str
    token: str
    user_id: str
    project_id: str
    roles: tuple[str, ...]


def load_personas(path: Path | str | None = None) -> dict[str, Persona]:
    """Read the personas file and return its personas keyed by token.

    Only the ``personas:`` section is read. The other sections are for the suite.
    """
    path = Path(path) if path is not None else DEFAULT_PERSONAS_PATH
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PersonasError(f"cannot read personas file {path}: {exc}") from exc
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        # PyYAML's messages span several lines, and a usage error fits on one.
        reason = " ".join(str(exc).split())
        raise PersonasError(
            f"personas file {path} is not valid YAML: {reason}"
        ) from exc

    entries = document.get("personas") if isinstance(document, Mapping) else None
    if not isinstance(entries, Mapping) or not entries:
        raise PersonasError(f"personas file {path} has no 'personas:' mapping")

    by_token: dict[str, Persona] = {}
    for name, entry in entries.items():
        persona = _parse_persona(path, str(name), entry)
        if persona.token in by_token:
            raise PersonasError(
                f"personas file {path}: personas {by_token[persona.token].name!r}"
                f" and {persona.name!r} share one token"
            )
        by_token[persona.token] = persona
    return by_token


def _parse_persona(path: Path, name: str, entry: Any) -> Persona:
    if not isinstance(entry, Mapping):
        raise PersonasError(f"personas file {path}: persona {name!r} is not a mapping")

    fields = {}
    for key in ("token", "user_id", "project_id"):
        value = entry.get(key)
        if not isinstance(value, str) or not value:
            raise PersonasError(
                f"personas file {path}: persona {name!r} needs a non-empty string"
                f" {key!r}, got {value!r}"
            )
        fields[key] = value

    roles = entry.get("roles", [])
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise PersonasError(
            f"personas file {path}: persona {name!r} needs 'roles' as a list of"
            f" strings, got {roles!r}"
        )
    return Persona(name=name, roles=tuple(roles), **fields)


def authenticate(token: str | None, personas: Mapping[str, Persona]) -> Persona:
    """Return the persona of ``token``, or raise Unauthorized (401)."""
    if not token:
        raise Unauthorized("missing X-Auth-Token header")

    persona = personas.get(token)
    if persona is None:
        # Never log the token itself: it is a credential.
        raise Unauthorized("X-Auth-Token matches no persona")
    return persona
