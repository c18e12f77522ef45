"""A person signs in, switches team and reads the credit balance, in Chromium."""

import pytest

from studio.accounts import credits, services
from studio.accounts.models import Bucket
from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


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
