"""The dispatcher's part of /healthz: its lease was renewed within the last two minutes.

The dispatcher runs every minute on the cluster and renews its database lease while it loops
(`generations.dispatch`); a lease older than that means no cluster is dispatching: running
jobs are not polled and retries wait.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from generations.models import Lease
from studio.health import Unhealthy

DISPATCHER_LEASE = "dispatcher"
FRESH = timedelta(minutes=2)


def dispatcher_lease() -> dict[str, object]:
    renewed = (
        Lease.objects.filter(name=DISPATCHER_LEASE).values_list("renewed_at", flat=True).first()
    )
    if renewed is None:
        raise Unhealthy("the dispatcher has not run yet")
    age = (timezone.now() - renewed).total_seconds()
    if age > FRESH.total_seconds():
        raise Unhealthy(f"the dispatcher lease was last renewed {age:.0f} s ago")
    return {"renewed_seconds_ago": round(max(age, 0.0))}
