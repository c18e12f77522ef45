"""In Chromium, against a real cluster: a member makes ads from the Ads page, watches the
variants arrive with their copy, edits a headline and re-sets the text without paying."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import expect

from catalog import services as catalog
from studio.accounts import credits, services
from studio.accounts.models import Bucket
from tests.browser.conftest import sign_in
from tests.catalog.conftest import product_photo
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
    page.screenshot(path=f"test-artifacts/ads-{name}-desktop.png", full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(400)
    page.screenshot(path=f"test-artifacts/ads-{name}-mobile.png", full_page=True)
    page.set_viewport_size(size)


@pytest.mark.usefixtures("cluster")
def test_a_member_makes_an_ad_on_the_ads_page_and_edits_its_copy(page, alice):
    team = services.create_team("Acme", alice)
    credits.grant(team, 1000, bucket=Bucket.PACK)
    team.refresh_from_db()
    after_ad = f"{team.total_credits - 80:,}"
    product = catalog.create_product(
        team,
        alice,
        catalog.check_upload(product_photo()),
        name="Day Shift Protein Bar by Vysionary",
        enqueue=False,
    )
    catalog.analyse_product(product.pk)
    sign_in(page, alice.email, PASSWORD)
    page.goto(f"/t/{team.uuid}/ads/")
    expect(page.get_by_test_id("ads-empty")).to_be_visible()
    shoot(page, "empty")

    page.get_by_test_id("ad-product").first.click()
    page.get_by_test_id("ad-style-offer").click()
    page.fill("textarea[name=brief]", "A direct response ad for busy parents, 20% off")
    page.fill("input[name=brand_context]", "Our colour is #0f9d58")
    page.select_option("select[name=count]", "2")
    expect(page.get_by_test_id("cost-credits")).to_have_text("80")
    page.get_by_test_id("make-ad").click()

    card = page.get_by_test_id("ad-card").first
    expect(card).to_have_attribute("data-state", "succeeded", timeout=90_000)
    variants = card.get_by_test_id("ad-variant")
    expect(variants).to_have_count(2)
    expect(page.get_by_test_id("ads-empty")).to_be_hidden()
    expect(card).to_contain_text("20% off")
    image = variants.first.get_by_test_id("ad-image")
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=image.element_handle()
    )
    before = image.get_attribute("src")
    expect(page.get_by_test_id("credit-total")).to_have_text(after_ad)
    shoot(page, "finished")

    variants.first.locator("input[name$=headline]").fill("Day Shift, half price for parents")
    variants.first.get_by_test_id("reset-text").click()
    first = page.get_by_test_id("ad-variant").first
    expect(first.get_by_test_id("copy-saved")).to_be_visible()
    assert first.get_by_test_id("ad-image").get_attribute("src") != before
    expect(page.get_by_test_id("credit-total")).to_have_text(after_ad)
    response = page.request.get(first.get_by_test_id("download-ad").get_attribute("href"))
    assert response.status == 200 and response.headers["content-type"] == "image/png"
    shoot(page, "edited")
