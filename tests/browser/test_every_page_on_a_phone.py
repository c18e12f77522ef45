"""Every page of the sidebar fits a 390 px phone screen: nothing scrolls sideways."""

import os

import pytest

from studio.accounts import credits
from studio.accounts.models import Bucket
from studio.templatetags.studio_nav import NAV
from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD, transactional
from tests.generations.helpers import run, start

pytestmark = [pytest.mark.browser, transactional]


def test_every_sidebar_page_fits_a_390px_screen(browser, live_server, team, alice):
    from django.urls import reverse

    credits.grant(team, 5000, bucket=Bucket.PACK)
    job = run(start(team, alice, "image", {"prompt": "a kite over the dunes " * 8, "count": 2}))
    context = browser.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844})
    too_wide = {}
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        sign_in(page, alice.email, PASSWORD)
        paths = [reverse(name, args=[team.uuid]) for name, *_ in NAV]
        paths += [reverse("gallery_detail", args=[team.uuid, job.uuid]), "/account/"]
        for path in paths:
            page.goto(path)
            page.wait_for_load_state("networkidle")
            width = page.evaluate("document.documentElement.scrollWidth")
            if os.environ.get("STUDIO_SCREENSHOTS"):
                name = path.strip("/").split("/")[-1] or "home"
                page.screenshot(path=f"test-artifacts/phone-{name}.png", full_page=True)
            if width > 390:
                too_wide[path] = width
    finally:
        context.close()
    assert too_wide == {}
