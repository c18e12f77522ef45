"""The delivery mechanism: backoff, Retry-After, crash safety (a killed worker loses nothing)."""

from __future__ import annotations

import signal
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from studio.integrations import deliveries, webhooks
from studio.integrations.models import Delivery, DeliveryKind, DeliveryState, WebhookEndpoint
from tests.cluster import cluster, wait_for  # noqa: F401 - the real-cluster fixture

pytestmark = pytest.mark.django_db(transaction=True)


def endpoint_for(team, receiver):
    endpoint, secret = webhooks.create_endpoint(team, url=receiver.url)
    receiver.secret = secret
    return endpoint


def publish(team):
    with transaction.atomic():
        [delivery] = webhooks.publish(team.pk, "generation.completed", lambda d: {"id": "g1"})
    return delivery


def test_the_backoff_follows_the_contracts_schedule_with_jitter():
    schedule = [5, 300, 1800, 7200, 18000, 36000, 36000]
    for attempt, seconds in enumerate(schedule, start=1):
        delay = deliveries.next_delay(DeliveryKind.WEBHOOK, attempt).total_seconds()
        assert seconds * 0.9 <= delay <= seconds * 1.1
    assert deliveries.next_delay(DeliveryKind.WEBHOOK, 1, retry_after=120).total_seconds() == 120


def test_a_429_is_retried_after_the_receivers_retry_after(team, receiver, monkeypatch):
    endpoint_for(team, receiver)
    original = receiver.handle

    def busy(request):
        receiver.server.handler = original
        from tests.fakes.server import Response

        return Response(429, b"slow down", "text/plain", {"Retry-After": "90"})

    receiver.server.handler = busy
    delivery = publish(team)
    delivery.refresh_from_db()
    wait = (delivery.next_attempt_at - delivery.last_attempt_at).total_seconds()
    assert delivery.state == DeliveryState.PENDING and 89 <= wait <= 91


def test_a_worker_killed_mid_attempt_leaves_the_delivery_to_be_sent_again(
    team, receiver, monkeypatch
):
    endpoint_for(team, receiver)

    class Killed(BaseException):
        """What SIGKILL looks like from inside: the attempt never writes its outcome."""

    def die(*args, **kwargs):
        raise Killed

    monkeypatch.setattr("studio.integrations.deliveries.http.post_bytes", die)
    with pytest.raises(Killed):
        publish(team)
    monkeypatch.undo()
    delivery = Delivery.objects.get()
    assert delivery.state == DeliveryState.PENDING and delivery.lease_until is not None
    assert deliveries.deliver_due() == 0  # the dead attempt's lease still holds it

    Delivery.objects.update(lease_until=timezone.now() - timedelta(seconds=1))
    assert deliveries.deliver_due() == 1
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.SUCCEEDED and delivery.attempts == 2
    assert len(receiver.received) == 1 and receiver.received[0].verified


@pytest.mark.slow
def test_a_cluster_killed_between_attempts_still_delivers_with_the_same_webhook_id(
    private_fetch_env,
    cluster,  # noqa: F811
    team,
    receiver,
):
    endpoint_for(team, receiver)
    receiver.answers = [500]
    delivery = publish(team)  # the first attempt is a task for the cluster
    wait_for(lambda: Delivery.objects.get(pk=delivery.pk).last_status_code == 500, 60)
    cluster.kill(signal.SIGKILL)

    # Time passes; a new cluster's minute schedule finds the due retry.
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    cluster.start()
    from django_q.tasks import async_task

    async_task("studio.integrations.tasks.run_deliveries")
    wait_for(lambda: Delivery.objects.get(pk=delivery.pk).state == DeliveryState.SUCCEEDED, 60)
    assert [r.headers["webhook-id"] for r in receiver.received] == [delivery.message_id] * 2
    assert receiver.received[-1].verified
    assert Delivery.objects.get(pk=delivery.pk).attempts == 2


@pytest.fixture
def private_fetch_env(monkeypatch):
    # The cluster is another process: it reads the loopback allowance from its environment.
    monkeypatch.setenv("STUDIO_ALLOW_PRIVATE_FETCH", "1")


def test_the_minute_loop_frees_its_worker_when_nothing_is_due_soon(team, receiver):
    import time

    endpoint_for(team, receiver)
    receiver.answers = [500]
    publish(team)  # the next attempt is 5 s away: within this run
    started = time.monotonic()
    deliveries.run_for(3.0, interval=0.2)
    assert time.monotonic() - started < 3.5
    Delivery.objects.update(next_attempt_at=timezone.now() + timedelta(hours=1))
    started = time.monotonic()
    deliveries.run_for(50.0)
    assert time.monotonic() - started < 1.0  # nothing before the next run: back at once


def test_old_finished_deliveries_leave_the_log(team, receiver):
    endpoint_for(team, receiver)
    publish(team)
    Delivery.objects.update(created_at=timezone.now() - timedelta(days=31))
    assert deliveries.purge_finished(timedelta(days=30)) == 1


def test_a_delivery_connects_to_the_address_that_was_checked(team, receiver, monkeypatch, settings):
    """No second DNS lookup between the check and the POST (DNS rebinding)."""
    from studio import http

    endpoint, receiver.secret = webhooks.create_endpoint(team, url=receiver.url)
    port = receiver.server.port
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(url=f"http://rebind.example:{port}/h")
    settings.STUDIO_ALLOW_PRIVATE_FETCH = False
    # "rebind.example" does not resolve here; the check "resolved" it to a public address
    # that (in this test) is the loopback receiver.
    monkeypatch.setattr(http, "resolve_public", lambda url: "127.0.0.1")
    delivery = publish(team)
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.SUCCEEDED
    assert receiver.received[0].headers["host"] == f"rebind.example:{port}"
    assert receiver.received[0].verified
