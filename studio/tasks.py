"""Cluster entry points of the core app: thin, they call the module that owns the data."""

from studio.api.ratelimit import purge_stale_counters


def purge_stale_rate_counters() -> int:
    """Hourly (migration 0002): counters of past windows are never read again."""
    return purge_stale_counters()
