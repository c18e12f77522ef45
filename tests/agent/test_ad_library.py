"""research_ads searches Meta's Ad Library (`ads_archive`) with the team's Ad Library token
from the Providers page, through the outbound wrapper, against a loopback fake of the edge."""

from __future__ import annotations

import json
import logging

import pytest
from django.test import Client

from studio.vault.models import ProviderCredential
from studio.vault.services import create_api_key
from tests.agent.conftest import make_product
from tests.agent.test_agent_runs import poll, start
from tests.api.conftest import alice_key, make_key  # noqa: F401
from tests.fakes.meta_ad_library import AdLibraryFake

pytestmark = pytest.mark.django_db(transaction=True)

RESEARCH = {"message": "Research competitor ads for sneakers", "agent": "discover"}


@pytest.fixture
def library(settings):
    fake = AdLibraryFake().start()
    settings.STUDIO_META_GRAPH_URL = fake.url
    settings.STUDIO_META_GRAPH_VERSION = fake.version
    settings.STUDIO_ALLOW_PRIVATE_UPSTREAMS = True  # the fake is on loopback
    yield fake
    fake.stop()


def add_token(client, team, token):
    """Add the token on the Providers page, as a team admin would."""
    response = client.post(
        f"/t/{team.uuid}/providers/",
        {
            "provider": "meta_ad_library",
            "label": "Ad research",
            "base_url": "",
            "secret": token,
            "submits_per_minute": 60,
            "polls_per_minute": 600,
            "max_concurrent_jobs": 20,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    return ProviderCredential.objects.get(team=team, provider="meta_ad_library")


def research(krev):
    run = poll(krev, start(krev, RESEARCH).json()["data"]["run_id"])
    assert run["status"] == "succeeded", run
    [tool] = [t for t in run["transcript"] if t.get("tool_name") == "research_ads"]
    return run, tool


def tool_result(tool) -> dict:
    return tool["result"]


def test_with_a_token_a_discover_run_finds_meta_ad_library_ads_from_the_fake(
    funded, krev, alice_client, offline, library
):
    make_product(funded)
    add_token(alice_client, funded, library.token)
    run, tool = research(krev)
    found = tool_result(tool)["meta_ad_library"]
    assert found["configured"] is True
    assert found["ads"][0]["page_name"] == "Stride Running Co"
    assert found["ads"][0]["bodies"] == ["Sneakers that float on every run."]
    assert found["ads"][0]["titles"] == ["Run lighter"]
    assert found["ads"][0]["started"].startswith("2026-")
    assert found["ads"][0]["snapshot_url"].startswith("https://www.facebook.com/ads/archive/")
    assert found["more_available"] is True
    [asked] = library.received
    assert asked["token"] == library.token
    assert asked["ad_reached_countries"] == '["US"]' and asked["ad_type"] == "ALL"
    assert "sneakers" in asked["search_terms"].lower()
    assert asked["fields"].split(",") >= ["id", "page_name"] and asked["limit"] == "10"
    assert "Stride Running Co" in run["latest_assistant_text"]


def test_without_a_token_research_says_not_configured_and_still_searches_own_ads(
    funded, krev, offline, library
):
    make_product(funded)
    _run, tool = research(krev)
    result = tool_result(tool)
    assert result["meta_ad_library"]["configured"] is False
    assert "not configured" in result["meta_ad_library"]["note"]
    assert result["team_ads"] == []
    assert library.received == []


def test_an_invalid_token_is_reported_in_the_transcript_and_the_run_still_finishes(
    funded, krev, alice_client, offline, library
):
    credential = add_token(alice_client, funded, "EAAG-not-the-right-token-123")
    _run, tool = research(krev)
    note = tool_result(tool)["meta_ad_library"]["note"]
    assert "refused the Ad Library access token" in note
    credential.refresh_from_db()
    assert not credential.healthy


def test_meta_rate_limits_are_reported_and_the_run_still_finishes(
    funded, krev, alice_client, offline, library
):
    add_token(alice_client, funded, library.token)
    library.rate_limited = True
    _run, tool = research(krev)
    assert "rate limit" in tool_result(tool)["meta_ad_library"]["note"]


def test_the_providers_page_connection_test_asks_the_fake_with_the_token(
    funded, alice_client, library
):
    credential = add_token(alice_client, funded, library.token)
    response = alice_client.post(f"/t/{funded.uuid}/providers/{credential.uuid}/test/")
    assert response.status_code == 302
    credential.refresh_from_db()
    assert credential.healthy and credential.last_checked_at is not None
    assert library.received[0]["token"] == library.token


def test_another_team_cannot_see_or_use_the_token(
    funded, alice_client, charlie, charlie_client, other_team, offline, library
):
    credential = add_token(alice_client, funded, library.token)
    page = charlie_client.get(f"/t/{other_team.uuid}/providers/").content.decode()
    assert "Ad research" not in page and credential.secret_last4 not in page
    for action in ("test", "disable", "enable", "delete"):
        url = f"/t/{funded.uuid}/providers/{credential.uuid}/{action}/"
        assert charlie_client.post(url).status_code == 404
        url = f"/t/{other_team.uuid}/providers/{credential.uuid}/{action}/"
        assert charlie_client.post(url).status_code == 404
    key = create_api_key(other_team, charlie, "Globex key").full_key
    _run, tool = research(Client(headers={"Authorization": f"Bearer {key}"}))
    assert tool_result(tool)["meta_ad_library"]["configured"] is False
    assert library.received == []


def test_the_token_never_appears_in_the_transcript_logs_or_pages(
    funded, krev, alice_client, offline, library, caplog
):
    caplog.set_level(logging.DEBUG)
    add_token(alice_client, funded, library.token)
    run, _tool = research(krev)
    assert library.received, "the fake was asked"
    assert library.token not in json.dumps(run)
    assert library.token not in caplog.text
    run_page = alice_client.get(f"/t/{funded.uuid}/agent/runs/{run['run_id']}/")
    providers = alice_client.get(f"/t/{funded.uuid}/providers/")
    for response in (run_page, providers):
        assert library.token not in response.content.decode()
    assert "Meta Ad Library" in providers.content.decode()


def test_the_teams_own_token_is_used_before_an_operator_shared_one(funded, library):
    from studio.integrations import ad_library
    from studio.vault import credentials

    credentials.create_credential(None, "meta_ad_library", "Shared", library.url, "EAAG-shared-1")
    credentials.create_credential(funded, "meta_ad_library", "Ours", library.url, library.token)
    found = ad_library.search(funded, query="sneakers", countries=["US"])
    assert found["ads"] and library.received[0]["token"] == library.token
