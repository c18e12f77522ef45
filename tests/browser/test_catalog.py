"""In Chromium, against a real cluster: a member drops a product photo on the catalog, the
card appears at once and turns from "Analysing…" into the transparent cut-out without a
reload (the page's one poller swaps it in); the product page shows the photo and the
cut-out side by side, and generating with the product puts it in the picture."""

from __future__ import annotations

import base64
import os

import pytest
from playwright.sync_api import expect

from catalog.models import AnalysisStatus, Product
from generations.models import Generation
from studio.accounts import services
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
    page.screenshot(path=f"test-artifacts/catalog-{name}-desktop.png", full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(400)
    page.screenshot(path=f"test-artifacts/catalog-{name}-mobile.png", full_page=True)
    page.set_viewport_size(size)


DROP = """([zone, name, data]) => {
  const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
  const transfer = new DataTransfer();
  transfer.items.add(new File([bytes], name, { type: "image/jpeg" }));
  for (const type of ["dragenter", "dragover", "drop"]) {
    const init = { bubbles: true, cancelable: true, dataTransfer: transfer };
    zone.dispatchEvent(new DragEvent(type, init));
  }
}"""


@pytest.mark.usefixtures("cluster")
def test_a_member_drops_a_product_photo_and_sees_its_analysis_finish(page, alice):
    team = services.create_team("Acme", alice)
    sign_in(page, alice.email, PASSWORD)
    page.goto(f"/t/{team.uuid}/catalog/")
    expect(page.get_by_test_id("catalog-empty")).to_be_visible()
    shoot(page, "empty")
    page.evaluate("window.__catalogSession = 'still here'")

    zone = page.get_by_test_id("dropzone")
    data = base64.b64encode(product_photo()).decode()
    page.evaluate(DROP, [zone.element_handle(), "linen-weekender-bag.jpg", data])

    card = page.get_by_test_id("product-card").first
    expect(card).to_be_visible()
    # The cluster analyses it; the card polls itself until it is done.
    expect(card).to_have_attribute("data-status", "done", timeout=60_000)
    expect(card.get_by_test_id("product-name")).to_have_text("Linen Weekender Bag")
    expect(page.get_by_test_id("catalog-poller")).to_have_attribute("data-polling", "off")
    image = card.locator("img")
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=image.element_handle()
    )
    assert page.evaluate("window.__catalogSession") == "still here"  # no reload
    expect(page.get_by_test_id("catalog-empty")).to_be_hidden()
    shoot(page, "grid")

    # Search narrows the grid in place.
    page.get_by_test_id("catalog-search").fill("zzz")
    expect(page.get_by_test_id("catalog-empty")).to_be_visible()
    page.get_by_test_id("catalog-search").fill("weekender")
    expect(page.get_by_test_id("product-card")).to_have_count(1)
    assert page.evaluate("window.__catalogSession") == "still here"

    product = Product.objects.get(team=team)
    assert product.analysis_status == AnalysisStatus.DONE and product.cutout is not None

    page.get_by_test_id("product-card").first.get_by_test_id("product-name").click()
    expect(page.get_by_test_id("product-title")).to_have_text("Linen Weekender Bag")
    for test_id in ("product-original", "product-cutout"):
        img = page.get_by_test_id(test_id)
        page.wait_for_function(
            "img => img.complete && img.naturalWidth > 0", arg=img.element_handle()
        )
    shoot(page, "product")

    # "Generate with it" opens the Studio with the product picked; the image features it.
    page.get_by_role("link", name="Generate with it").click()
    expect(page.locator("select[name=product_id]")).to_have_value(str(product.pk))
    page.fill("textarea[name=prompt]", "on a linen sofa, morning light")
    page.select_option("select[name=preset_id]", "lifestyle")
    shoot(page, "studio-picker")
    page.get_by_test_id("generate").click()
    job = page.get_by_test_id("job-card").first
    expect(job).to_have_attribute("data-state", "succeeded", timeout=60_000)
    result = job.locator("img").first
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=result.element_handle()
    )
    shoot(page, "studio-result")
    generation = Generation.objects.get(team=team)
    assert generation.params["product_ids"] == [str(product.pk)]
    assert generation.params["preset_id"] == "lifestyle"

    page.goto(f"/t/{team.uuid}/catalog/moodboards/")
    expect(page.get_by_test_id("moodboard-card").first).to_be_visible()
    shoot(page, "moodboards")
    page.get_by_test_id("moodboard-card").first.click()
    expect(page.get_by_test_id("moodboard-images").locator("img")).to_have_count(3)
    shoot(page, "moodboard")
    page.goto(f"/t/{team.uuid}/catalog/dna/")
    expect(page.get_by_test_id("dna-card").first).to_be_visible()
    shoot(page, "dna")
    page.get_by_test_id("dna-card").first.click()
    expect(page.get_by_test_id("dna-images").locator("img")).to_have_count(1)
    shoot(page, "dna-detail")
