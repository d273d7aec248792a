"""Server actions: ``POST /servers/{id}/action`` with one key naming the action.

Each action runs Nova's compute API checks in Nova's order (policy rule, lock,
vm_state and task_state) and changes the server inside one ``Store.edit`` block,
so a check and the change it allows are atomic.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .context import RequestContext
from .faults import (
    BadRequest,
    Conflict,
    additional_properties,
    invalid_input,
    shorten,
)
from .store import Server, VmState
from .wsgi import Response

__all__ = ["ACTIONS", "parse_action", "perform_action"]

logger = logging.getLogger("reference_server")


@dataclass(frozen=True)
class Action:
    """One server action: its policy rule, its change and its success status."""

    rule: str
    apply: Callable[[RequestContext, Server], None]
    status: int = 202


def parse_action(document: Any) -> tuple[str, Any]:
    """Return the action name and value of an action body, or raise BadRequest.

    Nova reads the action from the body's only key, so the body must be a JSON
    object with exactly one key, and that key must name a known action.
    """
    if not isinstance(document, dict):
        raise BadRequest(
            "Malformed request body: the body must be a JSON object naming one"
            f" action, got {shorten(document)}"
        )
    if len(document) > 1:
        raise BadRequest("Malformed request body: too many body keys")
    if not document:
        raise BadRequest("Malformed request body: no action key in the body")

    [(name, value)] = document.items()
    if name not in ACTIONS:
        raise BadRequest(f"There is no such action: {shorten(name)}")
    _validate_value(name, value)
    return name, value


def _validate_value(name: str, value: Any) -> None:
    # At microversion 2.1 these actions take no parameters, and Nova and its
    # clients send null or {}. Migrate's "host" member exists only from 2.56 on.
    if value is None or value == {}:
        return
    if isinstance(value, dict):
        raise invalid_input(name, value, additional_properties(list(value)))
    raise invalid_input(
        name, value, f"{shorten(value)} is not of type 'object', 'null'"
    )


def perform_action(ctx: RequestContext, server_id: str, name: str) -> Response:
    """Look the server up, check the policy rule, then apply the action."""
    action = ACTIONS[name]
    with ctx.store.edit(server_id, ctx.lookup_scope) as server:
        ctx.authorize(action.rule, server)
        action.apply(ctx, server)
        logger.info("Server %s: %s accepted, now %s", server.id, name, server.status)
    return Response(action.status)


def _check_lock(ctx: RequestContext, server: Server) -> None:
    # nova.compute.api.check_instance_lock: only an admin context acts on a
    # locked server.
    if server.locked and not ctx.is_admin:
        raise Conflict(f"Instance {server.id} is locked")


def _check_state(server: Server, action: str, vm_states: tuple[str, ...]) -> None:
    # nova.compute.api.check_instance_state: the vm_state must be one of the
    # listed ones, and no task may be running.
    if server.vm_state not in vm_states:
        raise Conflict(
            f"Cannot '{action}' instance {server.id} while it is in vm_state"
            f" {server.vm_state}"
        )
    if server.task_state is not None:
        raise Conflict(
            f"Cannot '{action}' instance {server.id} while it is in task_state"
            f" {server.task_state}"
        )


def _migrate(ctx: RequestContext, server: Server) -> None:
    _check_lock(ctx, server)
    _check_state(server, "migrate", (VmState.ACTIVE, VmState.STOPPED))
    dest = ctx.store.pick_destination(server)
    migration = ctx.store.start_migration(server, dest)
    logger.info(
        "Migration %d: server %s from %s to %s",
        migration.id,
        server.id,
        migration.source_compute,
        migration.dest_compute,
    )


def _resize_ender(
    action: str, *, revert: bool
) -> Callable[[RequestContext, Server], None]:
    def finish(ctx: RequestContext, server: Server) -> None:
        _check_lock(ctx, server)
        _check_state(server, action, (VmState.RESIZED,))
        ctx.store.finish_resize(server, revert=revert)

    return finish


def _state_change(action: str, source: str, target: str) -> Callable[..., None]:
    """Make an action that moves a server from vm_state ``source`` to ``target``."""

    def change(ctx: RequestContext, server: Server) -> None:
        _check_lock(ctx, server)
        _check_state(server, action, (source,))
        server.set_state(target)

    return change


def _expected_locked_by(ctx: RequestContext, server: Server) -> str:
    # Nova records who locked a server: its owner, or an admin of another project.
    return "owner" if ctx.project_id == server.project_id else "admin"


def _lock(ctx: RequestContext, server: Server) -> None:
    if not server.locked:
        server.locked = True
        server.locked_by = _expected_locked_by(ctx, server)


def _unlock(ctx: RequestContext, server: Server) -> None:
    # Lifting a lock that the other side set (owner or admin of another project)
    # needs the override rule, as in nova.api.openstack.compute.lock_server.
    if server.locked and server.locked_by != _expected_locked_by(ctx, server):
        ctx.authorize("os_compute_api:os-lock-server:unlock:unlock_override", server)
    server.locked = False
    server.locked_by = None


ACTIONS: Mapping[str, Action] = {
    "migrate": Action("os_compute_api:os-migrate-server:migrate", _migrate),
    "confirmResize": Action(
        "os_compute_api:servers:confirm_resize",
        _resize_ender("confirmResize", revert=False),
        status=204,
    ),
    "revertResize": Action(
        "os_compute_api:servers:revert_resize",
        _resize_ender("revertResize", revert=True),
    ),
    "pause": Action(
        "os_compute_api:os-pause-server:pause",
        _state_change("pause", VmState.ACTIVE, VmState.PAUSED),
    ),
    "unpause": Action(
        "os_compute_api:os-pause-server:unpause",
        _state_change("unpause", VmState.PAUSED, VmState.ACTIVE),
    ),
    "os-stop": Action(
        "os_compute_api:servers:stop",
        _state_change("stop", VmState.ACTIVE, VmState.STOPPED),
    ),
    "os-start": Action(
        "os_compute_api:servers:start",
        _state_change("start", VmState.STOPPED, VmState.ACTIVE),
    ),
    "lock": Action("os_compute_api:os-lock-server:lock", _lock),
    "unlock": Action("os_compute_api:os-lock-server:unlock", _unlock),
}
