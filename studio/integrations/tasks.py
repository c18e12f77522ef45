"""Cluster entry points for outbound deliveries (thin: ids in, services do the work)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings

from studio.integrations import deliveries

# The minute schedule's loop stops before the next run would start.
LOOP_SECONDS = 50.0


def deliver(delivery_id: int) -> None:
    """The first attempt of a new delivery (enqueued when its event commits)."""
    deliveries.attempt(delivery_id)


def run_deliveries() -> None:
    """Every minute: attempt due retries (and first attempts whose task was lost)."""
    deliveries.purge_finished(timedelta(days=settings.STUDIO_DELIVERY_LOG_DAYS))
    deliveries.run_for(LOOP_SECONDS)
