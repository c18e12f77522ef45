"""In Chromium, against a real cluster: a member generates in the Studio and watches the cards
turn from running into playable results, without the page ever reloading."""

from __future__ import annotations

import os
import re

import pytest
from playwright.sync_api import expect

from generations.models import Generation, GenerationState
from studio.accounts import credits, services
from studio.accounts.models import Bucket
from tests.browser.conftest import sign_in
from tests.cluster import cluster  # noqa: F401 - the real-cluster fixture
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ACTIVE = re.compile(r"^(queued|submitting|running|collecting)$")
SCREENSHOTS = bool(os.environ.get("STUDIO_SCREENSHOTS"))


def shoot(page, name: str) -> None:
    """Desktop and phone screenshots of the current page, when STUDIO_SCREENSHOTS is set."""
    if not SCREENSHOTS:
        return
    os.makedirs("test-artifacts", exist_ok=True)
    size = page.viewport_size
    page.screenshot(path=f"test-artifacts/studio-{name}-desktop.png", full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(400)  # the sidebar slides out of view
    page.screenshot(path=f"test-artifacts/studio-{name}-mobile.png", full_page=True)
    page.set_viewport_size(size)


def assert_served(page, url: str) -> None:
    response = page.request.get(url)
    assert response.status == 200, url
    assert len(response.body()) > 1000


@pytest.mark.usefixtures("cluster")
def test_a_member_generates_an_image_and_a_sound_and_sees_them_finish_without_a_reload(page, alice):
    team = services.create_team("Acme", alice)
    credits.grant(team, 1000, bucket=Bucket.PACK)
    team.refresh_from_db()
    start_balance = team.total_credits
    sign_in(page, alice.email, PASSWORD)
    page.goto(f"/t/{team.uuid}/studio/")
    expect(page.get_by_test_id("recent-empty")).to_be_visible()
    shoot(page, "empty")
    # Survives only if the page never navigates or reloads.
    page.evaluate("window.__studioSession = 'still here'")

    page.fill("textarea[name=prompt]", "a lighthouse at dusk, warm light")
    page.select_option("select[name=count]", "2")
    expect(page.get_by_test_id("cost-credits")).to_have_text("80")
    page.get_by_test_id("generate").click()

    card = page.get_by_test_id("job-card").first
    expect(card).to_have_attribute("data-type", "image")
    # The card arrives while the job waits for (or is on) a worker: a progress bar, no result.
    expect(card).to_have_attribute("data-state", ACTIVE)
    expect(card.get_by_test_id("job-progress")).to_be_visible()
    expect(page.get_by_test_id("job-poller")).to_have_attribute("data-polling", "on")
    shoot(page, "running")

    # The single poller swaps the card into its result once the cluster has finished.
    expect(card).to_have_attribute("data-state", "succeeded", timeout=60_000)
    images = card.locator("img")
    expect(images).to_have_count(2)
    for i in range(2):
        expect(images.nth(i)).to_be_visible()
        page.wait_for_function(
            "img => img.complete && img.naturalWidth > 0", arg=images.nth(i).element_handle()
        )
        assert_served(page, images.nth(i).get_attribute("src"))
    expect(page.get_by_test_id("job-poller")).to_have_attribute("data-polling", "off")
    expect(page.get_by_test_id("credit-total")).to_have_text(f"{start_balance - 80:,}")

    # A second job on another tab: the tab switch and the poller restart happen in place.
    page.get_by_test_id("tab-sound").click()
    expect(page.locator("#generate-form input[name=type]")).to_have_value("sound")
    page.fill("textarea[name=prompt]", "rain on a tin roof")
    page.fill("input[name=duration]", "2")
    expect(page.get_by_test_id("cost-credits")).to_have_text("10")
    page.get_by_test_id("generate").click()
    sound = page.locator("[data-testid=job-card][data-type=sound]")
    expect(sound).to_have_count(1)
    expect(page.get_by_test_id("job-poller")).to_have_attribute("data-polling", "on")
    expect(sound).to_have_attribute("data-state", "succeeded", timeout=60_000)
    audio = sound.locator("audio")
    expect(audio).to_have_count(1)
    assert_served(page, audio.get_attribute("src"))
    page.wait_for_function(
        "a => a.readyState >= 1 && a.duration > 1", arg=audio.element_handle(), timeout=15_000
    )
    expect(page.get_by_test_id("job-card")).to_have_count(2)

    assert page.evaluate("window.__studioSession") == "still here"
    assert page.url.endswith("/studio/?type=sound")
    assert Generation.objects.filter(team=team, state=GenerationState.SUCCEEDED).count() == 2
    shoot(page, "finished")

    if SCREENSHOTS:
        page.goto(f"/t/{team.uuid}/gallery/")
        shoot(page, "gallery")
        page.locator("[data-testid=tile] a.tile-media").last.click()
        page.wait_for_load_state("networkidle")
        shoot(page, "detail")
        page.goto(f"/t/{team.uuid}/studio/?type=video_from_image")
        shoot(page, "video-from-image")
        page.goto(f"/t/{team.uuid}/studio/?type=music")
        shoot(page, "music")
