"""Run the web server and the task cluster together, for a one-command local Studio."""

import os
import signal
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Start the task cluster in the background and the web server in the foreground."

    def add_arguments(self, parser):
        parser.add_argument("--port", default="8000")
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--noreload", action="store_true")

    def handle(self, port, host, noreload, **options):
        cluster = None
        # Django's autoreloader re-runs this command in a child with RUN_MAIN set; only
        # the outer process owns the cluster, so there is exactly one.
        if os.environ.get("RUN_MAIN") != "true":
            self.share_metrics_directory()
            cluster = subprocess.Popen(
                [sys.executable, "manage.py", "qcluster"], start_new_session=True
            )
            self.stdout.write(f"Task cluster started (pid {cluster.pid})")
        try:
            call_command("runserver", f"{host}:{port}", use_reloader=not noreload)
        finally:
            if cluster and cluster.poll() is None:
                os.killpg(cluster.pid, signal.SIGTERM)
                try:
                    cluster.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(cluster.pid, signal.SIGKILL)

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
