"""Toasts: the credit badge's poll says which watched jobs finished, for this team only."""

from __future__ import annotations

import json

from django.urls import reverse

from generations.models import Generation, GenerationState
from studio.accounts import credits
from tests.generations.helpers import run, start


def _badge(client, team, watch: str):
    return client.get(reverse("credit_badge", args=[team.uuid]), {"watch": watch})


def test_the_badge_poll_carries_a_toast_for_each_watched_job_that_finished(
    funded_team, alice, alice_client
):
    done = run(start(funded_team, alice, "image", {"prompt": "a kite"}))
    running = start(funded_team, alice, "image", {"prompt": "a lighthouse"})
    failed = start(funded_team, alice, "image", {"prompt": "a storm"})
    Generation.objects.filter(pk=failed.pk).update(state=GenerationState.FAILED)
    response = _badge(alice_client, funded_team, f"{done.uuid},{running.uuid},{failed.uuid},junk")
    body = response.content.decode()
    assert response.status_code == 200 and 'data-testid="credit-total"' in body
    assert 'hx-swap-oob="beforeend:#toasts"' in body
    assert "Image is ready" in body and "Image failed" in body
    assert reverse("gallery_detail", args=[funded_team.uuid, done.uuid]) in body
    finished = json.loads(response["HX-Trigger"])["jobs-finished"]["ids"]
    assert sorted(finished) == sorted([str(done.uuid), str(failed.uuid)])


def test_the_badge_poll_without_watched_jobs_carries_no_toast(funded_team, alice_client):
    response = _badge(alice_client, funded_team, "")
    assert "toast" not in response.content.decode()
    assert "HX-Trigger" not in response


def test_another_teams_jobs_never_become_toasts(funded_team, other_team, charlie, alice_client):
    credits.grant(other_team, 1000)
    theirs = run(start(other_team, charlie, "image", {"prompt": "secret"}))
    response = _badge(alice_client, funded_team, str(theirs.uuid))
    assert "toast" not in response.content.decode()


def test_starting_a_job_tells_the_browser_to_watch_it(funded_team, alice_client):
    response = alice_client.post(
        reverse("studio", args=[funded_team.uuid]),
        {"type": "image", "model": "auto", "prompt": "a kite"},
        HTTP_HX_REQUEST="true",
    )
    started = json.loads(response["HX-Trigger"])["job-started"]
    assert started == {"id": str(Generation.objects.get().uuid)}


def test_the_credits_page_shows_what_each_api_key_spent(funded_team, alice, alice_client):
    from studio.vault.services import create_api_key

    bot = create_api_key(funded_team, alice, "Deploy bot", scopes=["images"]).key
    other = create_api_key(funded_team, alice, "Night batch", scopes=["images"]).key
    for key, count in ((bot, 1), (bot, 2), (other, 1)):
        start(
            funded_team,
            alice,
            "image",
            {"prompt": "a kite", "count": count},
            source="api",
            api_key_id=key.uuid,
        )
    refunded = start(
        funded_team, alice, "image", {"prompt": "x"}, source="api", api_key_id=other.uuid
    )
    Generation.objects.filter(pk=refunded.pk).update(credits_refunded=40)
    start(funded_team, alice, "image", {"prompt": "from the dashboard"})
    body = alice_client.get(reverse("credits", args=[funded_team.uuid])).content.decode()
    table = body.split('data-testid="usage-breakdown"', 1)[1].split("</table>", 1)[0]
    assert "By API key, last 30 days" in body
    assert table.index("Deploy bot") < table.index("Night batch")
    assert '<td class="num">120</td>' in table and '<td class="num">40</td>' in table
    assert f"{bot.prefix}…{bot.last4}" in table
