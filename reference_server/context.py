"""The request context handed to each API handler: caller, policy and store."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .auth import Persona
from .policy import PolicyEngine
from .store import Server, Store
from .wsgi import Request

__all__ = ["RequestContext"]


@dataclass
class RequestContext:
    """The caller's persona and policy credentials, with the policy and the store."""

    request: Request
    persona: Persona
    creds: dict[str, Any]
    policy: PolicyEngine
    store: Store

    @property
    def project_id(self) -> str:
        return self.persona.project_id

    @property
    def is_admin(self) -> bool:
        """Whether the ``context_is_admin`` policy rule matched this caller."""
        return bool(self.creds.get("is_admin"))

    @property
    def lookup_scope(self) -> str | None:
        """The project a server lookup is limited to, or None (any) for admins.

        Nova reads other projects' servers only for an admin context, so a
        non-admin asking about another project's server gets a 404, not a 403.
        """
        return None if self.is_admin else self.project_id

    def authorize(self, rule: str, server: Server | None = None) -> None:
        """Enforce ``rule`` against the server's project and user (or the caller's)."""
        if server is None:
            target = {"project_id": self.project_id, "user_id": self.persona.user_id}
        else:
            target = {"project_id": server.project_id, "user_id": server.user_id}
        self.policy.authorize(rule, target, self.creds)

    def is_allowed(self, rule: str, server: Server) -> bool:
        target = {"project_id": server.project_id, "user_id": server.user_id}
        return self.policy.is_allowed(rule, target, self.creds)
