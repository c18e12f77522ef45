"""`POST /api/v1/conversions/meta`: Krev's seed example and Meta's rules, on a fake Graph API."""

from __future__ import annotations

import hashlib
import time

import pytest
import time_machine

from studio.integrations import meta
from studio.integrations.models import Delivery, DeliveryState
from tests.integrations.conftest import key_client

pytestmark = pytest.mark.django_db

# The seed's example (seeds/krev-api-reference.txt), sent on the day it is stamped with.
SEED_EVENT = {
    "event_name": "Purchase",
    "event_time": 1777632000,
    "event_id": "order_123",
    "action_source": "website",
    "event_source_url": "https://example.com/products/wallet",
    "user_data": {"email": "customer@example.com"},
    "custom_data": {"currency": "USD", "value": 79.00},
}


def event(**changes):
    return {**SEED_EVENT, "event_time": int(time.time()) - 60, **changes}


def send(client, body):
    return client.post("/api/v1/conversions/meta", body, content_type="application/json")


def test_the_published_test_vectors_hash_as_meta_says():
    hashed = meta.hash_user_data({"email": "John_Smith@gmail.com", "phone": "(650)555-1212"})
    assert hashed["em"] == "62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f"
    assert hashed["ph"] == "e323ec626319ca94ee8bff2e4c87cf613be6ea19919ed1364124e16807ab3176"


def test_contact_fields_are_normalised_and_identifiers_are_never_hashed():
    already = hashlib.sha256(b"someone@example.com").hexdigest()
    hashed = meta.hash_user_data(
        {
            "em": already.upper(),
            "first_name": " Mary-Ann ",
            "gender": "Female",
            "date_of_birth": "1990-01-31",
            "zip": "94035-1234",
            "country": "US",
            "client_ip_address": "203.0.113.7",
            "client_user_agent": "Mozilla/5.0",
            "fbc": "fb.1.1554763741205.AbCdEfGh",
            "fbp": "fb.1.1558571054389.1098115397",
        }
    )
    assert hashed["em"] == already
    assert hashed["fn"] == hashlib.sha256(b"maryann").hexdigest()
    assert hashed["ge"] == hashlib.sha256(b"f").hexdigest()
    assert hashed["db"] == hashlib.sha256(b"19900131").hexdigest()
    assert hashed["zp"] == hashlib.sha256(b"94035").hexdigest()
    assert hashed["country"] == hashlib.sha256(b"us").hexdigest()
    assert hashed["client_ip_address"] == "203.0.113.7"
    assert hashed["client_user_agent"] == "Mozilla/5.0"
    assert hashed["fbc"] == "fb.1.1554763741205.AbCdEfGh"
    assert hashed["fbp"] == "fb.1.1558571054389.1098115397"


def test_the_seed_example_reaches_meta_hashed_and_answers_in_krevs_shape(team, alice, graph, pixel):
    body = {**SEED_EVENT, "user_data": {"email": "John_Smith@gmail.com"}}
    with time_machine.travel(SEED_EVENT["event_time"] + 3600, tick=True):
        r = send(key_client(team, alice), body)
    assert r.status_code == 200, r.content
    answer = r.json()
    assert answer["success"] is True and answer["status"] == "sent"
    assert answer["events_received"] == 1 and answer["fbtrace_id"].startswith("AfakeTrace")
    [sent] = graph.events
    assert sent["user_data"] == {
        "em": "62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f"
    }
    assert sent["event_id"] == "order_123" and sent["custom_data"] == {
        "currency": "USD",
        "value": 79.0,
    }
    assert "access_token" not in bytes(Delivery.objects.get().payload).decode()


def test_a_batch_with_one_event_eight_days_old_is_refused_whole_and_nothing_is_sent(
    krev, graph, pixel
):
    old = int(time.time()) - 8 * 86400
    r = send(krev, {"data": [event(event_id="a"), event(event_id="b", event_time=old)]})
    assert r.status_code == 400
    assert r.json()["code"] == "INVALID_FIELDS"
    assert "data[1]" in r.json()["error"] and "7 days" in r.json()["error"]
    assert graph.requests == 0 and not Delivery.objects.exists()


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"action_source": "carrier_pigeon"}, "action_source"),
        ({"event_source_url": None}, "event_source_url"),
        ({"event_name": None}, "event_name"),
        ({"user_data": {"shoe_size": "44"}}, "shoe_size"),
    ],
)
def test_an_event_meta_would_refuse_is_refused_before_sending(krev, graph, pixel, changes, says):
    r = send(krev, event(**changes))
    assert r.status_code == 400 and says in r.json()["error"]
    assert graph.requests == 0


def test_a_batch_over_a_thousand_events_is_refused(krev, graph, pixel):
    r = send(krev, {"data": [event(event_id=str(i)) for i in range(1001)]})
    assert r.status_code == 400 and "1000" in r.json()["error"]
    assert graph.requests == 0


def test_a_batch_of_a_thousand_events_goes_in_one_request(krev, graph, pixel):
    r = send(krev, {"data": [event(event_id=str(i)) for i in range(1000)]})
    assert r.status_code == 200 and r.json()["events_received"] == 1000
    assert graph.requests == 1


def test_a_repeated_event_id_within_48_hours_is_sent_once(krev, graph, pixel):
    first = send(krev, event())
    again = send(krev, event())
    assert first.status_code == again.status_code == 200
    assert again.json()["events_received"] == 1
    assert again.json()["fbtrace_id"] == first.json()["fbtrace_id"]
    assert len(graph.events) == 1
    with time_machine.travel(time.time() + 49 * 3600, tick=True):
        late = send(krev, event(event_time=int(time.time()) - 60))
    assert late.status_code == 200 and len(graph.events) == 2


def test_a_meta_500_then_200_is_delivered_once_after_a_retry(krev, graph, pixel, no_sleep):
    graph.fail_with = [500]
    r = send(krev, event())
    assert r.status_code == 200 and r.json()["events_received"] == 1
    assert graph.requests == 2 and len(graph.events) == 1
    delivery = Delivery.objects.get()
    assert delivery.state == DeliveryState.SUCCEEDED and delivery.attempts == 2


def test_meta_down_is_a_502_upstream_error_after_the_retries(krev, graph, pixel, no_sleep):
    graph.fail_with = [503, 503, 503]
    r = send(krev, event())
    assert r.status_code == 502 and r.json()["code"] == "UPSTREAM_ERROR"
    assert graph.requests == 3
    graph.fail_with = []
    assert send(krev, event()).status_code == 200  # the client's retry goes through


def test_meta_refusing_the_events_is_a_400_with_metas_message(team, alice, graph, pixel):
    meta.connect_pixel(team, pixel_id="1234567890", access_token="EAAB" + "w" * 40)
    r = send(key_client(team, alice), event())
    assert r.status_code == 400
    assert "Invalid OAuth access token" in r.json()["error"]
    assert graph.requests == 1  # a 4xx is not retried


def test_without_a_pixel_the_answer_says_to_connect_one(krev, graph):
    r = send(krev, event())
    assert r.status_code == 400 and "No Meta pixel" in r.json()["error"]


def test_a_key_without_the_conversions_scope_is_forbidden(team, alice, graph, pixel):
    r = send(key_client(team, alice, scopes=["images"]), event())
    assert r.status_code == 403 and r.json()["code"] == "FORBIDDEN"


def test_a_meta_base_url_on_a_private_address_is_refused(krev, graph, pixel, settings):
    settings.STUDIO_ALLOW_PRIVATE_FETCH = False
    settings.STUDIO_ALLOW_PRIVATE_UPSTREAMS = False
    r = send(krev, event())
    assert r.status_code == 502 and "private" in r.json()["error"]
    assert graph.requests == 0


def test_the_access_token_is_stored_encrypted(team, pixel, graph):
    pixel.refresh_from_db()
    assert graph.token not in pixel.access_token_encrypted
    assert pixel.token_last4 == graph.token[-4:]
