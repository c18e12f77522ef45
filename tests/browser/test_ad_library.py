"""An owner adds a Meta Ad Library token on the Providers page and tests the connection."""

import pytest

from studio.accounts import services
from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD, transactional
from tests.fakes.meta_ad_library import AdLibraryFake

pytestmark = [pytest.mark.browser, transactional]


@pytest.fixture
def library(settings):
    fake = AdLibraryFake().start()
    settings.STUDIO_META_GRAPH_URL = fake.url
    settings.STUDIO_META_GRAPH_VERSION = fake.version
    settings.STUDIO_ALLOW_PRIVATE_UPSTREAMS = True  # the fake listens on loopback
    yield fake
    fake.stop()


def test_an_owner_adds_a_meta_ad_library_token_and_its_connection_test_passes(page, alice, library):
    team = services.create_team("Acme", alice)
    sign_in(page, alice.email, PASSWORD)
    page.goto(f"/t/{team.uuid}/providers/")
    form = page.get_by_test_id("add-credential")
    assert "Meta Ad Library: a Meta access token" in form.inner_text()
    form.locator("select[name=provider]").select_option("meta_ad_library")
    form.locator("input[name=label]").fill("Ad research")
    form.locator("input[name=secret]").fill(library.token)
    form.get_by_role("button", name="Add credential").click()
    page.wait_for_load_state("networkidle")
    row = page.get_by_test_id("credential-row")
    assert "Meta Ad Library" in row.inner_text()
    row.get_by_test_id("test-connection").click()
    page.get_by_test_id("test-result").wait_for()
    assert "Connected" in page.get_by_test_id("test-result").inner_text()
    assert library.token not in page.content()
