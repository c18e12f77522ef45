"""The Creative Director page: brief, pickers and cost, the storyboard filling in, the zip."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.urls import reverse

from catalog import services as catalog
from generations import language
from generations.models import Generation
from studio.accounts import credits
from studio.accounts.models import Bucket
from tests.catalog.conftest import png_bytes

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def funded(team, monkeypatch):
    monkeypatch.setattr(language, "planning_model", lambda team: None)
    credits.grant(team, 20_000, bucket=Bucket.PACK)
    return team


def page(team) -> str:
    return reverse("creative_director", args=[team.uuid])


def test_the_page_offers_the_brief_the_pickers_and_the_cost_of_four_image_scenes(
    alice_client, funded, alice
):
    catalog.create_moodboard(
        funded, alice, name="Terracotta", uploads=[catalog.check_upload(png_bytes())]
    )
    html = alice_client.get(page(funded)).content.decode()
    assert 'name="prompt"' in html and 'name="scene_count"' in html
    assert "Terracotta" in html and 'name="visual_dna_id"' in html
    assert 'data-testid="cost-credits">160<' in html
    assert "No storyboards yet" in html


def test_the_cost_preview_follows_the_scene_count_and_the_clip_length(alice_client, funded):
    url = reverse("creative_director_cost", args=[funded.uuid])
    html = alice_client.get(
        url, {"scene_count": "3", "workflow_type": "video", "duration": "5"}
    ).content.decode()
    assert ">1,200<" in html and "3 scenes" in html


def test_a_storyboard_started_from_the_page_fills_its_scenes_and_downloads_as_a_zip(
    alice_client, funded, small_renders
):
    response = alice_client.post(
        page(funded),
        {"prompt": "A ceramic mug on a studio table", "scene_count": "3",
         "workflow_type": "image", "aspect_ratio": "1:1"},
    )  # fmt: skip
    assert response.status_code == 302
    parent = Generation.objects.get(team=funded, type="creative_director")
    html = alice_client.get(page(funded)).content.decode()
    assert html.count('data-testid="scene-image"') == 3
    assert "Establishing" in html and "planned by Studio" in html
    card = alice_client.get(
        reverse("creative_director_storyboard", args=[funded.uuid, parent.uuid])
    )
    assert card.status_code == 286  # finished: the card stops polling
    download = alice_client.get(reverse("creative_director_zip", args=[funded.uuid, parent.uuid]))
    assert download.status_code == 200 and download["Content-Type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content))).namelist()
    assert len(names) == 3 and names[0].startswith("01-establishing")


def test_an_htmx_start_answers_the_storyboard_card(alice_client, funded, small_renders):
    response = alice_client.post(
        page(funded),
        {"prompt": "Waves at a harbour", "scene_count": "2", "workflow_type": "image",
         "aspect_ratio": "16:9"},
        headers={"HX-Request": "true"},
    )  # fmt: skip
    assert response.status_code == 200
    assert response.content.decode().count('data-testid="scene"') == 2


def test_a_brief_is_required(alice_client, funded):
    response = alice_client.post(
        page(funded), {"prompt": "", "scene_count": "4", "workflow_type": "image"}
    )
    assert response.status_code == 400 and b"errorlist" in response.content
    assert not Generation.objects.filter(team=funded).exists()


def test_another_teams_storyboard_and_its_zip_are_not_found(
    alice_client, funded, other_team, charlie, small_renders
):
    from generations.creative_director import services

    credits.grant(other_team, 100, bucket=Bucket.PACK)
    theirs = services.start(other_team, charlie, {"prompt": "x", "scene_count": 1}).generation
    for name in ("creative_director_storyboard", "creative_director_zip"):
        assert alice_client.get(reverse(name, args=[funded.uuid, theirs.uuid])).status_code == 404
        assert (
            alice_client.get(reverse(name, args=[other_team.uuid, theirs.uuid])).status_code == 404
        )


def test_the_gallery_shows_the_scenes_as_images_and_not_the_storyboard_itself(
    alice_client, funded, small_renders
):
    alice_client.post(
        page(funded),
        {"prompt": "A lighthouse at dawn", "scene_count": "2", "workflow_type": "image"},
    )
    html = alice_client.get(reverse("gallery", args=[funded.uuid])).content.decode()
    parent = Generation.objects.get(team=funded, type="creative_director")
    assert html.count('data-testid="tile"') == 2 and f"job-{parent.uuid}" not in html


def test_a_scene_is_made_again_from_its_card(alice_client, funded, small_renders):
    alice_client.post(
        page(funded),
        {"prompt": "A lighthouse at dawn", "scene_count": "2", "workflow_type": "image"},
    )
    parent = Generation.objects.get(team=funded, type="creative_director")
    response = alice_client.post(
        reverse("creative_director_remake", args=[funded.uuid, parent.uuid, 2]),
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert response.content.decode().count('data-testid="scene-image"') == 2
    assert parent.children.count() == 3
    parent.refresh_from_db()
    assert parent.credits_charged == 120 and parent.state == "succeeded"
