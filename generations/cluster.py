"""The task cluster stops within seconds of SIGTERM and starts its dispatcher and sweeper at once.

Why django-q2 (1.11) hangs on SIGTERM: the main process sets the stop event and joins the
sentinel, which stops fetching tasks, queues a STOP behind each worker's current task and
then waits, with no limit, for every task in flight to end: the dispatcher's loop (up to
50 s, and there is nearly always one), a collect (up to STUDIO_COLLECT_TIMEOUT). Supervisors
give up and SIGKILL it, leaving leases to run out before anyone takes the work over.

The work-around, patched into django-q2's Cluster from GenerationsConfig.ready():

- SIGTERM/SIGINT in the main process: ask the sentinel to stop (as django-q2 does), give the
  tasks in flight STUDIO_CLUSTER_STOP_GRACE seconds to end, then SIGTERM the workers still
  busy. A worker's SIGTERM handler (installed when it spawns) raises `TaskInterrupted` in the
  task, so the task lets go of what it holds (the dispatcher's lease, a job's submit or
  collect lease: the next sweeper re-drives that job at once) and the worker exits. Anything
  still alive a few seconds later is killed; nothing is lost (the state machine is built to
  survive a SIGKILL).
- Start: once the sentinel runs, the dispatcher and the sweeper are queued right away rather
  than on django-q2's first scheduler pass (30 s after start, then on their minute schedule).
  Both are safe to run twice: the dispatcher runs under its lease, the sweeper's every step is
  a conditional UPDATE.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

from django.conf import settings

from generations.engine import TaskInterrupted

log = logging.getLogger(__name__)

# After the grace, busy workers get SIGTERM; this long after that, whatever is left is killed.
KILL_AFTER = 2.0


def _children(pid: int) -> list[int]:
    """Processes whose parent is `pid` (Linux /proc; nothing elsewhere)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            stat = (entry / "stat").read_text()
            # "pid (comm) state ppid …": comm may hold spaces, so split after its ")".
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _signal_all(pids: list[int], sig: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def stop_cluster(cluster: Any, signum: int, frame: Any = None) -> None:
    """Cluster.sig_handler: stop within STUDIO_CLUSTER_STOP_GRACE + a few seconds."""
    sentinel = cluster.sentinel
    if sentinel is None or not sentinel.is_alive():
        return
    log.info("cluster stopping (signal %s)", signum)
    cluster.stop_event.set()
    deadline = time.monotonic() + settings.STUDIO_CLUSTER_STOP_GRACE
    while sentinel.is_alive() and time.monotonic() < deadline:
        sentinel.join(0.1)
    if sentinel.is_alive():
        busy = _children(sentinel.pid)
        log.warning("cluster stop: interrupting %d process(es) still working", len(busy))
        _signal_all(busy, signal.SIGTERM)
        deadline = time.monotonic() + KILL_AFTER
        while sentinel.is_alive() and time.monotonic() < deadline:
            sentinel.join(0.1)
    if sentinel.is_alive():
        _signal_all([*_children(sentinel.pid), sentinel.pid], signal.SIGKILL)
        sentinel.join(5)
    cluster.start_event = None
    cluster.stop_event = None
    log.info("cluster stopped")


def start_cluster(original_start: Any, cluster: Any) -> int:
    """Cluster.start, then the dispatcher and the sweeper queued at once."""
    pid = original_start(cluster)
    if cluster.start_event is not None and cluster.start_event.is_set():
        from django_q.tasks import async_task

        for func in ("generations.tasks.sweep", "generations.tasks.run_dispatcher"):
            async_task(func, group="generations")
    return pid


def _interrupt_task(signum: int, frame: Any) -> None:
    raise TaskInterrupted(f"the cluster is stopping (signal {signum})")


def on_worker_spawn(**kwargs: Any) -> None:
    """django-q2's post_spawn, in each new worker: SIGTERM interrupts the task it runs.

    Not when tasks run inline (sync mode: the "worker" is the caller's own thread)."""
    from django_q.conf import Conf

    if Conf.SYNC or threading.current_thread() is not threading.main_thread():
        return
    signal.signal(signal.SIGTERM, _interrupt_task)


def install() -> None:
    from django_q import cluster
    from django_q.signals import post_spawn

    if getattr(cluster.Cluster, "_studio_patched", False):
        return
    original_start = cluster.Cluster.start
    cluster.Cluster.sig_handler = stop_cluster  # type: ignore[method-assign,assignment]
    cluster.Cluster.start = (  # type: ignore[method-assign]
        lambda self: start_cluster(original_start, self)
    )
    cluster.Cluster._studio_patched = True  # type: ignore[attr-defined]
    post_spawn.connect(on_worker_spawn, dispatch_uid="studio-interruptible-tasks")
