"""The Integrations page and `manage.py connect_meta_pixel`."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from studio.integrations import webhooks
from studio.integrations.models import Delivery, DeliveryState, MetaPixel, WebhookEndpoint

pytestmark = pytest.mark.django_db


def page(team):
    return reverse("integrations", args=[team.uuid])


def act(client, team, **data):
    return client.post(reverse("integrations_action", args=[team.uuid]), data)


def test_an_empty_page_explains_what_to_do(alice_client, team):
    r = alice_client.get(page(team))
    assert r.status_code == 200
    assert b"No pixel connected" in r.content and b"No endpoints yet" in r.content
    assert b"Nothing sent yet" in r.content


def test_an_admin_connects_a_pixel_and_the_token_is_never_shown(alice_client, team, graph):
    r = act(alice_client, team, action="connect_pixel", pixel_id="1234567890",
            access_token=graph.token, test_event_code="TEST123")  # fmt: skip
    assert r.status_code == 302
    shown = alice_client.get(page(team)).content.decode()
    assert "1234567890" in shown and graph.token not in shown and graph.token[-4:] in shown
    assert MetaPixel.objects.get(team=team).test_event_code == "TEST123"


def test_send_test_event_shows_metas_answer_and_logs_the_delivery(alice_client, team, pixel):
    r = act(alice_client, team, action="test_event")
    assert r.status_code == 200
    assert b"Meta accepted it" in r.content and b"fbtrace_id: AfakeTrace" in r.content
    assert Delivery.objects.get(team=team).state == DeliveryState.SUCCEEDED


def test_a_created_endpoints_secret_is_shown_once(alice_client, team, receiver):
    r = act(alice_client, team, action="create_endpoint", url=receiver.url,
            event_types=["generation.completed"], dialect="krev")  # fmt: skip
    assert r.status_code == 200 and b"whsec_" in r.content
    endpoint = WebhookEndpoint.objects.get(team=team)
    secret = r.content.decode().split('value="whsec_')[1].split('"')[0]
    again = alice_client.get(page(team)).content.decode()
    assert secret not in again and endpoint.url in again


def test_members_see_the_page_but_only_admins_change_it(bob_client, vera_client, team):
    assert bob_client.get(page(team)).status_code == 200
    assert vera_client.get(page(team)).status_code == 200
    assert act(bob_client, team, action="job_secret").status_code == 403
    assert act(vera_client, team, action="job_secret").status_code == 403
    assert not WebhookEndpoint.objects.exists()


def test_outsiders_get_404_on_the_page_and_on_other_teams_endpoints_and_deliveries(
    charlie_client, alice_client, team, other_team, receiver
):
    endpoint, _ = webhooks.create_endpoint(team, url=receiver.url)
    delivery = Delivery.objects.create(
        team=team, kind="webhook", url=receiver.url, event_type="x", message_id="m", payload=b"{}",
        state=DeliveryState.FAILED,
    )  # fmt: skip
    assert charlie_client.get(page(team)).status_code == 404
    assert (
        act(charlie_client, team, action="delete_endpoint", endpoint=endpoint.uuid).status_code
        == 404
    )
    # From their own team's page, another team's objects do not exist either.
    for action, field, value in (("delete_endpoint", "endpoint", endpoint.uuid),
                                 ("rotate", "endpoint", endpoint.uuid),
                                 ("resend", "delivery", delivery.uuid)):  # fmt: skip
        r = act(charlie_client, other_team, action=action, **{field: value})
        assert r.status_code == 404
    assert WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()
    assert b"receiver" not in charlie_client.get(page(other_team)).content


def test_resend_sends_a_failed_delivery_again_with_the_same_id(alice_client, team, receiver):
    _, receiver.secret = webhooks.create_endpoint(team, url=receiver.url)
    receiver.answers = [400]
    webhooks.publish(team.pk, "generation.completed", lambda d: {"id": "g"})
    delivery = Delivery.objects.get()
    from studio.integrations import deliveries

    deliveries.attempt(delivery.pk)
    assert Delivery.objects.get().state == DeliveryState.FAILED
    act(alice_client, team, action="resend", delivery=delivery.uuid)
    deliveries.attempt(delivery.pk)
    assert Delivery.objects.get().state == DeliveryState.SUCCEEDED
    assert {r.headers["webhook-id"] for r in receiver.received} == {delivery.message_id}


def test_connect_meta_pixel_reads_the_token_from_the_environment(team, monkeypatch):
    monkeypatch.setenv("META_TOKEN", "EAAB" + "z" * 40)
    out = io.StringIO()
    call_command("connect_meta_pixel", "Acme", "--pixel-id", "998877665544",
                 "--token-env", "META_TOKEN", "--test-event-code", "TEST1", stdout=out)  # fmt: skip
    pixel = MetaPixel.objects.get(team=team)
    assert pixel.pixel_id == "998877665544" and pixel.test_event_code == "TEST1"
    assert "zzzz" in out.getvalue() and "EAAB" not in out.getvalue()
    with pytest.raises(CommandError):
        call_command("connect_meta_pixel", "Acme", "--pixel-id", "1", "--token-env", "NOPE_X")


def test_every_team_url_of_integrations_is_in_these_access_tests():
    from django.urls import URLPattern

    from studio.integrations.urls import urlpatterns

    names = {p.name for p in urlpatterns if isinstance(p, URLPattern)}
    # integrations: outsiders 404, every member reads (tests above);
    # integrations_action: outsiders 404, members and viewers 403 (tests above).
    assert names == {"integrations", "integrations_action"}


def test_an_anonymous_visitor_is_sent_to_sign_in(client, team):
    assert client.get(page(team)).status_code == 302
    assert act(client, team, action="job_secret").status_code == 302


def test_rotating_the_vault_keys_re_encrypts_webhook_secrets_and_pixel_tokens(
    team, pixel, receiver, settings
):
    from studio.vault import crypto

    endpoint, secret = webhooks.create_endpoint(team, url=receiver.url)
    settings.STUDIO_VAULT_KEYS = [crypto.generate_key(), *settings.STUDIO_VAULT_KEYS]
    out = io.StringIO()
    call_command("rotate_vault_keys", stdout=out)
    assert "Re-encrypted 2" in out.getvalue() and "failed: 0" in out.getvalue()
    settings.STUDIO_VAULT_KEYS = settings.STUDIO_VAULT_KEYS[:1]
    endpoint.refresh_from_db()
    pixel.refresh_from_db()
    assert webhooks.signing_secrets(endpoint) == [secret]
    assert crypto.decrypt(pixel.access_token_encrypted, row=pixel.uuid).startswith("EAAB")
