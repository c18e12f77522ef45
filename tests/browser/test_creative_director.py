"""In Chromium, against a real cluster: a member writes a brief on the Creative Director page,
sees the cost, watches the storyboard fill in scene by scene, makes one scene again and
downloads them all."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import expect

from generations.models import AIModel
from studio.accounts import credits, services
from studio.accounts.models import Bucket
from tests.browser.conftest import sign_in
from tests.cluster import cluster  # noqa: F401 - the real-cluster fixture
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = bool(os.environ.get("STUDIO_SCREENSHOTS"))


def shoot(page, name: str) -> None:
    if not SCREENSHOTS:
        return
    os.makedirs("test-artifacts", exist_ok=True)
    size = page.viewport_size
    page.set_viewport_size({"width": 1440, "height": 900})
    page.wait_for_timeout(300)
    page.screenshot(path=f"test-artifacts/cd-{name}-desktop.png", full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(400)
    page.screenshot(path=f"test-artifacts/cd-{name}-mobile.png", full_page=True)
    page.set_viewport_size(size)


@pytest.mark.usefixtures("cluster")
def test_a_member_builds_a_storyboard_that_fills_scene_by_scene(page, alice):
    # The rule-based shot planner plans (the offline chat model is switched off here).
    AIModel.objects.filter(identifier="studio-local/chat").update(enabled=False)
    team = services.create_team("Acme", alice)
    credits.grant(team, 1000, bucket=Bucket.PACK)
    sign_in(page, alice.email, PASSWORD)
    page.goto(f"/t/{team.uuid}/creative-director/")
    expect(page.get_by_test_id("storyboards-empty")).to_be_visible()
    expect(page.get_by_test_id("cost-credits")).to_have_text("160")
    page.fill("input[name=scene_count]", "3")
    page.locator("input[name=scene_count]").dispatch_event("change")
    expect(page.get_by_test_id("cost-credits")).to_have_text("120")
    shoot(page, "empty")

    page.fill(
        "textarea[name=prompt]",
        "A launch film for a handmade ceramic mug: the potter's studio, the glaze, a coffee",
    )
    page.get_by_test_id("make-storyboard").click()
    storyboard = page.get_by_test_id("storyboard").first
    expect(storyboard.get_by_test_id("scene")).to_have_count(3)
    shoot(page, "running")
    expect(storyboard.get_by_test_id("scene-image")).to_have_count(3, timeout=90_000)
    expect(storyboard.get_by_test_id("storyboard-state")).to_have_text("Succeeded")
    expect(storyboard).to_contain_text("Establishing")
    expect(storyboard.get_by_test_id("download-zip")).to_be_visible()
    shoot(page, "done")
    first = storyboard.get_by_test_id("scene-image").nth(1).get_attribute("src")
    storyboard.get_by_test_id("remake-scene").nth(1).click()
    expect(storyboard.get_by_test_id("storyboard-state")).to_have_text("Succeeded", timeout=60_000)
    expect(storyboard.get_by_test_id("scene-image").nth(1)).not_to_have_attribute("src", first)
    with page.expect_download() as download:
        storyboard.get_by_test_id("download-zip").click()
    assert download.value.suggested_filename.endswith(".zip")
