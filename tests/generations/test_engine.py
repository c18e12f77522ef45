"""The generation engine: charging, the state machine, refunds, idempotency, the sweeper."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connections
from django.utils import timezone
from PIL import Image

from generations import engine, services
from generations.dispatch import sweep
from generations.models import Generation, GenerationState
from generations.providers.base import Failure, FailureCategory
from studio.accounts.models import LedgerEntry, LedgerKind
from studio.errors import (
    Conflict,
    InsufficientCredits,
    InvalidFields,
    MissingFields,
    ModelNotFound,
    WrongModelType,
)
from tests.generations.helpers import run, start

# Only aspect ratios are looked at, never pixel sizes: render small (see `small_renders`).
pytestmark = pytest.mark.usefixtures("small_renders")

S = GenerationState


def balance(team) -> int:
    team.refresh_from_db()
    return team.total_credits


def test_an_image_generation_charges_per_image_and_stores_real_files(funded_team, alice):
    before = balance(funded_team)
    generation = start(
        funded_team, alice, "image", {"prompt": "a red sunset", "aspect_ratio": "16:9", "count": 2}
    )
    assert generation.credits_charged == 80
    assert balance(funded_team) == before - 80
    generation = run(generation)
    assert generation.state == S.SUCCEEDED
    assert generation.progress == 100
    assets = list(generation.assets.all())
    assert len(assets) == 2
    for asset in assets:
        with Image.open(asset.file.path) as image:
            assert abs(image.width / image.height - 16 / 9) < 0.02
        assert asset.thumbnail.name.endswith(".webp")
    funded_team.refresh_from_db()
    assert funded_team.storage_used_bytes == sum(a.stored_bytes for a in assets)


def test_hd_images_cost_twice_as_much(funded_team, alice):
    generation = start(funded_team, alice, "image", {"prompt": "a cat", "hd": True})
    assert generation.credits_charged == 80


def test_video_costs_per_second(funded_team, alice):
    generation = start(funded_team, alice, "video", {"prompt": "waves", "duration": 6})
    assert generation.credits_charged == 6 * 80


def test_speech_costs_per_started_hundred_characters(funded_team, alice):
    generation = start(funded_team, alice, "speech", {"text": "x" * 201})
    assert generation.credits_charged == 3 * 2


def test_a_generation_the_team_cannot_afford_is_rejected_and_nothing_is_created(team, alice):
    with pytest.raises(InsufficientCredits):
        start(team, alice, "video", {"prompt": "an epic", "duration": 15})
    assert not Generation.objects.exists()
    assert not LedgerEntry.objects.filter(kind=LedgerKind.DEBIT).exists()


@pytest.mark.parametrize(
    ("generation_type", "raw", "error"),
    [
        ("image", {}, MissingFields),
        ("image", {"prompt": "  "}, MissingFields),
        ("image", {"prompt": "x", "model": "nonexistent-model"}, ModelNotFound),
        ("image", {"prompt": "x", "model": "studio-local/music"}, WrongModelType),
        ("image", {"prompt": "x", "aspect_ratio": "7:5"}, InvalidFields),
        ("image", {"prompt": "x", "count": 9}, InvalidFields),
        ("image", {"prompt": "x", "count": "two"}, InvalidFields),
        ("video", {"prompt": "x", "duration": 99}, InvalidFields),
        ("video_from_image", {"prompt": "x"}, MissingFields),
        ("video_from_image", {"image_url": "ftp://example.com/a.png"}, InvalidFields),
        ("video_from_image", {"image_url": "http://127.0.0.1/secret.png"}, InvalidFields),
        ("video_from_image", {"image_url": "data:image/png;base64,AAAA"}, InvalidFields),
        ("music", {"prompt": "x", "vocal_gender": "robot"}, InvalidFields),
        ("speech", {"text": "hi", "voice": "no-such-voice"}, InvalidFields),
        ("sound", {"prompt": "x", "duration": 500}, InvalidFields),
    ],
)
def test_bad_requests_are_rejected_before_anything_is_charged(
    funded_team, alice, generation_type, raw, error
):
    before = balance(funded_team)
    with pytest.raises(error):
        start(funded_team, alice, generation_type, raw)
    assert balance(funded_team) == before
    assert not Generation.objects.exists()


def test_a_failed_generation_is_refunded_exactly_once(funded_team, alice):
    before = balance(funded_team)
    generation = start(funded_team, alice, "image", {"prompt": "a cat"})
    failure = Failure("upstream exploded", FailureCategory.INTERNAL)
    assert engine.fail(generation.pk, failure) is True
    assert engine.fail(generation.pk, failure) is False
    generation.refresh_from_db()
    assert generation.state == S.FAILED
    assert generation.credits_refunded == generation.credits_charged
    assert balance(funded_team) == before
    assert LedgerEntry.objects.filter(kind=LedgerKind.REFUND).count() == 1


def test_a_render_crash_fails_the_job_and_refunds_it(funded_team, alice, monkeypatch):
    from generations.providers import local

    def explode(*args, **kwargs):
        raise RuntimeError("GPU on fire")

    monkeypatch.setattr(local, "render_images", explode)
    before = balance(funded_team)
    generation = run(start(funded_team, alice, "image", {"prompt": "a cat"}))
    assert generation.state == S.FAILED
    assert "GPU on fire" in generation.error
    assert generation.failure["category"] == FailureCategory.INTERNAL
    assert balance(funded_team) == before


def test_cancel_refunds_once_and_a_second_cancel_is_a_conflict(funded_team, alice):
    before = balance(funded_team)
    generation = start(funded_team, alice, "video", {"prompt": "waves", "duration": 4})
    cancelled = services.cancel_generation(generation)
    assert cancelled.state == S.CANCELLED
    assert cancelled.credits_refunded == 320
    assert balance(funded_team) == before
    with pytest.raises(Conflict):
        services.cancel_generation(generation)
    assert balance(funded_team) == before


def test_a_worker_that_picks_up_a_cancelled_job_does_nothing(funded_team, alice):
    generation = start(funded_team, alice, "image", {"prompt": "a cat"})
    services.cancel_generation(generation)
    generation = run(generation)
    assert generation.state == S.CANCELLED
    assert generation.assets.count() == 0


def test_a_finished_generation_cannot_be_cancelled(funded_team, alice):
    generation = run(start(funded_team, alice, "sound", {"prompt": "rain", "duration": 1}))
    assert generation.state == S.SUCCEEDED
    with pytest.raises(Conflict):
        services.cancel_generation(generation)


def test_running_a_step_twice_stores_the_result_once(funded_team, alice):
    generation = start(funded_team, alice, "image", {"prompt": "a cat"})
    run(generation)
    run(generation)
    engine.collect(generation.pk)
    assert generation.assets.count() == 1
    assert LedgerEntry.objects.filter(kind=LedgerKind.DEBIT).count() == 1


def test_an_idempotent_retry_returns_the_same_generation_and_charges_once(funded_team, alice):
    before = balance(funded_team)
    body = {"prompt": "a cat"}
    first = services.start_generation(funded_team, alice, "image", body, idempotency_key="k-1")
    again = services.start_generation(funded_team, alice, "image", body, idempotency_key="k-1")
    assert again.replayed and again.generation.pk == first.generation.pk
    assert balance(funded_team) == before - 40
    with pytest.raises(Conflict):
        services.start_generation(
            funded_team, alice, "image", {"prompt": "a dog"}, idempotency_key="k-1"
        )


def test_an_idempotency_key_can_be_reused_after_a_day(funded_team, alice):
    body = {"prompt": "a cat"}
    first = services.start_generation(funded_team, alice, "image", body, idempotency_key="k-2")
    with time_machine.travel(timezone.now() + timedelta(hours=25)):
        later = services.start_generation(funded_team, alice, "image", body, idempotency_key="k-2")
    assert not later.replayed and later.generation.pk != first.generation.pk


@pytest.mark.django_db(transaction=True)
def test_racing_requests_with_one_idempotency_key_create_one_generation(alice):
    from studio.accounts import credits
    from studio.accounts import services as accounts
    from studio.accounts.models import Bucket

    team = accounts.create_team("Race", alice)
    credits.grant(team, 1000, bucket=Bucket.PACK)
    barrier = threading.Barrier(4)
    ids, errors = [], []

    def attempt() -> None:
        try:
            barrier.wait()
            started = services.start_generation(
                team, alice, "image", {"prompt": "a cat"}, idempotency_key="same"
            )
            ids.append(started.generation.pk)
        except Exception as exc:  # pragma: no cover - surfaced by the assertion
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(set(ids)) == 1
    assert LedgerEntry.objects.filter(team=team, kind=LedgerKind.DEBIT).count() == 1


def test_the_sweeper_resubmits_a_job_whose_worker_died(funded_team, alice):
    generation = start(funded_team, alice, "image", {"prompt": "a cat"})
    past = timezone.now() - timedelta(minutes=1)
    # A worker claimed it and then vanished without a word.
    Generation.objects.filter(pk=generation.pk).update(state=S.SUBMITTING, lease_until=past)
    counts = sweep()  # tests run enqueued tasks inline, so the re-run happens right here
    assert counts["resubmitted"] == 1
    generation.refresh_from_db()
    assert generation.state == S.SUCCEEDED
    assert generation.attempts == 1
    assert LedgerEntry.objects.filter(kind=LedgerKind.DEBIT).count() == 1
    assert not LedgerEntry.objects.filter(kind=LedgerKind.REFUND).exists()


def test_the_sweeper_fails_and_refunds_a_job_past_its_deadline(funded_team, alice):
    before = balance(funded_team)
    generation = start(funded_team, alice, "video", {"prompt": "waves", "duration": 4})
    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        assert sweep()["timed_out"] == 1
    generation.refresh_from_db()
    assert generation.state == S.FAILED
    assert generation.failure["category"] == FailureCategory.TIMEOUT
    assert balance(funded_team) == before


def test_the_sweeper_requeues_a_job_the_broker_lost(funded_team, alice):
    generation = start(funded_team, alice, "image", {"prompt": "a cat"})
    with time_machine.travel(timezone.now() + timedelta(minutes=4)):
        assert sweep()["requeued"] == 1
    generation.refresh_from_db()
    assert generation.state == S.SUCCEEDED  # the re-sent task ran (inline in tests)


def test_progress_never_goes_down(funded_team, alice):
    generation = start(funded_team, alice, "image", {"prompt": "a cat"})
    Generation.objects.filter(pk=generation.pk).update(state=S.SUBMITTING)
    write = engine.ProgressWriter(generation.pk, 60)
    write(40)
    engine.raise_progress(generation.pk, 20)
    generation.refresh_from_db()
    assert generation.progress == 40


def test_a_team_with_full_storage_cannot_start_new_work(funded_team, alice):
    type(funded_team).objects.filter(pk=funded_team.pk).update(
        storage_used_bytes=funded_team.plan.storage_limit_bytes
    )
    funded_team.refresh_from_db()
    from studio.errors import Forbidden

    with pytest.raises(Forbidden):
        start(funded_team, alice, "image", {"prompt": "a cat"})
