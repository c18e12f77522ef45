"""An owner connects a Meta pixel, sends a test event and finds it in the delivery log."""

import os

import pytest

from studio.accounts import services
from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD, transactional
from tests.fakes.meta_graph import MetaGraphFake

pytestmark = [pytest.mark.browser, transactional]


@pytest.fixture
def graph(settings):
    fake = MetaGraphFake().start()
    settings.STUDIO_META_GRAPH_URL = fake.url
    settings.STUDIO_META_GRAPH_VERSION = fake.version
    settings.STUDIO_ALLOW_PRIVATE_UPSTREAMS = True  # the fake listens on loopback
    yield fake
    fake.stop()


def test_an_owner_connects_a_pixel_sends_a_test_event_and_sees_it_in_the_delivery_log(
    page, alice, graph
):
    team = services.create_team("Acme", alice)
    sign_in(page, alice.email, PASSWORD)
    page.goto(f"/t/{team.uuid}/")
    page.get_by_role("link", name="Integrations").first.click()
    page.wait_for_url(f"**/t/{team.uuid}/integrations/")
    assert "No pixel connected" in page.get_by_test_id("meta-pixel").inner_text()

    page.fill("input[name=pixel_id]", "1234567890")
    page.fill("input[name=access_token]", graph.token)
    page.fill("input[name=test_event_code]", "TEST4242")
    page.get_by_role("button", name="Connect pixel").click()
    page.wait_for_load_state("networkidle")
    card = page.get_by_test_id("meta-pixel").inner_text()
    assert "1234567890" in card and graph.token not in page.content()

    page.get_by_test_id("send-test-event").click()
    page.wait_for_load_state("networkidle")
    answer = page.get_by_test_id("test-answer").inner_text()
    assert "Meta accepted it" in answer and "events_received: 1" in answer
    assert graph.received[0]["test_event_code"] == "TEST4242"

    log = page.get_by_test_id("delivery-log").inner_text()
    assert "PageView" in log and "delivered" in log and "HTTP 200" in log
    if os.environ.get("STUDIO_SCREENSHOTS"):
        os.makedirs("test-artifacts", exist_ok=True)
        page.screenshot(path="test-artifacts/integrations-1440.png", full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path="test-artifacts/integrations-390.png", full_page=True)
