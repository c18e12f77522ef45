"""The creative director through the Kolbo API: a brief becomes a storyboard of scenes, each
an ordinary child generation charged and refunded on its own (generations/parents.py)."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from urllib.parse import urlparse

import pytest
from django.test import Client
from django.utils import timezone
from PIL import Image, ImageStat

from catalog import services as catalog
from generations import dispatch, engine, language
from generations.creative_director import planner
from generations.models import Generation
from studio.accounts import credits
from studio.accounts.models import Bucket, LedgerEntry, LedgerKind
from tests.catalog.conftest import png_bytes
from tests.chat.fixtures import *  # noqa: F403

# Transactional, so jobs are enqueued on commit and run (inline) as in production.
pytestmark = pytest.mark.django_db(transaction=True)

START = "/api/v1/generate/creative-director"
# The docs' example: a brief and four scenes.
EXAMPLE = {"prompt": "A product launch for a handmade ceramic mug", "scene_count": 4}


@pytest.fixture
def funded(team):
    credits.grant(team, 20_000, bucket=Bucket.PACK)
    return team


@pytest.fixture
def rules(monkeypatch):
    """No chat model: the rule-based shot planner plans."""
    monkeypatch.setattr(language, "planning_model", lambda team: None)


@pytest.fixture
def held(monkeypatch):
    """Nothing runs by itself: the enqueued steps are collected for the test to run."""
    sent: list[tuple[str, tuple]] = []
    monkeypatch.setattr(engine, "enqueue", lambda func, *args: sent.append((func, args)))
    return sent


def post(client: Client, body: dict, path: str = START):
    return client.post(path, body, content_type="application/json")


def status(client: Client, generation_id: str) -> dict:
    response = client.get(f"/api/v1/generate/creative-director/{generation_id}/status")
    assert response.status_code == 200, response.content
    return response.json()


def picture(url: str) -> Image.Image:
    parsed = urlparse(url)
    response = Client().get(f"{parsed.path}?{parsed.query}")
    assert response.status_code == 200
    return Image.open(io.BytesIO(b"".join(response.streaming_content))).convert("RGB")


def balance(team) -> int:
    team.refresh_from_db()
    return team.total_credits


def moodboard(team, user, colour: tuple[int, int, int], words: str):
    return catalog.create_moodboard(
        team, user, name=words, uploads=[catalog.check_upload(png_bytes(colour=colour))],
        style_guide=words,
    )  # fmt: skip


def test_the_docs_example_renders_four_scenes_with_their_own_titles_in_the_moodboards_palette(
    api, funded, alice, rules, small_renders
):
    board = moodboard(funded, alice, (190, 20, 30), "crimson red scarlet palette")
    before = balance(funded)
    response = post(api, {**EXAMPLE, "moodboard_id": str(board.pk)})
    assert response.status_code == 200, response.content
    started = response.json()
    assert started["type"] == "creative_director" and started["scene_count"] == 4
    assert started["credits_charged"] == 4 * 40
    assert started["poll_interval_hint"] == 5
    assert started["poll_url"] == f"{START}/{started['generation_id']}/status"

    body = status(api, started["generation_id"])
    assert body["state"] == "completed" and body["progress"] == 100
    assert body["planner"] == "rules"
    scenes = body["scenes"]
    assert [s["scene_number"] for s in scenes] == [1, 2, 3, 4]
    assert all(s["status"] == "completed" and len(s["image_urls"]) == 1 for s in scenes)
    assert len({s["title"] for s in scenes}) == 4
    assert scenes[0]["title"].startswith("Establishing")
    for scene in scenes:
        red, _, blue = ImageStat.Stat(picture(scene["image_urls"][0])).mean
        assert red > blue + 30, scene["title"]
    assert len(body["result"]["urls"]) == 4
    assert balance(funded) == before - 160
    assert body["credits_breakdown"] == [
        {"label": f"Scene {n}", "credits": 40} for n in (1, 2, 3, 4)
    ]
    # The generic status route answers for it too.
    generic = api.get(f"/api/v1/generate/{started['generation_id']}/status").json()
    assert generic["state"] == "completed" and len(generic["scenes"]) == 4


def test_each_scene_can_have_its_own_moodboard(api, funded, alice, rules, small_renders):
    red = moodboard(funded, alice, (200, 20, 20), "crimson red scarlet")
    blue = moodboard(funded, alice, (20, 40, 210), "navy blue cobalt")
    response = post(
        api, {**EXAMPLE, "scene_count": 2, "moodboard_ids": [str(red.pk), str(blue.pk)]}
    )
    scenes = status(api, response.json()["generation_id"])["scenes"]
    first, second = (ImageStat.Stat(picture(s["image_urls"][0])).mean for s in scenes)
    assert first[0] > first[2] and second[2] > second[0]


def test_a_video_storyboard_returns_video_urls_per_scene_of_the_asked_duration(
    api, funded, rules, small_renders
):
    before = balance(funded)
    response = post(
        api,
        {"prompt": "waves at a harbour", "scene_count": 2, "workflow_type": "video", "duration": 4},
    )
    assert response.status_code == 200, response.content
    assert response.json()["credits_charged"] == 2 * 4 * 80
    body = status(api, response.json()["generation_id"])
    assert body["state"] == "completed"
    for scene in body["scenes"]:
        assert len(scene["video_urls"]) == 1 and "image_urls" not in scene
        assert scene["duration"] == 4
    generation = Generation.objects.get(uuid=response.json()["generation_id"])
    durations = [c.assets.get().duration for c in generation.children.all()]
    assert all(abs(d - 4) < 0.5 for d in durations)
    assert balance(funded) == before - 640


def test_the_status_is_pending_while_the_scenes_are_planned(api, funded, held):
    response = post(api, EXAMPLE)
    body = status(api, response.json()["generation_id"])
    assert body["state"] == "pending"
    assert [s["status"] for s in body["scenes"]] == ["pending"] * 4
    assert held == [("generations.tasks.submit_generation", (Generation.objects.get(
        uuid=response.json()["generation_id"]).pk,))]  # fmt: skip


@pytest.fixture
def upstream_scenes(chat_team, fake, rules):
    """Scenes rendered by the OpenAI-compatible fake's gpt-image-1 (60 credits an image)."""
    return chat_team


def test_one_scene_failing_upstream_leaves_the_storyboard_completed_and_refunds_that_scene(
    kolbo_api, upstream_scenes, fake
):
    before = balance(upstream_scenes)
    fake.faults.set("nsfw_job", times=1)  # the first scene is refused, the others render
    response = post(kolbo_api, {**EXAMPLE, "scene_count": 3, "model": "openai/gpt-image-1"})
    assert response.status_code == 200, response.content
    assert response.json()["credits_charged"] == 180
    body = status(kolbo_api, response.json()["generation_id"])
    assert body["state"] == "completed"
    assert [s["status"] for s in body["scenes"]] == ["failed", "completed", "completed"]
    assert body["scenes"][0]["image_urls"] == [] and body["scenes"][0]["error"]
    assert body["credits_refunded"] == 60 and body["credits_used"] == 120
    assert {"label": "Refund: Scene 1 (failed)", "credits": -60} in body["credits_breakdown"]
    assert balance(upstream_scenes) == before - 120
    refunds = LedgerEntry.objects.filter(team=upstream_scenes, kind=LedgerKind.REFUND)
    assert [r.amount for r in refunds] == [60]


def test_when_every_scene_fails_the_storyboard_fails_and_is_fully_refunded(
    kolbo_api, upstream_scenes, fake
):
    before = balance(upstream_scenes)
    fake.faults.set("nsfw_job")
    response = post(kolbo_api, {**EXAMPLE, "scene_count": 2, "model": "openai/gpt-image-1"})
    body = status(kolbo_api, response.json()["generation_id"])
    assert body["state"] == "failed" and body["error"]
    assert [s["status"] for s in body["scenes"]] == ["failed", "failed"]
    assert body["credits_refunded"] == 120 and body["credits_used"] == 0
    assert balance(upstream_scenes) == before


def test_cancel_in_mid_run_refunds_the_unfinished_scenes_once(
    api, funded, rules, held, small_renders
):
    before = balance(funded)
    generation_id = post(api, EXAMPLE).json()["generation_id"]
    parent = Generation.objects.get(uuid=generation_id)
    engine.submit(parent.pk)  # the plan step: releases the four scenes
    first = parent.children.order_by("pk").first()
    engine.submit(first.pk)  # one scene renders; three are still queued
    assert status(api, generation_id)["state"] == "processing"

    response = api.post(f"/api/v1/generate/{generation_id}/cancel")
    assert response.status_code == 200, response.content
    assert response.json()["credits_refunded"] == 3 * 40
    assert api.post(f"/api/v1/generate/{generation_id}/cancel").status_code == 409
    for func, args in list(held):  # the scenes' queued submits arrive late: nothing happens
        if func == "generations.tasks.submit_generation":
            engine.submit(*args)
    body = status(api, generation_id)
    assert body["state"] == "cancelled"
    assert [s["status"] for s in body["scenes"]] == ["completed", "failed", "failed", "failed"]
    assert balance(funded) == before - 40
    assert LedgerEntry.objects.filter(team=funded, kind=LedgerKind.REFUND).count() == 3


def test_another_teams_moodboard_or_visual_dna_is_not_found_and_nothing_is_charged(
    api, funded, other_team, charlie
):
    board = moodboard(other_team, charlie, (1, 2, 3), "theirs")
    dna = catalog.create_visual_dna(
        other_team, charlie, name="Secret", dna_type="style",
        uploads=[catalog.check_upload(png_bytes())],
    )  # fmt: skip
    before = balance(funded)
    for extra in (
        {"moodboard_id": str(board.pk)},
        {"moodboard_ids": [str(board.pk)]},
        {"visual_dna_ids": [str(dna.pk)]},
    ):
        response = post(api, {**EXAMPLE, **extra})
        assert response.status_code == 404, (extra, response.content)
        assert response.json()["code"] == "NOT_FOUND"
    assert balance(funded) == before
    assert not Generation.objects.filter(team=funded).exists()


def test_a_re_driven_plan_step_neither_creates_nor_charges_scenes_twice(api, funded, rules, held):
    generation_id = post(api, EXAMPLE).json()["generation_id"]
    parent = Generation.objects.get(uuid=generation_id)
    # A worker claimed the plan and was killed: its lease runs out, the sweeper re-sends it.
    Generation.objects.filter(pk=parent.pk).update(
        lease_until=timezone.now() - timedelta(seconds=1)
    )
    held.clear()
    assert dispatch.sweep()["requeued"] == 1
    assert held == [("generations.tasks.submit_generation", (parent.pk,))]  # not the held scenes
    engine.submit(parent.pk)
    engine.submit(parent.pk)  # a duplicate delivery
    children = list(parent.children.all())
    assert len(children) == 4
    debits = LedgerEntry.objects.filter(team=funded, kind=LedgerKind.DEBIT)
    assert (
        debits.count() == 4 and sum(-d.amount if d.amount < 0 else d.amount for d in debits) == 160
    )
    sent = [args[0] for func, args in held if args[0] != parent.pk]
    assert sorted(sent) == sorted(c.pk for c in children)  # each scene released once
    assert status(api, generation_id)["state"] == "processing"


def test_the_rule_planner_is_deterministic_and_varies_its_shots():
    brief = "A barista pouring latte art, a ceramic mug and a sunny cafe window"
    plan = planner.rule_plan(brief, 6, seed=7)
    assert plan == planner.rule_plan(brief, 6, seed=7)
    assert len({s["title"] for s in plan}) == 6
    assert len({s["shot"] for s in plan}) == 6
    assert plan[0]["shot"] == "wide establishing shot" and plan[-1]["shot"] == "wide closing shot"
    assert any("mug" in s["prompt"].split(",")[0] for s in plan)
    orders = {tuple(s["shot"] for s in planner.rule_plan(brief, 6, seed)) for seed in range(8)}
    assert len(orders) > 1


def test_the_teams_chat_model_plans_the_scenes_when_it_has_one(
    kolbo_api, chat_team, fake, small_renders
):
    titles = ["Morning light", "The pour", "Steam rising"]
    fake.reply = lambda messages: json.dumps(
        {"scenes": [{"title": t, "prompt": f"{t.lower()} over a ceramic mug", "shot": "close-up",
                     "camera": "slow push-in"} for t in titles]}
    )  # fmt: skip
    response = post(kolbo_api, {**EXAMPLE, "scene_count": 3, "model": "studio-local/image"})
    body = status(kolbo_api, response.json()["generation_id"])
    assert body["state"] == "completed" and body["planner"] == "model"
    assert [s["title"] for s in body["scenes"]] == titles
    assert body["scenes"][1]["prompt"] == "the pour over a ceramic mug"
    assert "json" in json.dumps(fake.chat_requests[0]["messages"]).lower()


def test_an_invalid_plan_from_the_chat_model_falls_back_to_the_rules_and_says_so(
    kolbo_api, chat_team, fake, small_renders
):
    fake.reply = lambda messages: '{"scenes": [{"title": "only one"}]}'
    response = post(kolbo_api, {**EXAMPLE, "scene_count": 2, "model": "studio-local/image"})
    body = status(kolbo_api, response.json()["generation_id"])
    assert len(fake.chat_requests) == 2  # asked, then asked again once
    assert body["state"] == "completed" and body["planner"] == "rules"
    assert len({s["title"] for s in body["scenes"]}) == 2


def test_a_storyboard_whose_last_scene_ended_as_its_worker_died_is_finished_by_the_sweeper(
    api, funded, rules, held, small_renders, monkeypatch
):
    from generations import parents

    generation_id = post(api, {**EXAMPLE, "scene_count": 2}).json()["generation_id"]
    parent = Generation.objects.get(uuid=generation_id)
    engine.submit(parent.pk)
    with monkeypatch.context() as killed:  # the worker dies before it tells the parent
        killed.setattr(parents, "child_finished", lambda parent_id: None)
        for child in parent.children.all():
            engine.submit(child.pk)
    assert status(api, generation_id)["state"] == "processing"
    assert dispatch.sweep()["parents_finished"] == 1
    assert status(api, generation_id)["state"] == "completed"
    assert dispatch.sweep()["parents_finished"] == 0


def test_a_storyboard_past_its_deadline_fails_and_refunds_its_unfinished_scenes(
    api, funded, rules, held, small_renders
):
    before = balance(funded)
    generation_id = post(api, EXAMPLE).json()["generation_id"]
    parent = Generation.objects.get(uuid=generation_id)
    engine.submit(parent.pk)
    engine.submit(parent.children.order_by("pk").first().pk)
    Generation.objects.filter(pk=parent.pk).update(
        deadline_at=timezone.now() - timedelta(seconds=1)
    )
    dispatch.sweep()
    body = status(api, generation_id)
    assert body["state"] == "failed" and body["credits_refunded"] == 3 * 40
    assert [s["status"] for s in body["scenes"]] == ["completed", "failed", "failed", "failed"]
    assert balance(funded) == before - 40
    dispatch.sweep()
    assert balance(funded) == before - 40


def test_deleting_a_finished_storyboard_removes_its_scenes_files(api, funded, rules, small_renders):
    from generations import services
    from generations.models import Asset

    generation_id = post(api, {**EXAMPLE, "scene_count": 2}).json()["generation_id"]
    assert Asset.objects.filter(generation__parent__uuid=generation_id).count() == 2
    services.delete_generation(Generation.objects.get(uuid=generation_id))
    assert not Generation.objects.filter(team=funded).exists()
    assert not Asset.all_objects.exists()


def test_offline_the_shot_planner_plans_without_asking_the_small_chat_model(
    api, funded, small_renders, monkeypatch
):
    def asked(*args, **kwargs):
        raise AssertionError("the offline chat model was asked to plan")

    monkeypatch.setattr(language, "complete_json", asked)
    generation_id = post(api, {**EXAMPLE, "scene_count": 2}).json()["generation_id"]
    body = status(api, generation_id)
    assert body["state"] == "completed" and body["planner"] == "rules"


@pytest.mark.parametrize(
    "extra",
    [
        {"scene_count": 0},
        {"scene_count": 9},
        {"scene_count": "four"},
        {"workflow_type": "audio"},
        {"moodboard_ids": ["a", "b", "c", "d", "e"]},
        {"workflow_type": "video", "duration": 99},
    ],
)
def test_values_outside_the_documented_ranges_are_invalid_and_charge_nothing(
    api, funded, held, extra
):
    before = balance(funded)
    response = post(api, {**EXAMPLE, **extra})
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "INVALID_FIELDS"
    assert balance(funded) == before and not Generation.objects.exists()


def test_too_few_credits_for_every_scene_is_refused_and_nothing_is_created(api, team, held):
    credits.debit(team, balance(team) - 100, "test:spent-elsewhere")  # 4 scenes cost 160
    response = post(api, EXAMPLE)
    assert response.status_code == 400 and response.json()["code"] == "INSUFFICIENT_CREDITS"
    assert balance(team) == 100 and not Generation.objects.exists()


def test_an_idempotency_key_retry_returns_the_same_storyboard_and_charges_once(api, funded, held):
    before = balance(funded)
    first = api.post(
        START, EXAMPLE, content_type="application/json", headers={"Idempotency-Key": "k1"}
    )
    again = api.post(
        START, EXAMPLE, content_type="application/json", headers={"Idempotency-Key": "k1"}
    )
    assert first.json()["generation_id"] == again.json()["generation_id"]
    assert balance(funded) == before - 160
    assert Generation.objects.filter(parent__isnull=False).count() == 4


def test_a_scene_made_again_replaces_its_take_and_is_charged_once_more(
    api, funded, alice, rules, small_renders
):
    from generations.creative_director import services

    before = balance(funded)
    generation_id = post(api, {**EXAMPLE, "scene_count": 2}).json()["generation_id"]
    scene = status(api, generation_id)["scenes"][1]
    first_take = scene["image_urls"][0]
    parent = Generation.objects.get(uuid=generation_id)
    services.remake_scene(parent, 2, alice)
    body = status(api, generation_id)
    assert body["state"] == "completed" and len(body["scenes"]) == 2
    assert body["scenes"][1]["title"] == scene["title"]
    new_take = body["scenes"][1]["image_urls"][0]
    assert new_take.split("?")[0] != first_take.split("?")[0]
    assert {"label": "Scene 2 (again)", "credits": 40} in body["credits_breakdown"]
    assert body["credits_used"] == 120 and balance(funded) == before - 120


def test_a_double_click_on_make_again_makes_and_charges_one_new_take(
    api, funded, alice, rules, small_renders, monkeypatch
):
    """Two requests that both saw the finished take race to the storyboard's lock: the one
    that gets it second is refused, not charged."""
    from generations import parents
    from generations.creative_director import services
    from studio.errors import Conflict

    generation_id = post(api, {**EXAMPLE, "scene_count": 2}).json()["generation_id"]
    before = balance(funded)
    real_add_child = parents.add_child
    refused = []

    def the_other_click_lands_first(*args, **kwargs):
        monkeypatch.setattr(parents, "add_child", real_add_child)
        # The other request saw the same finished take and wins the lock.
        services.remake_scene(Generation.objects.get(uuid=generation_id), 2, alice)
        try:
            return real_add_child(*args, **kwargs)
        except Conflict as exc:
            refused.append(exc)
            raise

    monkeypatch.setattr(parents, "add_child", the_other_click_lands_first)
    with pytest.raises(Conflict):
        services.remake_scene(Generation.objects.get(uuid=generation_id), 2, alice)
    assert refused and "already" in refused[0].message
    assert balance(funded) == before - 40
    assert Generation.objects.filter(parent__uuid=generation_id).count() == 3


def test_a_failed_storyboards_scene_made_again_completes_it_and_keeps_the_refunds(
    kolbo_api, upstream_scenes, fake, alice
):
    from generations.creative_director import services

    before = balance(upstream_scenes)
    fake.faults.set("nsfw_job", times=2)
    response = post(kolbo_api, {**EXAMPLE, "scene_count": 2, "model": "openai/gpt-image-1"})
    generation_id = response.json()["generation_id"]
    assert status(kolbo_api, generation_id)["state"] == "failed"
    services.remake_scene(Generation.objects.get(uuid=generation_id), 1, alice)
    body = status(kolbo_api, generation_id)
    assert body["state"] == "completed"
    assert [s["status"] for s in body["scenes"]] == ["completed", "failed"]
    assert body["credits_refunded"] == 120 and body["credits_used"] == 60
    assert balance(upstream_scenes) == before - 60


def test_a_cancelled_storyboards_scenes_cannot_be_made_again(api, funded, alice, held):
    from generations.creative_director import services
    from studio.errors import Conflict

    generation_id = post(api, EXAMPLE).json()["generation_id"]
    api.post(f"/api/v1/generate/{generation_id}/cancel")
    before = balance(funded)
    with pytest.raises(Conflict):
        services.remake_scene(Generation.objects.get(uuid=generation_id), 1, alice)
    assert balance(funded) == before


def test_a_scene_made_again_while_the_sweeper_repairs_its_storyboard_is_not_stopped(
    api, funded, alice, rules, held, small_renders, monkeypatch
):
    """The sweeper found a failed storyboard with a scene still queued (its worker died
    between the two); a scene made again before the sweeper stops the rest revives the
    storyboard, and its new take must run, not be stopped on what the sweeper read."""
    from generations import parents
    from generations.creative_director import services

    generation_id = post(api, {**EXAMPLE, "scene_count": 2}).json()["generation_id"]
    parent = Generation.objects.get(uuid=generation_id)
    engine.submit(parent.pk)
    first, second = parent.children.order_by("pk")
    engine.submit(first.pk)
    Generation.objects.filter(pk=parent.pk).update(state="failed", error="worker died")
    found = parents._stopped_with_active_children
    made_again = []

    def a_remake_lands_after_the_sweepers_query():
        stopped = found()
        made_again.append(services.remake_scene(Generation.objects.get(pk=parent.pk), 1, alice))
        return stopped

    monkeypatch.setattr(
        parents, "_stopped_with_active_children", a_remake_lands_after_the_sweepers_query
    )
    before = balance(funded)
    dispatch.sweep()
    new_take = Generation.objects.get(pk=made_again[0].pk)
    assert new_take.state == "queued" and new_take.credits_refunded == 0
    assert Generation.objects.get(pk=second.pk).state == "queued"
    assert status(api, generation_id)["state"] == "processing"
    assert balance(funded) == before - 40
