"""Studio's own webhooks: endpoints, Standard Webhooks signatures, retries, 410, job URLs."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import transaction
from django.test import Client
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from generations.models import Generation
from studio.accounts import credits
from studio.accounts.models import Bucket
from studio.integrations import deliveries, webhooks
from studio.integrations.models import Delivery, DeliveryState, WebhookEndpoint

pytestmark = pytest.mark.django_db(transaction=True)


def register(client: Client, url: str, **extra) -> dict:
    r = client.post("/api/v1/webhooks", {"url": url, **extra}, content_type="application/json")
    assert r.status_code == 201, r.content
    return r.json()


def publish(team, event_type="generation.completed", data=None):
    with transaction.atomic():
        return webhooks.publish(
            team.pk, event_type, lambda dialect: data or {"generation_id": "g1", "dialect": dialect}
        )


def later(**delta):
    return time_machine.travel(datetime.now(UTC) + timedelta(**delta), tick=True)


def test_a_receiver_verifying_with_standardwebhooks_accepts_every_delivery_of_a_finished_job(
    kolbo, team, receiver
):
    created = register(kolbo, receiver.url, description="CI hook")
    assert created["secret"].startswith("whsec_")
    receiver.secret = created["secret"]
    credits.grant(team, 1000, bucket=Bucket.PACK)
    started = kolbo.post(
        "/api/v1/generate/image", {"prompt": "a lighthouse"}, content_type="application/json"
    ).json()

    [delivery] = receiver.received
    assert delivery.verified
    event = delivery.payload
    assert event["type"] == "generation.completed"
    status = kolbo.get(f"/api/v1/generate/{started['generation_id']}/status").json()
    assert event["data"]["generation_id"] == status["generation_id"]
    assert event["data"]["state"] == "completed" and event["data"]["result"]["urls"]
    assert Delivery.objects.get().state == DeliveryState.SUCCEEDED

    tampered = delivery.body.replace(b"completed", b"cancelled", 1)
    with pytest.raises(WebhookVerificationError):
        Webhook(receiver.secret).verify(tampered, delivery.headers)


def test_a_receiver_failing_twice_then_succeeding_gets_the_event_three_times_with_one_id(
    kolbo, team, receiver
):
    receiver.secret = register(kolbo, receiver.url)["secret"]
    receiver.answers = [500, 503]
    publish(team)
    [delivery] = Delivery.objects.all()
    assert delivery.attempts == 1 and delivery.state == DeliveryState.PENDING
    # 5 s ± 10 % jitter, counted from the failed answer: the attempt's own time (last_attempt_at
    # is when it started) may add up to a second on a loaded machine.
    assert 4.5 <= (delivery.next_attempt_at - delivery.last_attempt_at).total_seconds() <= 6.5

    with later(seconds=6):
        assert deliveries.deliver_due() == 1
        delivery.refresh_from_db()
        assert delivery.attempts == 2 and delivery.last_status_code == 503
    with later(minutes=6):
        assert deliveries.deliver_due() == 1

    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.SUCCEEDED and delivery.attempts == 3
    assert len(receiver.received) == 3 and all(r.verified for r in receiver.received)
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1


def test_a_4xx_other_than_429_is_not_retried_and_a_429_waits_its_retry_after(kolbo, team, receiver):
    receiver.secret = register(kolbo, receiver.url)["secret"]
    receiver.answers = [422]
    publish(team)
    assert Delivery.objects.get().state == DeliveryState.FAILED

    Delivery.objects.all().delete()
    receiver.answers = [429]
    receiver.server.handler = receiver.handle  # (unchanged; 429 carries no Retry-After here)
    publish(team)
    delivery = Delivery.objects.get()
    assert delivery.state == DeliveryState.PENDING and delivery.last_status_code == 429


def test_a_410_disables_the_endpoint_and_emails_the_team_admins(kolbo, team, receiver, mailoutbox):
    receiver.secret = register(kolbo, receiver.url)["secret"]
    receiver.answers = [410]
    publish(team)
    endpoint = WebhookEndpoint.objects.get()
    assert not endpoint.enabled and "410" in endpoint.disabled_reason
    assert Delivery.objects.get().state == DeliveryState.FAILED
    [mail] = mailoutbox
    assert "alice@example.com" in mail.to and "disabled" in mail.subject
    publish(team)  # a disabled endpoint gets nothing more
    assert len(receiver.received) == 1


def test_a_rotated_secret_signs_beside_the_old_one_during_the_grace_period(kolbo, team, receiver):
    created = register(kolbo, receiver.url)
    old = created["secret"]
    rotated = kolbo.post(f"/api/v1/webhooks/{created['webhook']['id']}/rotate").json()["secret"]
    assert rotated != old
    receiver.secret = rotated
    publish(team)
    [delivery] = receiver.received
    assert len(delivery.headers["webhook-signature"].split(" ")) == 2
    Webhook(old).verify(delivery.body, delivery.headers)
    Webhook(rotated).verify(delivery.body, delivery.headers)

    with later(hours=25):
        publish(team)
        newest = receiver.received[-1]
        Webhook(rotated).verify(newest.body, newest.headers)
        with pytest.raises(WebhookVerificationError):
            Webhook(old).verify(newest.body, newest.headers)


def test_a_webhook_url_on_a_start_gets_that_jobs_end_in_its_dialect(krev, team, receiver):
    credits.grant(team, 1000, bucket=Bucket.PACK)
    body = {"prompt": "a lighthouse", "webhook_url": receiver.url}
    refused = krev.post("/api/v1/images", body, content_type="application/json")
    assert refused.status_code == 400 and "job-secret" in refused.json()["error"]
    assert not Generation.objects.exists()

    receiver.secret = krev.post("/api/v1/webhooks/job-secret").json()["secret"]
    r = krev.post("/api/v1/images", body, content_type="application/json")
    assert r.status_code == 200, r.content
    [delivery] = receiver.received
    assert delivery.verified and delivery.payload["type"] == "generation.completed"
    assert delivery.payload["data"]["id"] == r.json()["data"]["generation_id"]
    assert delivery.payload["data"]["status"] == "succeeded"  # Krev's status shape


def test_private_webhook_urls_are_refused_when_private_fetches_are_off(kolbo, team, settings):
    settings.STUDIO_ALLOW_PRIVATE_FETCH = False
    r = kolbo.post(
        "/api/v1/webhooks", {"url": "http://127.0.0.1:9/hook"}, content_type="application/json"
    )
    assert r.status_code == 400 and "private" in r.json()["error"]
    credits.grant(team, 1000, bucket=Bucket.PACK)
    kolbo.post("/api/v1/webhooks/job-secret")
    r = kolbo.post(
        "/api/v1/generate/image",
        {"prompt": "x", "webhook_url": "http://10.0.0.5/hook"},
        content_type="application/json",
    )
    assert r.status_code == 400 and "private" in r.json()["error"]
    assert not WebhookEndpoint.objects.filter(for_job_urls=False).exists()
    assert not Generation.objects.exists()


def test_endpoints_are_listed_without_their_secrets_and_deleted(kolbo, receiver):
    created = register(kolbo, receiver.url, event_types=["generation.failed"])
    listed = kolbo.get("/api/v1/webhooks").json()
    assert listed["count"] == 1 and listed["webhooks"][0]["event_types"] == ["generation.failed"]
    assert created["secret"] not in json.dumps(listed)
    assert kolbo.delete(f"/api/v1/webhooks/{created['webhook']['id']}").status_code == 200
    assert kolbo.get("/api/v1/webhooks").json()["count"] == 0


def test_unknown_event_types_are_refused(kolbo, receiver):
    r = kolbo.post(
        "/api/v1/webhooks",
        {"url": receiver.url, "event_types": ["generation.exploded"]},
        content_type="application/json",
    )
    assert r.status_code == 400 and "generation.exploded" in r.json()["error"]


def test_other_teams_get_404_on_endpoints_and_see_no_deliveries(kolbo, charlie_api, team, receiver):
    created = register(kolbo, receiver.url)
    receiver.secret = created["secret"]
    publish(team)
    endpoint_id = created["webhook"]["id"]
    assert charlie_api.get(f"/api/v1/webhooks/{endpoint_id}").status_code == 404
    assert charlie_api.delete(f"/api/v1/webhooks/{endpoint_id}").status_code == 404
    assert charlie_api.delete(f"/api/v1/webhooks?id={endpoint_id}").status_code == 404
    assert charlie_api.post(f"/api/v1/webhooks/{endpoint_id}/rotate").status_code == 404
    assert charlie_api.get("/api/v1/webhooks").json()["count"] == 0
    assert charlie_api.get("/api/v1/webhooks/deliveries").json()["count"] == 0
    assert kolbo.get("/api/v1/webhooks/deliveries").json()["count"] == 1
    assert WebhookEndpoint.objects.filter(uuid=endpoint_id).exists()


def test_an_analysed_product_is_announced_with_what_the_products_endpoint_returns(
    krev, team, receiver
):
    import base64

    from tests.catalog.conftest import product_photo

    _, receiver.secret = webhooks.create_endpoint(
        team, url=receiver.url, event_types=["product.analysed"]
    )
    photo = "data:image/jpeg;base64," + base64.b64encode(product_photo()).decode()
    r = krev.post(
        "/api/v1/products",
        {"image_url": photo, "name": "Wallet"},
        content_type="application/json",
    )
    assert r.status_code == 200, r.content
    [delivery] = receiver.received
    assert delivery.verified and delivery.payload["type"] == "product.analysed"
    assert delivery.payload["data"]["id"] == r.json()["data"]["id"]
    assert delivery.payload["data"]["analysis_status"] == "done"


def test_only_owners_and_admins_keys_change_webhooks_and_secrets_are_never_cached(
    kolbo, team, bob, receiver
):
    from tests.integrations.conftest import key_client

    r = kolbo.post("/api/v1/webhooks", {"url": receiver.url}, content_type="application/json")
    assert r.status_code == 201 and r.headers["Cache-Control"] == "no-store"
    endpoint_id = r.json()["webhook"]["id"]
    member = key_client(team, bob, bearer=False)
    assert member.get("/api/v1/webhooks").json()["count"] == 1
    refused = member.post(
        "/api/v1/webhooks", {"url": receiver.url}, content_type="application/json"
    )
    assert refused.status_code == 403 and refused.json()["code"] == "FORBIDDEN"
    assert member.delete(f"/api/v1/webhooks/{endpoint_id}").status_code == 403
    assert member.post(f"/api/v1/webhooks/{endpoint_id}/rotate").status_code == 403
    assert WebhookEndpoint.objects.filter(for_job_urls=False).count() == 1


def test_the_newer_starts_take_a_webhook_url_and_report_their_end_in_their_dialect(
    kolbo, krev, team, receiver, monkeypatch
):
    from tests.catalog.conftest import png_bytes
    from tests.generations.test_ads import analysed_product

    monkeypatch.setattr("generations.ads.copywriter.model_copy", lambda *args: None)
    credits.grant(team, 5000, bucket=Bucket.PACK)
    receiver.secret = kolbo.post("/api/v1/webhooks/job-secret").json()["secret"]
    source = "data:image/png;base64," + base64.b64encode(png_bytes()).decode()
    product_id = str(analysed_product(team).pk)
    starts = [
        (kolbo, "/api/v1/generate/image-edit", {"prompt": "warmer", "source_images": [source]}),
        (kolbo, "/api/v1/generate/creative-director", {"prompt": "A lighthouse", "scene_count": 2}),
        (krev, "/api/v1/ads", {"brief": "A morning ad", "product_ids": [product_id]}),
    ]
    for client, path, body in starts:
        r = client.post(
            path, {**body, "webhook_url": receiver.url}, content_type="application/json"
        )
        assert r.status_code == 200, r.content
    by_type = {d.payload["type"]: d for d in receiver.received}
    assert all(d.verified for d in receiver.received)
    edit = next(d for d in receiver.received if d.payload["data"].get("type") == "image_edit")
    assert edit.payload["type"] == "generation.completed"
    storyboard = by_type["creative_director.completed"].payload["data"]
    assert [s["status"] for s in storyboard["scenes"]] == ["completed", "completed"]
    ad = next(d for d in receiver.received if d.payload["data"].get("kind") == "ad")
    assert ad.payload["data"]["status"] == "succeeded" and ad.payload["data"]["output"]["urls"]
    assert len(receiver.received) == 3  # the storyboard's scenes are reported through it


def test_a_webhook_url_of_a_storyboard_is_checked_before_anything_is_charged(kolbo, team, receiver):
    credits.grant(team, 1000, bucket=Bucket.PACK)
    team.refresh_from_db()
    before = team.total_credits
    body = {"prompt": "A lighthouse", "scene_count": 2, "webhook_url": receiver.url}
    r = kolbo.post("/api/v1/generate/creative-director", body, content_type="application/json")
    assert r.status_code == 400 and "job-secret" in r.json()["error"]
    assert not Generation.objects.exists()
    team.refresh_from_db()
    assert team.total_credits == before
