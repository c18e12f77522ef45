"""In Chromium: Edit on a gallery image opens the Studio on that image, and the edit renders."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import expect

from generations import services as generations
from generations.models import Generation
from studio.accounts import credits, services
from studio.accounts.models import Bucket
from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def shoot(page, name: str) -> None:
    """Desktop and phone screenshots, when STUDIO_SCREENSHOTS is set."""
    if not os.environ.get("STUDIO_SCREENSHOTS"):
        return
    os.makedirs("test-artifacts", exist_ok=True)
    size = page.viewport_size
    page.set_viewport_size({"width": 1440, "height": 900})
    page.screenshot(path=f"test-artifacts/edit-{name}-desktop.png", full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(400)
    page.screenshot(path=f"test-artifacts/edit-{name}-mobile.png", full_page=True)
    page.set_viewport_size(size)


def test_edit_on_a_gallery_image_opens_the_studio_on_it_and_the_edit_renders(page, alice):
    team = services.create_team("Acme", alice)
    credits.grant(team, 1000, bucket=Bucket.PACK)
    # Runs inline (no cluster): the image is finished when this returns.
    made = generations.start_generation(
        team, alice, "image", {"prompt": "a red kite over green hills", "aspect_ratio": "4:3"}
    ).generation
    made.refresh_from_db()
    assert made.state == "succeeded"
    source = made.assets.get()

    sign_in(page, alice.email, PASSWORD)
    page.goto(f"/t/{team.uuid}/gallery/")
    page.get_by_test_id("tile-edit").first.click()
    expect(page).to_have_url(f"/t/{team.uuid}/studio/?type=image_edit&source={source.uuid}")
    expect(page.get_by_test_id("tab-image_edit")).to_have_attribute("aria-current", "page")
    picked = page.locator(f"input[name=source][value='{source.uuid}']")
    expect(picked).to_be_checked()
    expect(page.get_by_test_id("cost-credits")).to_have_text("40")

    page.fill("textarea[name=prompt]", "make the background blue")
    shoot(page, "form")
    page.get_by_test_id("generate").click()
    card = page.locator("[data-testid=job-card][data-type=image_edit]")
    expect(card).to_have_attribute("data-state", "succeeded", timeout=60_000)
    image = card.locator("img")
    expect(image).to_be_visible()
    loaded = "img => img.complete && img.naturalWidth > 0"
    page.wait_for_function(loaded, arg=image.element_handle())
    edited = Generation.objects.get(team=team, type="image_edit")
    assert edited.params["source_images"] == [f"studio-asset:{source.uuid}/file"]
    assert edited.result_meta["edits"] == ["background → blue (#1d4ed8)"]
    shoot(page, "result")

    page.goto(f"/t/{team.uuid}/gallery/{edited.uuid}/")
    expect(page.get_by_test_id("edit-image")).to_be_visible()  # an edit can be edited again
    shoot(page, "detail")
