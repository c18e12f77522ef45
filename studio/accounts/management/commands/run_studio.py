"""Run the web server and the task cluster together, for a one-command local Studio."""

import os
import signal
import subprocess
import sys

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
