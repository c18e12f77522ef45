"""Run the async runner (generations/runner.py): upstream calls as coroutines, and the
dispatcher while this runner holds its lease. Run one or more per machine beside qcluster."""

import asyncio
import signal

from django.core.management.base import BaseCommand

from generations import runner


class Command(BaseCommand):
    help = "Run the async runner: handed-off upstream calls and the dispatcher, on one loop."

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-dispatcher",
            action="store_true",
            help="only make calls; leave polling to other runners or the cluster's schedule",
        )
        parser.add_argument(
            "--max-in-flight", type=int, default=0, help=f"default {runner.MAX_IN_FLIGHT}"
        )

    def handle(self, no_dispatcher, max_in_flight, **options):
        asyncio.run(self.serve(not no_dispatcher, max_in_flight))

    async def serve(self, run_dispatcher: bool, max_in_flight: int) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        # SIGTERM: take no new calls, let those in flight finish (their timeouts bound it).
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await runner.serve(stop, run_dispatcher=run_dispatcher, max_in_flight=max_in_flight)
