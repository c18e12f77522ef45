"""In Chromium: a running job's detail page turns into the finished page without a reload, and
the Studio's price line follows the image count after Generate."""

import os

import pytest
from playwright.sync_api import expect

from generations.models import Generation, GenerationState
from studio.accounts import credits
from studio.accounts.models import Bucket
from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD, transactional
from tests.generations.helpers import run, start

pytestmark = [pytest.mark.browser, transactional]


def _shots(page, name: str) -> None:
    if not os.environ.get("STUDIO_SCREENSHOTS"):
        return
    os.makedirs("test-artifacts", exist_ok=True)
    size = page.viewport_size
    page.set_viewport_size({"width": 1440, "height": 900})
    page.screenshot(path=f"test-artifacts/{name}-1440.png", full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(300)
    page.screenshot(path=f"test-artifacts/{name}-390.png", full_page=True)
    page.set_viewport_size(size)


def test_the_detail_page_of_a_running_job_turns_into_the_finished_page_without_reload(
    page, team, alice
):
    credits.grant(team, 1000, bucket=Bucket.PACK)
    job = start(team, alice, "image", {"prompt": "a lighthouse at dusk", "count": 2})
    Generation.objects.filter(pk=job.pk).update(state=GenerationState.RUNNING, progress=40)
    sign_in(page, alice.email, PASSWORD)
    page.goto(f"/t/{team.uuid}/gallery/{job.uuid}/")
    page.evaluate("window.__stillHere = true")
    header = page.locator(".page-head")
    expect(header.get_by_test_id("job-state")).to_have_text("Running")
    expect(header.get_by_test_id("cancel")).to_be_visible()
    _shots(page, "detail-running")

    Generation.objects.filter(pk=job.pk).update(state=GenerationState.QUEUED, progress=0)
    run(job)  # a worker finishes it

    expect(header.get_by_test_id("job-state")).to_have_text("Succeeded", timeout=8000)
    expect(page.locator(".page-head").get_by_test_id("rerun")).to_be_visible()
    expect(page.get_by_test_id("cancel")).to_have_count(0)
    expect(page.get_by_test_id("download")).to_have_count(2)
    assert page.evaluate("window.__stillHere") is True
    _shots(page, "detail-finished")


def test_the_price_line_follows_the_image_count_after_generate(page, team, alice):
    credits.grant(team, 1000, bucket=Bucket.PACK)
    sign_in(page, alice.email, PASSWORD)
    page.goto(f"/t/{team.uuid}/studio/")
    page.fill("textarea[name=prompt]", "a lighthouse at dusk, " * 400)  # ~9,000 characters
    page.select_option("select[name=count]", "4")
    expect(page.get_by_test_id("cost-credits")).to_have_text("160")
    page.get_by_test_id("generate").click()
    expect(page.get_by_test_id("job-card")).to_have_count(1)
    expect(page.locator("select[name=count]")).to_have_value("4")
    expect(page.get_by_test_id("cost-credits")).to_have_text("160")
    page.select_option("select[name=count]", "2")
    expect(page.get_by_test_id("cost-credits")).to_have_text("80")
    _shots(page, "studio-after-generate")


def test_a_viewer_sees_a_read_only_studio_and_friendly_error_pages(
    browser, live_server, team, vera
):
    for width, height in ((1440, 900), (390, 844)):
        context = browser.new_context(
            base_url=live_server.url, viewport={"width": width, "height": height}
        )
        try:
            page = context.new_page()
            page.set_default_timeout(10_000)
            sign_in(page, vera.email, PASSWORD)
            page.goto(f"/t/{team.uuid}/studio/")
            expect(page.get_by_test_id("read-only-notice")).to_be_visible()
            expect(page.locator("#generate-form")).to_have_count(0)
            expect(page.locator("textarea, select, button[type=submit]:not(.link)")).to_have_count(
                0
            )
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            if os.environ.get("STUDIO_SCREENSHOTS"):
                page.screenshot(path=f"test-artifacts/studio-viewer-{width}.png", full_page=True)
            page.goto(f"/t/{team.uuid}/gallery/00000000-0000-4000-8000-000000000000/")
            expect(page.get_by_test_id("error-404")).to_be_visible()
            expect(page.get_by_role("link", name=f"Back to {team.name}")).to_be_visible()
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            if os.environ.get("STUDIO_SCREENSHOTS"):
                page.screenshot(path=f"test-artifacts/error-404-{width}.png", full_page=True)
        finally:
            context.close()


def test_the_lightbox_steps_through_variants_with_the_keyboard_and_a_batch_zips(page, team, alice):
    import io
    import zipfile

    credits.grant(team, 1000, bucket=Bucket.PACK)
    job = run(start(team, alice, "image", {"prompt": "Three kites", "count": 3}))
    sign_in(page, alice.email, PASSWORD)
    page.goto(f"/t/{team.uuid}/gallery/{job.uuid}/")
    page.get_by_test_id("lightbox-open").nth(0).click()
    lightbox = page.get_by_test_id("lightbox")
    expect(lightbox).to_be_visible()
    expect(page.get_by_test_id("lightbox-count")).to_have_text("1 / 3")
    first = lightbox.locator("img").get_attribute("src")
    page.keyboard.press("ArrowRight")
    expect(page.get_by_test_id("lightbox-count")).to_have_text("2 / 3")
    assert lightbox.locator("img").get_attribute("src") != first
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    expect(page.get_by_test_id("lightbox-count")).to_have_text("3 / 3")
    _shots(page, "lightbox")
    page.keyboard.press("Escape")
    expect(lightbox).to_be_hidden()

    with page.expect_download() as download_info:
        page.get_by_test_id("download-zip").click()
    download = download_info.value
    short = str(job.uuid)[:8]
    assert download.suggested_filename == f"three-kites-{short}.zip"
    with open(download.path(), "rb") as archive:
        names = zipfile.ZipFile(io.BytesIO(archive.read())).namelist()
    assert names == [f"three-kites-{short}-{n}.png" for n in (1, 2, 3)]


def test_a_toast_says_when_a_job_started_here_finishes_on_another_page(page, team, alice):
    credits.grant(team, 1000, bucket=Bucket.PACK)
    sign_in(page, alice.email, PASSWORD)
    page.goto(f"/t/{team.uuid}/studio/")
    page.fill("textarea[name=prompt]", "a kite over the dunes")
    page.get_by_test_id("generate").click()
    expect(page.get_by_test_id("job-card")).to_have_count(1)
    job = Generation.objects.get(team=team)
    page.goto(f"/t/{team.uuid}/credits/")
    expect(page.get_by_test_id("toast")).to_have_count(0)
    run(job)  # a worker finishes it while the user reads the Credits page
    toast = page.get_by_test_id("toast")
    expect(toast).to_contain_text("Image is ready", timeout=10_000)
    _shots(page, "toast")
    assert page.evaluate("window.studioWatched()") == []
    toast.click()
    page.wait_for_url(f"**/gallery/{job.uuid}/")


def test_reloading_the_api_keys_page_after_creating_a_key_creates_no_second_key(page, team, alice):
    from studio.vault.models import ApiKey

    sign_in(page, alice.email, PASSWORD)
    page.goto(f"/t/{team.uuid}/api-keys/")
    page.fill("input[name=name]", "Deploy bot")
    page.get_by_role("button", name="Create key").click()
    expect(page.get_by_test_id("new-key")).to_be_visible()
    full = page.locator("#new-key").input_value()
    assert full.startswith("studio_live_")
    page.reload()
    expect(page.get_by_test_id("new-key")).to_have_count(0)
    assert full not in page.content()
    assert ApiKey.objects.filter(team=team, name="Deploy bot").count() == 1
