"""In-memory state of the reference cloud: servers, hosts and migrations.

One lock guards everything. Callers check a server's state and change it inside
one ``Store.edit`` block, so two requests can never both see a server ACTIVE and
both start a migration. Time-driven steps (BUILD -> ACTIVE, RESIZE ->
VERIFY_RESIZE) are applied lazily, under that lock, whenever a server is read:
there is no background thread to start, stop or race with.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from .faults import BadRequest, NotFound

__all__ = ["Migration", "PowerState", "Server", "Store", "TaskState", "VmState"]


class VmState:
    """Nova's ``OS-EXT-STS:vm_state`` values used here."""

    BUILDING = "building"
    ACTIVE = "active"
    STOPPED = "stopped"
    PAUSED = "paused"
    RESIZED = "resized"


class TaskState:
    """Nova's ``OS-EXT-STS:task_state`` values used here."""

    RESIZE_PREP = "resize_prep"


class PowerState:
    """Nova's ``OS-EXT-STS:power_state`` codes (nova.compute.power_state)."""

    NOSTATE = 0
    RUNNING = 1
    PAUSED = 3
    SHUTDOWN = 4


# The API status Nova derives from vm_state and task_state (nova.api.openstack.
# common._STATE_MAP), reduced to the states this server reaches.
_STATUS_BY_VM_STATE = {
    VmState.BUILDING: "BUILD",
    VmState.ACTIVE: "ACTIVE",
    VmState.STOPPED: "SHUTOFF",
    VmState.PAUSED: "PAUSED",
    VmState.RESIZED: "VERIFY_RESIZE",
}
_POWER_STATE_BY_VM_STATE = {
    VmState.BUILDING: PowerState.NOSTATE,
    VmState.ACTIVE: PowerState.RUNNING,
    VmState.STOPPED: PowerState.SHUTDOWN,
    VmState.PAUSED: PowerState.PAUSED,
}

# A server id in the dashed UUID form; case is ignored, as Nova's MySQL database
# ignores it with its default collation.
_UUID_PATTERN = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE
)


def _now_utc() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@dataclass
class Migration:
    """A cold migration record, shaped like a row of ``GET /os-migrations``."""

    id: int
    instance_uuid: str
    source_compute: str
    dest_compute: str
    status: str
    flavor_id: int
    created_at: datetime
    updated_at: datetime

    def set_status(self, status: str) -> None:
        self.status = status
        self.updated_at = _now_utc()


@dataclass
class Server:
    """A server (Nova instance) and the state Nova's API exposes about it."""

    id: str
    name: str
    project_id: str
    user_id: str
    flavor_ref: str
    flavor_id: int
    image_ref: str
    host: str
    vm_state: str
    created_at: datetime
    updated_at: datetime
    task_state: str | None = None
    locked: bool = False
    locked_by: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    # The vm_state to return to when a resize is confirmed or reverted.
    vm_state_before_resize: str | None = None
    # Monotonic time at which the running build or migration completes.
    due_at: float | None = None
    migration_id: int | None = None

    @property
    def status(self) -> str:
        """The API status Nova shows for this vm_state and task_state."""
        if self.task_state == TaskState.RESIZE_PREP:
            return "RESIZE"
        return _STATUS_BY_VM_STATE.get(self.vm_state, "UNKNOWN")

    @property
    def power_state(self) -> int:
        if self.vm_state == VmState.RESIZED:
            before = self.vm_state_before_resize or VmState.ACTIVE
            return _POWER_STATE_BY_VM_STATE[before]
        return _POWER_STATE_BY_VM_STATE.get(self.vm_state, PowerState.NOSTATE)

    def set_state(self, vm_state: str, task_state: str | None = None) -> None:
        self.vm_state = vm_state
        self.task_state = task_state
        self.updated_at = _now_utc()


class Store:
    """Projects' servers, the compute hosts and the migrations, behind one lock."""

    def __init__(
        self,
        hosts: Sequence[str] = ("compute-1", "compute-2"),
        build_seconds: float = 0.05,
        migrate_seconds: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not hosts:
            raise ValueError("the store needs at least one compute host")
        self.hosts = tuple(hosts)
        self.build_seconds = build_seconds
        self.migrate_seconds = migrate_seconds
        self.clock = clock
        self.lock = threading.RLock()
        self._servers: dict[str, Server] = {}
        self._migrations: dict[int, Migration] = {}
        self._migration_ids = itertools.count(1)
        self._flavor_ids: dict[str, int] = {}

    # -- servers -------------------------------------------------------------

    def create_server(
        self,
        *,
        name: str,
        project_id: str,
        user_id: str,
        flavor_ref: str,
        image_ref: str,
        metadata: dict[str, str] | None = None,
    ) -> Server:
        """Create a server in BUILD on the first host and return a copy of it."""
        now = _now_utc()
        with self.lock:
            # os-migrations shows Nova's internal integer flavor id, not the
            # flavorRef, so each distinct flavorRef gets one.
            flavor_id = self._flavor_ids.setdefault(
                flavor_ref, len(self._flavor_ids) + 1
            )
            server = Server(
                id=str(uuid.uuid4()),
                name=name,
                project_id=project_id,
                user_id=user_id,
                flavor_ref=flavor_ref,
                flavor_id=flavor_id,
                image_ref=image_ref,
                host=self.hosts[0],
                vm_state=VmState.BUILDING,
                created_at=now,
                updated_at=now,
                metadata=dict(metadata or {}),
                due_at=self.clock() + self.build_seconds,
            )
            self._servers[server.id] = server
            return _snapshot(server)

    @contextmanager
    def edit(self, server_id: str, project_id: str | None) -> Iterator[Server]:
        """Hold the lock and yield the live server, for check-and-change steps.

        ``project_id`` scopes the lookup the way Nova scopes a non-admin's
        request to their project; ``None`` looks in every project (admins).
        Raises NotFound (404) for an id that is no UUID or no server in scope.
        """
        with self.lock:
            yield self._lookup(server_id, project_id)

    def get_server(self, server_id: str, project_id: str | None) -> Server:
        """Return a copy of the server, scoped like ``edit``."""
        with self.edit(server_id, project_id) as server:
            return _snapshot(server)

    def list_servers(self, project_id: str | None) -> list[Server]:
        """Return copies of the servers of ``project_id`` (all if None)."""
        with self.lock:
            servers = [
                s
                for s in self._servers.values()
                if project_id is None or s.project_id == project_id
            ]
            for server in servers:
                self._advance(server)
            return [_snapshot(s) for s in servers]

    def delete_server(self, server: Server) -> None:
        """Remove a server; its migration records stay, as in Nova."""
        with self.lock:
            self._servers.pop(server.id, None)

    def _lookup(self, server_id: str, project_id: str | None) -> Server:
        canonical = canonical_uuid(server_id)
        server = self._servers.get(canonical) if canonical else None
        if server is None or (
            project_id is not None and server.project_id != project_id
        ):
            raise NotFound(f"Instance {server_id} could not be found.")
        self._advance(server)
        return server

    def _advance(self, server: Server) -> None:
        """Apply the build or migration step that has come due by now."""
        if server.due_at is None or self.clock() < server.due_at:
            return

        server.due_at = None
        if server.vm_state == VmState.BUILDING:
            server.set_state(VmState.ACTIVE)
        elif server.task_state == TaskState.RESIZE_PREP:
            migration = self._migrations[server.migration_id or 0]
            server.host = migration.dest_compute
            server.set_state(VmState.RESIZED)
            migration.set_status("finished")

    # -- migrations ----------------------------------------------------------

    def pick_destination(self, server: Server) -> str:
        """Choose a host other than the server's, as Nova's scheduler would.

        Raises BadRequest (400) with Nova's NoValidHost message if there is none.
        """
        for host in self.hosts:
            if host != server.host:
                return host
        raise BadRequest(
            "No valid host was found. There are not enough hosts available."
        )

    def start_migration(self, server: Server, dest: str) -> Migration:
        """Record a migration to ``dest`` and put the server in RESIZE.

        The caller holds the lock (inside ``edit``) and has checked the state.
        """
        now = _now_utc()
        migration = Migration(
            id=next(self._migration_ids),
            instance_uuid=server.id,
            source_compute=server.host,
            dest_compute=dest,
            status="migrating",
            flavor_id=server.flavor_id,
            created_at=now,
            updated_at=now,
        )
        self._migrations[migration.id] = migration
        server.migration_id = migration.id
        server.vm_state_before_resize = server.vm_state
        server.set_state(server.vm_state, TaskState.RESIZE_PREP)
        server.due_at = self.clock() + self.migrate_seconds
        return migration

    def finish_resize(self, server: Server, *, revert: bool) -> None:
        """Confirm or revert a finished migration and restore the prior vm_state."""
        migration = self._migrations[server.migration_id or 0]
        if revert:
            server.host = migration.source_compute
            migration.set_status("reverted")
        else:
            migration.set_status("confirmed")
        server.set_state(server.vm_state_before_resize or VmState.ACTIVE)
        server.vm_state_before_resize = None

    def list_migrations(self) -> list[Migration]:
        """Return copies of all migration records, oldest first."""
        with self.lock:
            for server in self._servers.values():
                self._advance(server)
            return [dataclasses.replace(m) for m in self._migrations.values()]


def _snapshot(server: Server) -> Server:
    """Return a copy of ``server`` that later changes to the store do not touch."""
    return dataclasses.replace(server, metadata=dict(server.metadata))


def canonical_uuid(value: str) -> str | None:
    """Return ``value`` in lower case if it is a dashed UUID, else None."""
    if not _UUID_PATTERN.fullmatch(value):
        return None
    return value.lower()
