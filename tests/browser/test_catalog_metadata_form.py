"""In Chromium: a product's facts are edited as fields, on a desktop and on a phone."""

import os

import pytest
from playwright.sync_api import expect

from catalog.models import Product
from tests.browser.conftest import sign_in
from tests.catalog.test_pages import make_product
from tests.conftest import PASSWORD, transactional

pytestmark = [pytest.mark.browser, transactional]


@pytest.mark.parametrize("width,height", [(1440, 900), (390, 844)])
def test_a_member_edits_a_products_colours_as_a_field(
    browser, live_server, team, alice, width, height
):
    product = make_product(team, name="Tan Wallet")
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": width, "height": height}
    )
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        sign_in(page, alice.email, PASSWORD)
        page.goto(f"/t/{team.uuid}/catalog/products/{product.pk}/")
        if os.environ.get("STUDIO_SCREENSHOTS"):
            page.screenshot(path=f"test-artifacts/product-form-{width}.png", full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.fill("input[name=colors]", "tan, cognac")
        page.fill("input[name=brand_name]", "Vysionary")
        page.get_by_test_id("product-form").locator("button[type=submit]").click()
        expect(page.locator("input[name=colors]")).to_have_value("tan, cognac")
        metadata = Product.objects.get(pk=product.pk).metadata
        assert metadata["colors"] == ["tan", "cognac"] and metadata["brandName"] == "Vysionary"
    finally:
        context.close()
