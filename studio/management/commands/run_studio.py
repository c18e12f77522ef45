"""Run the web server, the task cluster and an async runner together, for a one-command
local Studio."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import uvicorn
from django.conf import settings
from django.core.management.base import BaseCommand

RELOADED_APPS = ("studio", "generations", "catalog")


class Command(BaseCommand):
    help = (
        "Start the task cluster and an async runner in the background and the web server "
        "in the foreground."
    )

    def add_arguments(self, parser):
        parser.add_argument("--port", default="8000")
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--noreload", action="store_true")

    def handle(self, port, host, noreload, **options):
        background: list[subprocess.Popen] = []
        self.share_metrics_directory()
        # The cluster's workers claim jobs; the runner (generations/runner.py) makes their
        # synchronous upstream calls as coroutines and runs the dispatcher. uvicorn's reloader
        # restarts only the web process, so there is exactly one of each.
        for name, command in (("Task cluster", "qcluster"), ("Async runner", "async_runner")):
            process = subprocess.Popen(  # noqa: S603 - our own manage.py commands
                [sys.executable, "manage.py", command], start_new_session=True
            )
            background.append(process)
            self.stdout.write(f"{name} started (pid {process.pid})")
        try:
            # Served as deployed: ASGI (uvicorn), so a page that polls or streams holds no
            # thread per client; Django logs each request itself (studio.requests).
            self.stdout.write(f"Studio is at http://{host}:{port}/ (ASGI, uvicorn)")
            uvicorn.run(
                "studio.asgi:application",
                host=host,
                port=int(port),
                reload=not noreload,
                # The apps' code only: watching the whole checkout would scan .venv's
                # thousands of files four times a second.
                reload_dirs=[str(settings.BASE_DIR / app) for app in RELOADED_APPS],
                lifespan="on",  # the MCP server starts there (studio/asgi.py)
                access_log=False,
            )
        finally:
            for process in background:
                if process.poll() is None:
                    os.killpg(process.pid, signal.SIGTERM)
            for process in background:
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)

    def share_metrics_directory(self) -> None:
        """One PROMETHEUS_MULTIPROC_DIR for the web server and the cluster, emptied at start.

        Cluster workers count upstream calls there and /metrics adds them up. The web server
        that serves is the autoreloader's child, which inherits it; with --noreload set the
        variable before starting instead (this process chose its metric storage already).
        """
        default = Path(settings.VAR_DIR) / "metrics"
        directory = Path(os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(default)))
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("*.db"):  # counts of the previous run's processes
            stale.unlink()
