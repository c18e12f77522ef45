"""Django's SQLite backend, with each process keeping closed connections for the next request.

Under ASGI every request runs in a thread of its own, so Django opens a connection per
request (persistent connections are per thread and would leak); for SQLite opening means
the file, the PRAGMAs of `init_command` and Django's ~30 SQL functions, and closing the
last connection checkpoints the WAL: 3 ms of a 5 ms status poll. Here `close()` hands the
connection back to a small per-process pool instead, and the next connect takes it. A
connection is pooled only outside a transaction (an open one is rolled back first), never
across a fork, and never for another file: a pooled connection whose file was replaced (a
test database made again under the same name) is closed, not reused. In-memory databases
are not pooled (closing them would lose them; Django never closes them anyway).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from typing import Any

from django.db.backends.sqlite3 import base

MAX_IDLE = 8

_idle: dict[tuple[int, str], list[tuple[int, sqlite3.Connection]]] = {}
_lock = threading.Lock()


def _inode(name: str) -> int | None:
    try:
        return os.stat(name).st_ino
    except OSError:
        return None


class DatabaseWrapper(base.DatabaseWrapper):
    pool_inode: int | None = None  # the file the current connection was opened on

    def _pool_key(self) -> tuple[int, str] | None:
        name = str(self.settings_dict["NAME"])
        if self.is_in_memory_db():
            return None
        return os.getpid(), name

    def get_new_connection(self, conn_params: dict[str, Any]) -> sqlite3.Connection:
        key = self._pool_key()
        if key is not None:
            inode = _inode(key[1])
            while True:
                with _lock:
                    idle = _idle.get(key)
                    pooled = idle.pop() if idle else None
                if pooled is None:
                    break
                pooled_inode, connection = pooled
                if pooled_inode == inode:
                    self.pool_inode = inode
                    return connection
                connection.close()  # its file was replaced
        connection = super().get_new_connection(conn_params)
        self.pool_inode = _inode(key[1]) if key else None
        return connection

    def _close(self) -> None:
        connection = self.connection
        key = self._pool_key()
        if connection is None or key is None or self.in_atomic_block:
            return super()._close()  # type: ignore[misc]
        with self.wrap_database_errors:
            if connection.in_transaction:
                connection.rollback()
        inode = self.pool_inode
        with _lock:
            idle = _idle.setdefault(key, [])
            if inode is not None and len(idle) < MAX_IDLE:
                idle.append((inode, connection))
                return None
        return super()._close()  # type: ignore[misc]
