"""An owner invites a newcomer by link; the newcomer signs up through it, in Chromium."""

import pytest

from studio.accounts import services
from studio.accounts.models import Membership, Role
from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD, transactional

pytestmark = [pytest.mark.browser, transactional]


def test_an_owner_invites_by_link_and_the_newcomer_signs_up_into_the_team(
    browser, page, live_server, alice, settings
):
    settings.STUDIO_OPEN_SIGNUP = False  # the link must work even when sign-up is closed
    team = services.create_team("Acme", alice)
    sign_in(page, alice.email, PASSWORD)
    page.goto(f"/t/{team.uuid}/members/")
    page.select_option("select[name=role]", "admin")
    page.get_by_role("button", name="Create invitation link").click()
    page.wait_for_load_state("networkidle")
    link = page.get_by_test_id("invitation-link").input_value()
    assert link.startswith("http") and "/invite/" in link
    path = link[link.index("/invite/") :]

    newcomer = browser.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844})
    try:
        other = newcomer.new_page()
        other.set_default_timeout(10_000)
        other.goto(path)
        assert "Join Acme" in other.locator("h1").inner_text()
        other.get_by_test_id("invitation-signup").click()
        other.fill("input[name=name]", "Nia")
        other.fill("input[name=email]", "nia@example.com")
        other.fill("input[name=password]", PASSWORD)
        other.get_by_role("button", name="Create account").click()
        other.wait_for_url(f"**/t/{team.uuid}/**")
        assert "Welcome to Acme" in other.locator("#messages").inner_text()
        other.click(".menu-toggle")
        badge = other.get_by_test_id("credit-total")
        badge.wait_for(state="visible")
        assert badge.inner_text() == f"{team.plan.monthly_credits:,}"
        assert "Acme" in other.get_by_test_id("team-switcher").inner_text()
    finally:
        newcomer.close()

    assert Membership.objects.get(team=team, user__email="nia@example.com").role == Role.ADMIN
    page.reload()
    assert "nia@example.com" in page.get_by_test_id("members").inner_text()
    assert page.get_by_test_id("invitation").count() == 0
