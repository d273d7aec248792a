"""Create servers in the states the checks need, and remove them afterwards."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from conformance.compute import ComputeClient, PreconditionError, ServerView
from conformance.expect import RuleFailure, not_applicable
from conformance.personas import Persona, PersonasFile
from conformance.policy import PolicyModel

__all__ = ["SERVER_STATES", "ServerFactory", "Snapshot", "find_migrating_persona"]

# The order in which personas are tried as the one that migrates: the usual
# caller first, so a check of a body or a state does not hinge on a rare role.
MIGRATING_PERSONAS = ("admin", "owner", "manager", "reader", "no-roles", "other-admin")

logger = logging.getLogger("conformance")

# The states a check can ask for. LOCKED is ACTIVE and locked by its owner.
SERVER_STATES = ("ACTIVE", "SHUTOFF", "PAUSED", "LOCKED", "VERIFY_RESIZE")


def find_migrating_persona(
    personas: PersonasFile, policy: PolicyModel
) -> Persona | None:
    """Return the first persona whose migrate of the owner's servers must be 202."""
    owner_project = personas["owner"].project_id
    for name in MIGRATING_PERSONAS:
        persona = personas.personas.get(name)
        if persona and policy.expected_statuses(persona, owner_project) == {202}:
            return persona
    return None


class ServerFactory:
    """Make servers owned by the ``owner`` persona through the target's own API."""

    def __init__(
        self, compute: ComputeClient, personas: PersonasFile, policy: PolicyModel
    ) -> None:
        self.compute = compute
        self.personas = personas
        self.policy = policy
        self.owner = personas["owner"]
        self._created: list[str] = []

    def create(self, state: str = "ACTIVE") -> str:
        """Create a server and bring it to ``state``; return its id."""
        if state not in SERVER_STATES:
            raise ValueError(
                f"unknown server state {state!r}; use one of {SERVER_STATES}"
            )
        server_id = self.compute.create_server(self.owner, self.personas.server)
        self._created.append(server_id)
        self.compute.wait_for_status(self.owner, server_id, ["ACTIVE"])

        if state == "SHUTOFF":
            self.compute.setup_action(self.owner, server_id, "os-stop")
            self.compute.wait_for_status(self.owner, server_id, ["SHUTOFF"])
        elif state == "PAUSED":
            self.compute.setup_action(self.owner, server_id, "pause")
            self.compute.wait_for_status(self.owner, server_id, ["PAUSED"])
        elif state == "LOCKED":
            self.compute.setup_action(self.owner, server_id, "lock")
        elif state == "VERIFY_RESIZE":
            self.migrate_to_verify_resize(server_id)
        return server_id

    def migrating_persona(self) -> Persona:
        """Return a persona the policy lets migrate the owner's servers."""
        persona = find_migrating_persona(self.personas, self.policy)
        if persona is not None:
            return persona
        not_applicable(
            f"the policy ({self.policy.description}) lets no persona of "
            f"{self.personas.path} migrate the owner's servers"
        )

    def migrate_to_verify_resize(self, server_id: str) -> ServerView:
        persona = self.migrating_persona()
        response = self.compute.migrate(persona, server_id)
        if response.status_code != 202:
            raise RuleFailure(
                "migrate-accepted",
                f"migrating server {server_id} as {persona.name} (for VERIFY_RESIZE) "
                f"was answered {response.status_code}, not 202 (rule migrate-accepted)",
            )
        return self.expect_reaches(server_id, "VERIFY_RESIZE", rule="server-migrates")

    def settle(self, server_id: str) -> None:
        """Bring a server that may have migrated back to a state it can move from."""
        view = self.compute.show(self.owner, server_id)
        if view.status in ("ACTIVE", "SHUTOFF") and view.task_state is None:
            return
        view = self.compute.wait_for_status(
            self.owner, server_id, ["ACTIVE", "SHUTOFF", "VERIFY_RESIZE"]
        )
        if view.status == "VERIFY_RESIZE":
            self.compute.setup_action(self.owner, server_id, "confirmResize")
            self.compute.wait_for_status(self.owner, server_id, ["ACTIVE", "SHUTOFF"])

    def snapshot(self, server_id: str) -> Snapshot:
        view = self.compute.show(self.owner, server_id)
        host = None
        admin = self.personas.personas.get("admin")
        if admin is not None:
            host = self.compute.show(admin, server_id).host
        return Snapshot(
            view.status, view.task_state, host, self.migration_count(server_id)
        )

    def migration_count(self, server_id: str) -> int | None:
        """Count the server's migration records, or None if admin cannot list them."""
        admin = self.personas.personas.get("admin")
        if admin is None:
            return None
        response = self.compute.request(
            "GET", self.compute.url(admin, "os-migrations"), persona=admin
        )
        if response.status_code != 200:
            return None
        records = response.json().get("migrations", [])
        return sum(1 for record in records if record.get("instance_uuid") == server_id)

    def assert_unchanged(
        self, server_id: str, before: Snapshot, why: str, *, rule: str
    ) -> None:
        """Fail on ``rule`` if the server moved, began a task or gained a migration."""
        after = self.snapshot(server_id)
        if after != before:
            raise RuleFailure(
                rule,
                f"{why}, yet server {server_id} changed (rule {rule}): "
                f"before {before}, after {after}",
            )

    def expect_reaches(self, server_id: str, status: str, *, rule: str) -> ServerView:
        """Wait for the server to reach ``status``; fail on ``rule`` if it does not."""
        try:
            return self.compute.wait_for_status(self.owner, server_id, [status])
        except PreconditionError as exc:
            raise RuleFailure(rule, f"{exc} (rule {rule})") from None

    def cleanup(self) -> None:
        """Delete every server this factory created; log what fails."""
        for server_id in self._created:
            try:
                self.compute.delete_server(self.owner, server_id)
            except AssertionError as exc:
                logger.warning("could not delete server %s: %s", server_id, exc)
        self._created.clear()


@dataclass(frozen=True)
class Snapshot:
    """A server's status, task, host and migration count: what shows a move."""

    status: str
    task_state: str | None
    host: str | None
    migrations: int | None
