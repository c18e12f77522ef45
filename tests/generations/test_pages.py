"""The Studio, Gallery and detail pages: access, starting, live cards, actions, filters."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from generations import engine
from generations.models import AIModel, Asset, Generation, GenerationState
from studio.accounts import credits
from tests.generations.helpers import run, start

# Nothing here looks at the pixels: render them small (see `small_renders`).
pytestmark = pytest.mark.usefixtures("small_renders")

S = GenerationState
HTMX = {"HTTP_HX_REQUEST": "true"}


def studio_url(team, **query) -> str:
    url = reverse("studio", args=[team.uuid])
    if query:
        url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return url


def detail_url(generation) -> str:
    return reverse("gallery_detail", args=[generation.team.uuid, generation.uuid])


def action_url(name: str, generation) -> str:
    return reverse(f"gallery_{name}", args=[generation.team.uuid, generation.uuid])


def poll_url(team, *generations, **extra) -> str:
    ids = "&".join(f"g={g.uuid}" for g in generations)
    more = "&".join(f"{k}={v}" for k, v in extra.items())
    return reverse("studio_poll", args=[team.uuid]) + "?" + "&".join(x for x in (ids, more) if x)


def balance(team) -> int:
    team.refresh_from_db()
    return team.total_credits


def running(team, user, prompt: str = "a lighthouse at dusk", **fields) -> Generation:
    """A started image job that stays in `running` (its task never runs in `db` tests)."""
    generation = start(team, user, "image", {"prompt": prompt, **fields})
    Generation.objects.filter(pk=generation.pk).update(state=S.RUNNING, progress=40)
    generation.refresh_from_db()
    return generation


def finished(team, user, generation_type: str = "image", **raw) -> Generation:
    raw.setdefault("prompt", "a red kite over green hills")
    if generation_type == "speech":
        raw.setdefault("text", raw.pop("prompt"))
    return run(start(team, user, generation_type, raw))


# --- access -----------------------------------------------------------------------------------


@pytest.mark.parametrize("page", ["studio", "gallery"])
def test_each_page_works_for_owners_members_and_viewers(
    page, team, alice_client, bob_client, vera_client
):
    url = reverse(page, args=[team.uuid])
    for client in (alice_client, bob_client, vera_client):
        response = client.get(url)
        assert response.status_code == 200
        assert b"No generations yet" in response.content


@pytest.mark.parametrize("page", ["studio", "gallery", "studio_quote", "studio_poll"])
def test_outsiders_get_404_on_every_page(page, team, charlie_client):
    assert charlie_client.get(reverse(page, args=[team.uuid])).status_code == 404


def test_anonymous_visitors_are_sent_to_sign_in(team, client):
    response = client.get(reverse("studio", args=[team.uuid]))
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_a_generation_of_another_team_is_404_on_every_route(
    funded_team, alice, other_team, charlie_client
):
    generation = running(funded_team, alice)
    # charlie is a member of other_team, and asks for funded_team's generation by id.
    for url in (
        reverse("gallery_detail", args=[other_team.uuid, generation.uuid]),
        reverse("gallery_cancel", args=[other_team.uuid, generation.uuid]),
        reverse("gallery_delete", args=[other_team.uuid, generation.uuid]),
        reverse("gallery_rerun", args=[other_team.uuid, generation.uuid]),
    ):
        method = charlie_client.get if url.endswith(f"{generation.uuid}/") else charlie_client.post
        assert method(url).status_code == 404
    response = charlie_client.get(poll_url(other_team, generation))
    assert str(generation.uuid) not in response.content.decode()
    generation.refresh_from_db()
    assert generation.state == S.RUNNING


def test_viewers_see_the_pages_but_get_403_on_every_write(funded_team, alice, vera_client):
    active = running(funded_team, alice)
    done = finished(funded_team, alice)
    before = balance(funded_team)
    assert vera_client.get(detail_url(done)).status_code == 200
    assert (
        vera_client.post(
            studio_url(funded_team), {"type": "image", "prompt": "a cat", "model": "auto"}
        ).status_code
        == 403
    )
    assert vera_client.post(action_url("cancel", active)).status_code == 403
    assert vera_client.post(action_url("delete", done)).status_code == 403
    assert vera_client.post(action_url("rerun", done)).status_code == 403
    assert balance(funded_team) == before
    assert Generation.objects.filter(team=funded_team).count() == 2
    page = vera_client.get(studio_url(funded_team)).content.decode()
    assert 'data-testid="generate"' not in page


def test_a_viewer_sees_a_read_only_notice_instead_of_the_studio_form(funded_team, vera_client):
    page = vera_client.get(studio_url(funded_team)).content.decode()
    assert 'data-testid="read-only-notice"' in page
    assert "not start new ones" in page
    assert 'id="generate-form"' not in page and "<textarea" not in page


# --- the Studio form --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("generation_type", "expected"),
    [
        ("image", ["aspect_ratio", "count", "hd"]),
        ("video", ["aspect_ratio", "duration"]),
        ("video_from_image", ["image_url", "duration"]),
        ("music", ["style", "instrumental", "lyrics", "vocal_gender", "duration"]),
        ("speech", ["voice"]),
        ("sound", ["duration"]),
    ],
)
def test_each_tab_shows_the_fields_of_its_type(generation_type, expected, team, alice_client):
    page = alice_client.get(studio_url(team, type=generation_type)).content.decode()
    for name in [*expected, "model"]:
        assert f'name="{name}"' in page, name
    assert "Smart Select" in page


def test_the_model_picker_lists_enabled_models_with_their_price_and_unit(team, alice_client):
    AIModel.objects.filter(identifier="studio-local/video").update(enabled=False)
    page = alice_client.get(studio_url(team, type="image")).content.decode()
    assert "Studio Offline Image · 40 credits / image" in page
    assert "studio-local/music" not in page
    page = alice_client.get(studio_url(team, type="video")).content.decode()
    assert "No enabled model can make video" in page


def test_the_voice_picker_groups_voices_by_language(team, alice_client):
    page = alice_client.get(studio_url(team, type="speech")).content.decode()
    assert '<optgroup label="English">' in page
    assert '<optgroup label="French">' in page


def test_a_tab_switch_over_htmx_returns_only_the_form(team, alice_client):
    response = alice_client.get(
        studio_url(team, type="music"), HTTP_HX_TARGET="studio-form", **HTMX
    )
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="studio-form"')
    assert 'name="lyrics"' in body
    assert 'id="recent-list"' not in body


def test_the_cost_preview_prices_the_current_values_against_the_balance(funded_team, alice_client):
    url = reverse("studio_quote", args=[funded_team.uuid])
    response = alice_client.get(url, {"type": "image", "model": "auto", "count": "3", "hd": "on"})
    assert response.status_code == 200
    text = response.content.decode()
    assert 'data-testid="cost-credits">240<' in text
    assert f"you have {balance(funded_team):,}" in text
    response = alice_client.get(url, {"type": "video", "duration": "8", "prompt": ""})
    assert 'data-testid="cost-credits">640<' in response.content.decode()


def test_the_cost_preview_says_how_many_credits_are_missing(team, alice_client):
    credits.debit(team, balance(team) - 50, "test:drain")
    response = alice_client.get(
        reverse("studio_quote", args=[team.uuid]), {"type": "image", "count": "2"}
    )
    text = response.content.decode()
    assert "You need 30 more" in text
    assert reverse("credits", args=[team.uuid]) in text


def test_starting_an_image_from_the_form_charges_the_price_and_prepends_a_card(
    funded_team, alice, alice_client, django_capture_on_commit_callbacks
):
    before = balance(funded_team)
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(
            studio_url(funded_team),
            {
                "type": "image",
                "model": "auto",
                "prompt": "a lighthouse at dusk",
                "aspect_ratio": "16:9",
                "count": "2",
                "hd": "on",
            },
            **HTMX,
        )
    assert response.status_code == 200
    generation = Generation.objects.get(team=funded_team)
    assert generation.credits_charged == 160
    assert generation.params["aspect_ratio"] == "16:9"
    assert generation.created_by == alice
    assert balance(funded_team) == before - 160
    body = response.content.decode()
    assert body.lstrip().startswith(f'<article id="job-{generation.uuid}"')
    assert "credits-changed" in response["HX-Trigger"]
    # The poller comes back out of band, running, so the new card gets polled.
    assert 'id="job-poller" class="job-poller" data-testid="job-poller" data-polling="on"' in body
    assert 'hx-swap-oob="true"' in body

    # The job ran when the request committed; the next poll shows its images and stops.
    generation.refresh_from_db()
    assert generation.state == S.SUCCEEDED
    poll = alice_client.get(poll_url(funded_team, generation), **HTMX)
    assert poll.status_code == 286
    card = poll.content.decode()
    assert card.count('class="media-image"') == 2
    assert "every 2s" not in card
    for asset in generation.assets.all():
        assert str(asset.uuid) in card


def test_after_generate_the_price_line_still_prices_the_kept_image_count(funded_team, alice_client):
    response = alice_client.post(
        studio_url(funded_team),
        {"type": "image", "model": "auto", "prompt": "a kite", "count": "4"},
        **HTMX,
    )
    form = response.content.decode().split('id="studio-form"', 1)[1]
    assert '<option value="4" selected>' in form
    assert 'data-testid="cost-credits">160<' in form


def test_a_studio_link_with_settings_prices_those_settings(funded_team, alice_client):
    page = alice_client.get(studio_url(funded_team, type="image", count="3")).content.decode()
    assert 'data-testid="cost-credits">120<' in page


def test_the_price_preview_is_posted_so_a_long_prompt_never_reaches_a_url(
    funded_team, alice_client
):
    page = alice_client.get(studio_url(funded_team)).content.decode()
    quote_url = reverse("studio_quote", args=[funded_team.uuid])
    assert f'hx-post="{quote_url}"' in page and f'hx-get="{quote_url}' not in page
    prompt = "a very long prompt, " * 2000
    response = alice_client.post(
        quote_url, {"type": "image", "prompt": prompt, "count": "2"}, **HTMX
    )
    assert response.status_code == 200
    assert 'data-testid="cost-credits">80<' in response.content.decode()


def test_switching_the_model_redraws_the_form_by_post_and_keeps_the_prompt(
    funded_team, alice_client
):
    response = alice_client.post(
        reverse("studio_quote", args=[funded_team.uuid]),
        {"type": "image", "model": "auto", "prompt": "a kite over the dunes", "count": "2"},
        HTTP_HX_TARGET="studio-form",
        **HTMX,
    )
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="studio-form"')
    assert "a kite over the dunes" in body
    assert 'data-testid="cost-credits">80<' in body
    assert not Generation.objects.exists()


def test_starting_without_javascript_redirects_back_to_the_studio(funded_team, alice_client):
    response = alice_client.post(
        studio_url(funded_team), {"type": "sound", "prompt": "rain on a tin roof", "duration": "3"}
    )
    assert response.status_code == 302
    assert response["Location"] == studio_url(funded_team, type="sound")
    generation = Generation.objects.get(team=funded_team)
    assert generation.params["duration"] == 3
    assert generation.credits_charged == 10
    page = alice_client.get(response["Location"]).content.decode()
    assert f'id="job-{generation.uuid}"' in page


def test_a_speech_request_sends_the_voice_and_its_language(funded_team, alice_client):
    alice_client.post(
        studio_url(funded_team),
        {"type": "speech", "text": "Bonjour tout le monde", "voice": "fr-fr-m", "model": "auto"},
    )
    generation = Generation.objects.get(team=funded_team)
    assert generation.params["voice"] == "fr-fr-m"
    assert generation.params["language"] == "fr-FR"
    assert generation.credits_charged == 2


def test_video_from_image_can_animate_one_of_the_teams_images(funded_team, alice, alice_client):
    source = finished(funded_team, alice)
    asset = source.assets.get()
    page = alice_client.get(studio_url(funded_team, type="video_from_image")).content.decode()
    assert f'value="{asset.uuid}"' in page
    alice_client.post(
        studio_url(funded_team),
        {"type": "video_from_image", "source": str(asset.uuid), "duration": "4"},
    )
    video = Generation.objects.get(team=funded_team, type="video_from_image")
    # Stored as a lasting reference to the team's asset (a signed link would expire).
    assert video.params["image_url"] == f"studio-asset:{asset.uuid}/file"
    assert video.credits_charged == 320


def test_video_from_image_without_a_source_says_what_to_do(funded_team, alice_client):
    response = alice_client.post(
        studio_url(funded_team), {"type": "video_from_image", "duration": "4"}, **HTMX
    )
    assert "Pick one of your images or paste an image URL" in response.content.decode()
    assert response["HX-Retarget"] == "#studio-form"
    assert not Generation.objects.exists()


def test_insufficient_credits_show_in_the_form_with_a_link_to_the_credits_page(team, alice_client):
    credits.debit(team, balance(team) - 10, "test:drain")
    response = alice_client.post(
        studio_url(team), {"type": "image", "prompt": "a cat", "count": "1"}, **HTMX
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert response["HX-Retarget"] == "#studio-form"
    assert response["HX-Reswap"] == "outerHTML"
    assert 'data-testid="form-error"' in body
    assert f'href="{reverse("credits", args=[team.uuid])}">Add credits' in body
    assert not Generation.objects.exists()
    # Without JavaScript the same form comes back with the error, and a 400.
    response = alice_client.post(studio_url(team), {"type": "image", "prompt": "a cat"})
    assert response.status_code == 400
    assert "Add credits" in response.content.decode()


def test_a_missing_prompt_is_reported_next_to_the_prompt(funded_team, alice_client):
    response = alice_client.post(studio_url(funded_team), {"type": "image", "prompt": ""}, **HTMX)
    assert "Describe what you want to make." in response.content.decode()
    assert not Generation.objects.exists()


# --- live cards -------------------------------------------------------------------------------


def test_the_studio_lists_recent_cards_and_polls_once_for_all_running_ones(
    funded_team, alice, alice_client
):
    jobs = [running(funded_team, alice, f"job {i}") for i in range(3)]
    page = alice_client.get(studio_url(funded_team)).content.decode()
    assert page.count('hx-trigger="every 2s') == 1
    assert "[document.visibilityState === 'visible']" in page
    for job in jobs:
        assert f'class="poll-id" name="g" value="{job.uuid}"' in page
    assert 'role="progressbar"' in page


def test_a_page_without_running_jobs_does_not_poll(funded_team, alice, alice_client):
    finished(funded_team, alice)
    page = alice_client.get(studio_url(funded_team)).content.decode()
    assert "every 2s" not in page
    assert 'data-polling="off"' in page


def test_the_poll_returns_running_cards_out_of_band_and_keeps_polling(
    funded_team, alice, alice_client
):
    job = running(funded_team, alice)
    response = alice_client.get(poll_url(funded_team, job), **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert f'<article id="job-{job.uuid}"' in body
    assert 'hx-swap-oob="true"' in body
    assert "every 2s" in body
    assert 'aria-valuenow="40"' in body


def test_the_finished_card_is_returned_without_a_polling_trigger(funded_team, alice, alice_client):
    job = running(funded_team, alice)
    # A worker finishes it between two polls.
    Generation.objects.filter(pk=job.pk).update(state=S.QUEUED, progress=0)
    run(job)
    response = alice_client.get(poll_url(funded_team, job), **HTMX)
    assert response.status_code == 286
    body = response.content.decode()
    assert "hx-trigger" not in body
    assert 'data-polling="off"' in body
    assert 'data-state="succeeded"' in body
    assert 'class="poll-id"' not in body
    assert "<img " in body


def test_the_poll_without_any_card_stops_at_once(team, alice_client):
    response = alice_client.get(poll_url(team, type("G", (), {"uuid": uuid.uuid4()})()))
    assert response.status_code == 286


def _poll_queries(client, team, generations) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(poll_url(team, *generations), **HTMX)
    assert response.status_code == 200
    return len(queries)


def test_the_poll_is_a_constant_number_of_queries_for_1_or_20_running_jobs(
    funded_team, alice, alice_client, django_assert_max_num_queries
):
    done = finished(funded_team, alice, count=2)
    jobs = [running(funded_team, alice, f"job {i}") for i in range(20)]
    _poll_queries(alice_client, funded_team, jobs[:1])  # warm the session and last_team
    one = _poll_queries(alice_client, funded_team, [*jobs[:1], done])
    twenty = _poll_queries(alice_client, funded_team, [*jobs, done])
    assert one == twenty
    with django_assert_max_num_queries(8):
        alice_client.get(poll_url(funded_team, *jobs, done), **HTMX)


def test_the_poll_never_calls_an_upstream(funded_team, alice, alice_client, monkeypatch):
    from generations.providers import base

    job = running(funded_team, alice)

    def forbidden(*args, **kwargs):
        raise AssertionError("a poll reached a provider")

    monkeypatch.setattr(base, "get_adapter", forbidden)
    monkeypatch.setattr(engine, "enqueue", forbidden)
    assert alice_client.get(poll_url(funded_team, job), **HTMX).status_code == 200


def test_the_gallery_polls_its_running_tiles_as_tiles(funded_team, alice, alice_client):
    job = running(funded_team, alice)
    page = alice_client.get(reverse("gallery", args=[funded_team.uuid])).content.decode()
    assert 'hx-vals=\'{"layout": "tile"}\'' in page
    body = alice_client.get(poll_url(funded_team, job, layout="tile"), **HTMX).content.decode()
    assert f'<article id="job-{job.uuid}" class="tile' in body


# --- actions ----------------------------------------------------------------------------------


def test_cancel_refunds_and_returns_the_cancelled_card(funded_team, alice, bob_client):
    job = running(funded_team, alice)
    before = balance(funded_team)
    response = bob_client.post(action_url("cancel", job), **HTMX)
    assert response.status_code == 200
    assert "credits-changed" in response["HX-Trigger"]
    body = response.content.decode()
    assert 'data-state="cancelled"' in body
    assert "40 credits refunded" in body
    assert balance(funded_team) == before + 40
    # A second cancel says why it cannot, and refunds nothing.
    response = bob_client.post(action_url("cancel", job), **HTMX)
    assert "already cancelled" in response.content.decode()
    assert balance(funded_team) == before + 40


def test_cancel_without_javascript_redirects_to_the_detail_page(funded_team, alice, bob_client):
    job = running(funded_team, alice)
    response = bob_client.post(action_url("cancel", job))
    assert response.status_code == 302
    assert response["Location"] == detail_url(job)
    page = bob_client.get(response["Location"]).content.decode()
    assert "Cancelled; 40 credits went back to the team." in page


def test_delete_frees_the_storage_and_the_files(funded_team, alice, bob_client):
    generation = finished(funded_team, alice, count=2)
    paths = [a.file.path for a in generation.assets.all()]
    funded_team.refresh_from_db()
    assert funded_team.storage_used_bytes > 0
    confirm = bob_client.get(action_url("delete", generation))
    assert b"Delete for good" in confirm.content
    response = bob_client.post(action_url("delete", generation))
    assert response.status_code == 302
    assert response["Location"] == reverse("gallery", args=[funded_team.uuid])
    assert not Generation.objects.filter(pk=generation.pk).exists()
    assert not Asset.objects.exists()
    funded_team.refresh_from_db()
    assert funded_team.storage_used_bytes == 0
    import os

    assert not any(os.path.exists(p) for p in paths)


def test_delete_over_htmx_sends_the_browser_to_the_gallery(funded_team, alice, bob_client):
    generation = finished(funded_team, alice)
    response = bob_client.post(action_url("delete", generation), **HTMX)
    assert response["HX-Redirect"] == reverse("gallery", args=[funded_team.uuid])


def test_a_running_generation_cannot_be_deleted(funded_team, alice, bob_client):
    job = running(funded_team, alice)
    response = bob_client.post(action_url("delete", job), follow=True)
    assert "Cancel this generation before deleting it" in response.content.decode()
    assert Generation.objects.filter(pk=job.pk).exists()


def test_rerun_starts_the_same_settings_again_and_charges_again(
    funded_team, alice, bob, bob_client
):
    original = finished(funded_team, alice, aspect_ratio="4:3", count=2)
    before = balance(funded_team)
    response = bob_client.post(action_url("rerun", original))
    again = Generation.objects.exclude(pk=original.pk).get()
    assert response["Location"] == detail_url(again)
    assert again.created_by == bob
    assert again.prompt == original.prompt
    assert again.params["aspect_ratio"] == "4:3"
    assert again.params["count"] == 2
    assert again.credits_charged == original.credits_charged == 80
    assert balance(funded_team) == before - 80


def test_rerun_without_credits_explains_what_to_do(team, alice, alice_client):
    original = finished(team, alice)
    credits.debit(team, balance(team), "test:drain")
    response = alice_client.post(action_url("rerun", original), follow=True)
    assert "Add credits" in response.content.decode()
    assert Generation.objects.count() == 1


# --- the detail page --------------------------------------------------------------------------


def test_the_detail_page_shows_the_result_parameters_cost_timings_and_downloads(
    funded_team, alice, alice_client
):
    generation = finished(funded_team, alice, aspect_ratio="16:9", hd=True)
    page = alice_client.get(detail_url(generation)).content.decode()
    asset = generation.assets.get()
    assert f"/m/{asset.uuid}/file/" in page
    assert "40 credits × 1 image × 2 (HD)" in page  # noqa: RUF001
    assert "Aspect ratio" in page and "16:9" in page
    assert "Completed" in page and "Took" in page
    download = page.split('data-testid="download"')[0].rsplit('href="', 1)[1].split('"')[0]
    response = alice_client.get(download.replace("&amp;", "&"))
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]


def test_the_detail_page_of_a_failed_job_shows_the_error_and_the_refund(
    funded_team, alice, alice_client
):
    from generations.providers.base import Failure, FailureCategory

    job = running(funded_team, alice)
    engine.fail(
        job.pk, Failure("The upstream refused the prompt", FailureCategory.CONTENT_POLICY, "X")
    )
    page = alice_client.get(detail_url(job)).content.decode()
    assert "The upstream refused the prompt" in page
    assert "40 credits refunded" in page


def test_the_detail_page_of_a_running_job_polls_and_offers_cancel(funded_team, alice, alice_client):
    job = running(funded_team, alice)
    page = alice_client.get(detail_url(job)).content.decode()
    assert page.count("every 2s") == 1
    assert action_url("cancel", job) in page


def test_the_detail_page_of_a_running_job_refreshes_header_actions_and_cost_together(
    funded_team, alice, alice_client
):
    job = running(funded_team, alice)
    headers = {**HTMX, "HTTP_HX_TARGET": "detail-body"}
    while_running = alice_client.get(detail_url(job), **headers).content.decode()
    assert while_running.lstrip().startswith('<div id="detail-body"')
    assert "every 2s" in while_running and 'data-testid="cancel"' in while_running
    assert "<html" not in while_running

    Generation.objects.filter(pk=job.pk).update(state=S.QUEUED, progress=0)
    run(job)  # a worker finishes it between two polls
    finished_body = alice_client.get(detail_url(job), **headers)
    body = finished_body.content.decode()
    assert "every 2s" not in body  # the poll stops with the finished page
    assert 'data-testid="cancel"' not in body and "Queued" not in body
    assert 'data-testid="rerun"' in body and 'data-testid="download"' in body
    assert 'data-state="succeeded"' in body
    assert "credits-changed" in finished_body["HX-Trigger"]


# --- the Gallery ------------------------------------------------------------------------------


def test_the_gallery_filters_by_type_state_member_and_date(funded_team, alice, bob, alice_client):
    image = finished(funded_team, alice)
    sound = finished(funded_team, bob, "sound", duration=2)
    active = running(funded_team, bob, "still going")
    old = running(funded_team, alice, "from last month")
    Generation.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(days=40), state=S.CANCELLED
    )
    url = reverse("gallery", args=[funded_team.uuid])

    def shown(**query) -> set:
        page = alice_client.get(url, query).content.decode()
        return {g for g in (image, sound, active, old) if f'id="job-{g.uuid}"' in page}

    assert shown() == {image, sound, active, old}
    assert shown(type="sound") == {sound}
    assert shown(state="active") == {active}
    assert shown(state="succeeded") == {image, sound}
    assert shown(member=str(bob.pk)) == {sound, active}
    since = (timezone.now() - timedelta(days=7)).date().isoformat()
    assert shown(since=since) == {image, sound, active}
    until = (timezone.now() - timedelta(days=30)).date().isoformat()
    assert shown(until=until) == {old}
    assert (
        "Nothing matches these filters" in alice_client.get(url, {"type": "music"}).content.decode()
    )


def test_the_gallery_paginates_and_htmx_gets_only_the_results(funded_team, alice, alice_client):
    for i in range(30):
        running(funded_team, alice, f"job {i}")
    url = reverse("gallery", args=[funded_team.uuid])
    first = alice_client.get(url).content.decode()
    assert first.count('data-testid="tile"') == 24
    assert "Page 1 of 2" in first
    second = alice_client.get(
        url, {"page": "2", "state": "active"}, HTTP_HX_TARGET="gallery-results", **HTMX
    )
    body = second.content.decode()
    assert body.lstrip().startswith('<div id="gallery-results"')
    assert body.count('data-testid="tile"') == 6
    assert "state=active&amp;page=1" in body


def test_the_gallery_list_is_a_constant_number_of_queries(
    funded_team, alice, alice_client, django_assert_max_num_queries
):
    for _ in range(3):
        finished(funded_team, alice, count=2)
    url = reverse("gallery", args=[funded_team.uuid])
    alice_client.get(url)
    with CaptureQueriesContext(connection) as few:
        alice_client.get(url)
    for _ in range(6):
        running(funded_team, alice)
    with CaptureQueriesContext(connection) as many:
        alice_client.get(url)
    assert len(few) == len(many)


def test_the_gallery_finds_generations_by_words_in_the_prompt(funded_team, alice, alice_client):
    kite = finished(funded_team, alice, prompt="A red KITE over green hills")
    finished(funded_team, alice, prompt="a lighthouse at dusk")
    response = alice_client.get(reverse("gallery", args=[funded_team.uuid]), {"q": " kite "})
    body = response.content.decode()
    assert body.count('data-testid="tile"') == 1 and str(kite.uuid) in body
    assert "1 generation matches these filters" in body
    empty = alice_client.get(reverse("gallery", args=[funded_team.uuid]), {"q": "submarine"})
    assert "Nothing matches these filters" in empty.content.decode()


def test_open_in_studio_fills_the_form_with_the_jobs_settings(funded_team, alice, alice_client):
    job = finished(
        funded_team, alice, prompt="a kite over dunes", count="3", aspect_ratio="16:9", hd=True
    )
    detail = alice_client.get(detail_url(job)).content.decode()
    link = f"{reverse('studio', args=[funded_team.uuid])}?from={job.uuid}"
    assert link in detail
    form = alice_client.get(link).content.decode()
    assert ">\na kite over dunes</textarea>" in form
    assert '<option value="3" selected>' in form
    assert '<option value="16:9" selected>' in form
    assert 'data-testid="cost-credits">240<' in form  # 3 HD images
    assert "seed" not in form.split('id="studio-form"')[1].split("</form>")[0].lower()


def test_open_in_studio_with_another_teams_job_is_404(
    funded_team, other_team, charlie, alice_client
):
    from studio.accounts import credits as ledger

    ledger.grant(other_team, 1000)
    foreign = finished(other_team, charlie)
    url = f"{reverse('studio', args=[funded_team.uuid])}?from={foreign.uuid}"
    assert alice_client.get(url).status_code == 404
    assert (
        alice_client.get(f"{reverse('studio', args=[funded_team.uuid])}?from=nope").status_code
        == 404
    )
