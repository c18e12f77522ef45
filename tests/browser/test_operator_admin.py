"""In Chromium: an operator changes a model's price in the admin and the Studio shows it."""

import os

import pytest
from playwright.sync_api import expect

from generations.models import AIModel
from studio.accounts.models import User
from studio.models import AdminAudit
from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD, transactional

pytestmark = [pytest.mark.browser, transactional]


def _shot(page, name: str) -> None:
    if os.environ.get("STUDIO_SCREENSHOTS"):
        os.makedirs("test-artifacts", exist_ok=True)
        page.screenshot(path=f"test-artifacts/{name}.png", full_page=True)


def test_an_operator_changes_a_models_price_and_the_studio_shows_it(browser, live_server, team):
    operator = User.objects.create_superuser(email="ops@example.com", password=PASSWORD)
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1440, "height": 900})
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.goto("/admin/login/")
        page.fill("input[name=username]", operator.email)
        page.fill("input[name=password]", PASSWORD)
        page.click("input[type=submit]")
        page.goto("/admin/generations/aimodel/")
        _shot(page, "admin-models-1440")
        model = AIModel.objects.get(identifier="studio-local/image")
        row = page.locator("tr", has=page.get_by_role("link", name=model.identifier, exact=True))
        row.locator("input[name$='-credit']").fill("55")
        page.click("input[name=_save]")
        expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
        model.refresh_from_db()
        assert model.credit == 55
        assert AdminAudit.objects.filter(field="credit", new_value="55").exists()
        page.goto("/admin/studio/adminaudit/")
        expect(page.locator("#result_list")).to_contain_text("ops@example.com")
        _shot(page, "admin-audit-1440")
        page.goto("/admin/generations/generation/")
        _shot(page, "admin-generations-1440")
        context.clear_cookies()
        sign_in(page, "alice@example.com", PASSWORD)
        page.goto(f"/t/{team.uuid}/studio/?type=image&model={model.identifier}")
        expect(page.get_by_test_id("cost-credits")).to_have_text("55")
    finally:
        context.close()
