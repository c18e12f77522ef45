"""A person signs in, switches team and reads the credit balance, in Chromium."""

import pytest

from studio.accounts import credits, services
from studio.accounts.models import Bucket, Membership, Role
from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD, transactional

pytestmark = [pytest.mark.browser, transactional]


def test_a_member_signs_in_switches_team_and_reads_the_credit_balance(page, alice):
    first = services.create_team("Acme", alice)
    second = services.create_team("Blue Note", alice)
    credits.grant(second, 2500, bucket=Bucket.PACK)
    sign_in(page, alice.email, PASSWORD)

    page.goto(f"/t/{first.uuid}/credits/")
    assert page.get_by_test_id("balance-total").inner_text() == f"{first.plan.monthly_credits:,}"

    page.get_by_test_id("team-switcher").locator("summary").click()
    page.get_by_role("link", name="Blue Note").click()
    page.wait_for_url(f"**/t/{second.uuid}/credits/")
    expected = f"{second.plan.monthly_credits + 2500:,}"
    assert page.get_by_test_id("balance-total").inner_text() == expected
    assert page.get_by_test_id("credit-total").inner_text() == expected
    assert "Blue Note" in page.get_by_test_id("team-switcher").inner_text()


def test_on_a_phone_the_menu_opens_and_closes_and_nothing_scrolls_sideways(
    browser, live_server, alice, bob
):
    team = services.create_team("Acme Creative Collective", alice)
    services.create_team("Blue Note", alice)
    Membership.objects.create(user=bob, team=team, role=Role.VIEWER)
    services.invite(team, alice, email="someone.with.a.long.address@example.com")
    for i in range(30):
        credits.grant(team, 1000 + i, bucket=Bucket.PACK, note=f"Invoice {i}")
    context = browser.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        sign_in(page, alice.email, PASSWORD)
        for path in ("members", "credits", "settings"):
            page.goto(f"/t/{team.uuid}/{path}/")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"/{path}/ is {width}px wide on a 390px screen"

        def sidebar_on_screen() -> bool:
            box = page.locator("#sidebar").bounding_box()
            return box is not None and box["x"] + box["width"] > 1

        assert not sidebar_on_screen()
        page.click(".menu-toggle")
        page.wait_for_timeout(300)  # the slide-in transition
        assert sidebar_on_screen()
        assert page.get_by_test_id("credit-total").inner_text() == f"{1000 + 30 * 1000 + 435:,}"
        page.locator(".nav-backdrop").click(position={"x": 360, "y": 400})
        page.wait_for_timeout(300)  # the slide-out transition
        assert not page.evaluate("document.body.classList.contains('nav-open')")
        page.click(".menu-toggle")
        page.keyboard.press("Escape")
        assert not page.evaluate("document.body.classList.contains('nav-open')")
    finally:
        context.close()
