"""Connection pools and fork: a child process must never use its parent's pooled connections.

The task cluster forks its workers from a process that has used the database, and Django
keeps PostgreSQL pools (psycopg_pool, with their own threads) per process class-wide. A
child that took a connection from the inherited pool would share the parent's socket. After
a fork the child forgets the inherited pools (Django opens a new one on first use) and keeps
them referenced: collecting them would close the parent's connections from the child.
"""

from __future__ import annotations

import os
from typing import Any

_inherited: list[Any] = []
_installed = False


def forget_inherited_pools() -> None:
    try:
        from django.db.backends.postgresql.base import DatabaseWrapper
    except ImportError:  # psycopg not installed: no PostgreSQL pools
        return
    pools = DatabaseWrapper._connection_pools  # type: ignore[attr-defined]
    _inherited.extend(pools.values())
    pools.clear()


def install() -> None:
    global _installed
    if not _installed:
        os.register_at_fork(after_in_child=forget_inherited_pools)
        _installed = True
