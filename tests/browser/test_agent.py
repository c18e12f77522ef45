"""In Chromium, against a real cluster: a member asks the agent for an image and a video of a
product and watches the steps and artifacts arrive on the Agent page without reloading."""

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
    page.screenshot(path=f"test-artifacts/agent-{name}-desktop.png", full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(400)
    page.screenshot(path=f"test-artifacts/agent-{name}-mobile.png", full_page=True)
    page.set_viewport_size(size)


@pytest.mark.usefixtures("cluster")
def test_a_members_agent_run_fills_in_live_on_the_agent_page(page, alice):
    team = services.create_team("Acme", alice)
    credits.grant(team, 2000, bucket=Bucket.PACK)
    product = catalog.create_product(
        team, alice, catalog.check_upload(product_photo()), name="Cloudstep Sneakers",
        enqueue=False,
    )  # fmt: skip
    catalog.analyse_product(product.pk)
    sign_in(page, alice.email, PASSWORD)
    page.goto(f"/t/{team.uuid}/agent/")
    expect(page.get_by_test_id("agent-empty")).to_be_visible()
    shoot(page, "empty")

    page.get_by_test_id("agent-product").first.click()
    page.fill("textarea[name=message]", "Make a video and an image of our sneakers on a beach")
    page.select_option("select[name=agent]", "asset")
    page.get_by_test_id("agent-start").click()

    run = page.get_by_test_id("agent-run")
    expect(run).to_be_visible()
    page.evaluate("window.__stayed = true")  # gone if the page reloads
    expect(run.get_by_test_id("agent-step-tool")).to_have_count(2, timeout=120_000)
    expect(run).to_have_attribute("data-status", "succeeded", timeout=120_000)
    assert page.evaluate("window.__stayed === true")
    expect(run.get_by_test_id("agent-artifact")).to_have_count(2)
    expect(run.get_by_test_id("agent-credits")).not_to_have_text("0")
    expect(page.get_by_test_id("agent-conversations")).to_contain_text("Make a video")
    shoot(page, "finished")
