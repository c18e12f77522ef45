"""On a phone the API keys page and the credits ledger fit the screen, amounts whole."""

import os

import pytest

from studio.accounts import credits
from studio.accounts.models import Bucket
from studio.vault.services import create_api_key
from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD, transactional

pytestmark = [pytest.mark.browser, transactional]


def _shot(page, name: str) -> None:
    if os.environ.get("STUDIO_SCREENSHOTS"):
        os.makedirs("test-artifacts", exist_ok=True)
        page.screenshot(path=f"test-artifacts/{name}.png", full_page=True)


@pytest.mark.parametrize("width,height", [(390, 844), (1440, 900)])
def test_the_api_keys_page_and_the_ledger_fit_the_screen(
    browser, live_server, team, alice, width, height
):
    create_api_key(team, alice, "A deploy bot with a long descriptive name", scopes=["images"])
    for i in range(5):
        credits.grant(team, 987_654_321 + i, bucket=Bucket.PACK, note=f"Invoice {i}")
    credits.debit(team, 1_234_567, "generation:phone-test", user=alice)
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": width, "height": height}
    )
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        sign_in(page, alice.email, PASSWORD)
        for path in ("credits", "api-keys"):
            page.goto(f"/t/{team.uuid}/{path}/")
            _shot(page, f"{path}-{width}")
            scroll = page.evaluate("document.documentElement.scrollWidth")
            assert scroll <= width, f"/{path}/ is {scroll}px wide on a {width}px screen"
        keys = page.goto(f"/t/{team.uuid}/api-keys/") and page.locator("[data-testid=api-keys]")
        sizes = keys.evaluate("el => [el.scrollWidth, el.parentElement.clientWidth]")
        assert sizes[0] <= sizes[1] + 1, f"the keys table is {sizes[0]}px in {sizes[1]}px"
        page.goto(f"/t/{team.uuid}/credits/")
        amounts = page.locator("[data-testid=ledger] td.num:visible")
        for i in range(amounts.count()):
            cell = amounts.nth(i)
            if cell.inner_text().strip():
                fits = cell.evaluate("el => el.scrollWidth <= el.clientWidth + 1")
                lines = cell.evaluate(
                    "el => { const r = document.createRange(); r.selectNodeContents(el);"
                    " return r.getClientRects().length; }"
                )
                assert fits and lines == 1, f"amount cut: {cell.inner_text()!r}"
    finally:
        context.close()


@pytest.mark.parametrize("width,height", [(390, 844), (1440, 900)])
def test_the_gallery_search_and_a_detail_page_fit_the_screen(
    browser, live_server, team, alice, width, height
):
    from tests.generations.helpers import run, start

    credits.grant(team, 1000, bucket=Bucket.PACK)
    job = run(start(team, alice, "image", {"prompt": "a kite over the dunes", "count": 2}))
    run(start(team, alice, "image", {"prompt": "a lighthouse at dusk"}))
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": width, "height": height}
    )
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        sign_in(page, alice.email, PASSWORD)
        page.goto(f"/t/{team.uuid}/gallery/?q=kite")
        assert page.get_by_test_id("tile").count() == 1
        _shot(page, f"gallery-search-{width}")
        for path in ("gallery/?q=kite", f"gallery/{job.uuid}/", f"studio/?from={job.uuid}"):
            page.goto(f"/t/{team.uuid}/{path}")
            scroll = page.evaluate("document.documentElement.scrollWidth")
            assert scroll <= width, f"/{path} is {scroll}px wide on a {width}px screen"
        _shot(page, f"open-in-studio-{width}")
    finally:
        context.close()
