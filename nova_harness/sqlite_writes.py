"""Start SQLite writer transactions with BEGIN IMMEDIATE, so they wait their turn.

In native threading mode Nova's fixtures put each database in an SQLite file in
WAL mode, and oslo.db opens every transaction with a plain (deferred) BEGIN. A
writer transaction that reads first has a read snapshot open. If another
connection commits before the writer's first write, SQLite cannot upgrade the
snapshot and fails the write at once with "database is locked", without waiting
(SQLITE_BUSY_SNAPSHOT). In one suite run such a failure hit the conductor and
left a server in RESIZE with task resize_prep for good: a fault of the SQLite
set-up, not of Nova's code.

NOTE: SQLITE_BUSY_SNAPSHOT is the inferred cause. The error came within
milliseconds, not after the busy timeout, and it has not recurred since this
module was added (five suite runs and a create-migrate-delete load test).

BEGIN IMMEDIATE takes the write lock before the first read, and a busy writer
then waits for it up to SQLite's busy timeout instead of failing. Reader
transactions keep the deferred BEGIN, so reads still run beside a writer.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from oslo_db.sqlalchemy import enginefacade
from sqlalchemy import event
from sqlalchemy.engine import Engine

__all__ = ["ImmediateWriterTransactions"]

# How long a writer waits for the write lock, in milliseconds, where Python's
# sqlite3 waits 5 s. The margin is a choice, not a measured need.
BUSY_TIMEOUT_MS = 30_000


class ImmediateWriterTransactions:
    """Make oslo.db writer transactions on SQLite begin with BEGIN IMMEDIATE."""

    def __init__(self) -> None:
        self._modes = threading.local()
        self._original_scope: Callable[..., Any] | None = None

    def install(self) -> None:
        """Wrap oslo.db's transaction scope and hook every SQLAlchemy engine."""
        if self._original_scope is not None:
            return
        original = enginefacade._TransactionContextManager._transaction_scope
        self._original_scope = original
        modes = self._modes

        @contextmanager
        def tracked_scope(manager: Any, context: Any) -> Iterator[Any]:
            # The innermost scope decides: an independent reader opened inside
            # a writer gets its own connection and must not take the lock.
            stack = modes.__dict__.setdefault("stack", [])
            stack.append(manager._mode is enginefacade._WRITER)
            try:
                with original(manager, context) as resource:
                    yield resource
            finally:
                stack.pop()

        enginefacade._TransactionContextManager._transaction_scope = tracked_scope
        event.listen(Engine, "connect", _set_busy_timeout)
        event.listen(Engine, "before_cursor_execute", self._rewrite_begin, retval=True)

    def uninstall(self) -> None:
        """Undo ``install``; safe to call when it was not installed."""
        if self._original_scope is None:
            return
        enginefacade._TransactionContextManager._transaction_scope = (
            self._original_scope
        )
        self._original_scope = None
        event.remove(Engine, "connect", _set_busy_timeout)
        event.remove(Engine, "before_cursor_execute", self._rewrite_begin)

    def _rewrite_begin(
        self,
        conn: Any,
        cursor: Any,
        statement: str,
        parameters: Any,
        context: Any,
        executemany: bool,
    ) -> tuple[str, Any]:
        stack: list[bool] = getattr(self._modes, "stack", [])
        writing = bool(stack) and stack[-1]
        if writing and statement == "BEGIN" and conn.dialect.name == "sqlite":
            return "BEGIN IMMEDIATE", parameters
        return statement, parameters


def _set_busy_timeout(dbapi_connection: Any, connection_record: Any) -> None:
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        dbapi_connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
