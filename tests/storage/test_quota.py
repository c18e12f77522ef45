"""The team's storage quota: charged before anything is stored, given back exactly once.

One service (studio/accounts/storage_quota.py) is the only writer of `storage_used_bytes`:
results and catalog uploads are charged with a conditional UPDATE before their files are
written, so a result that would pass the plan's limit is refused (the job fails and is
refunded) and the team never ends over its limit; deletes give the bytes back once, however
many run at the same time.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from django.db import connections

from generations import engine, services
from generations.models import Asset, Generation, GenerationState
from studio.accounts import credits, storage_quota
from studio.accounts.models import LedgerEntry, LedgerKind, Team
from studio.errors import UploadDoesNotFit
from tests.conftest import transactional
from tests.generations.helpers import run, start

S = GenerationState


def used(team: Team) -> int:
    return Team.objects.get(pk=team.pk).storage_used_bytes


def leave_room(team: Team, room: int) -> int:
    """Fill the team's storage up to `room` bytes below its plan's limit; the limit."""
    limit = team.plan.storage_limit_bytes
    Team.objects.filter(pk=team.pk).update(storage_used_bytes=limit - room)
    return limit


def in_threads(*calls: Callable[[], object]) -> list[BaseException]:
    """Run the calls at the same moment, each on its own thread and connection."""
    barrier = threading.Barrier(len(calls))
    errors: list[BaseException] = []

    def go(call: Callable[[], object]) -> None:
        try:
            barrier.wait()
            call()
        except BaseException as exc:  # surfaced by the caller's assertion
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=go, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


@pytest.mark.django_db
def test_a_result_that_would_pass_the_limit_is_refused_before_upload_and_refunded(
    s3_media, funded_team, alice
):
    limit = leave_room(funded_team, 1000)  # less than any image
    balance = credits.balances(funded_team).total

    generation = run(start(funded_team, alice, "image", {"prompt": "a lighthouse"}))

    assert generation.state == S.FAILED
    assert generation.failure["code"] == "STORAGE_FULL"
    assert "storage is full" in generation.error
    assert s3_media.keys() == []  # nothing reached the bucket
    assert used(funded_team) == limit - 1000
    assert credits.balances(funded_team).total == balance
    assert LedgerEntry.objects.filter(team=funded_team, kind=LedgerKind.REFUND).count() == 1


@pytest.mark.django_db
def test_when_only_some_outputs_fit_the_job_fails_and_the_stored_ones_are_given_back(
    funded_team, alice
):
    body = {"prompt": "two lighthouses", "count": 2, "seed": 11}
    sized = run(start(funded_team, alice, "image", body))
    first = sized.assets.get(index=0).stored_bytes
    services.delete_generation(sized)
    limit = leave_room(funded_team, first + 10)  # the first output fits, the second does not

    generation = run(start(funded_team, alice, "image", body))

    assert generation.state == S.FAILED and generation.failure["code"] == "STORAGE_FULL"
    assert not Asset.objects.filter(generation=generation).exists()
    assert used(funded_team) == limit - first - 10
    assert generation.credits_refunded == generation.credits_charged


@transactional
def test_two_results_racing_for_the_room_of_one_store_one_and_refund_the_other(
    funded_team, alice, tmp_path, monkeypatch
):
    from generations.providers.local import render_images

    picture = render_images("a lighthouse", seed=3, out_dir=tmp_path)[0].path
    monkeypatch.setattr(engine, "enqueue", lambda *args: None)  # the test runs the steps
    jobs = []
    for n in range(2):
        generation = start(funded_team, alice, "image", {"prompt": "a lighthouse"})
        source = tmp_path / f"result-{n}.png"
        shutil.copy(picture, source)
        Generation.objects.filter(pk=generation.pk).update(
            state=S.COLLECTING,
            upstream_handle={"outputs": [{"path": str(source), "mime_type": "image/png"}]},
        )
        jobs.append(generation)
    room = picture.stat().st_size * 3 // 2  # one result and its thumbnail, not two
    limit = leave_room(funded_team, room)

    assert in_threads(*[lambda g=g: engine.collect(g.pk) for g in jobs]) == []

    states = sorted(Generation.objects.filter(pk__in=[g.pk for g in jobs]).values_list("state"))
    assert states == [(S.FAILED,), (S.SUCCEEDED,)]
    stored = Asset.objects.get(generation__state=S.SUCCEEDED).stored_bytes
    assert used(funded_team) == limit - room + stored <= limit
    assert LedgerEntry.objects.filter(team=funded_team, kind=LedgerKind.REFUND).count() == 1


@transactional
def test_concurrent_charges_never_take_a_team_over_its_limit(funded_team):
    limit = leave_room(funded_team, 350)
    refused: list[int] = []

    def charge() -> None:
        try:
            storage_quota.charge(funded_team, 100)
        except UploadDoesNotFit:
            refused.append(1)

    assert in_threads(*[charge] * 8) == []
    assert len(refused) == 5
    assert used(funded_team) == limit - 50


@transactional
def test_two_deletes_of_one_generation_give_its_bytes_back_once(funded_team, alice):
    kept = run(start(funded_team, alice, "sound", {"prompt": "rain", "duration": 1}))
    doomed = run(start(funded_team, alice, "sound", {"prompt": "a bell", "duration": 1}))
    kept_bytes = sum(a.stored_bytes for a in kept.assets.all())
    assert used(funded_team) == kept_bytes + sum(a.stored_bytes for a in doomed.assets.all())
    files = [Path(a.file.path) for a in doomed.assets.all()]

    copies = [Generation.objects.get(pk=doomed.pk) for _ in range(2)]
    assert in_threads(*[lambda g=g: services.delete_generation(g) for g in copies]) == []

    assert used(funded_team) == kept_bytes
    assert not Generation.objects.filter(pk=doomed.pk).exists()
    assert not any(f.exists() for f in files)


@transactional
def test_two_deletes_of_one_product_give_its_bytes_back_once(team, alice):
    from catalog import services as catalog
    from catalog.models import Product
    from tests.catalog.conftest import product_photo

    kept = catalog.create_product(
        team, alice, catalog.check_upload(product_photo()), name="Kept", enqueue=False
    )
    doomed = catalog.create_product(
        team, alice, catalog.check_upload(product_photo(size=(320, 240))), enqueue=False
    )
    assert used(team) == kept.original.size_bytes + doomed.original.size_bytes

    copies = [
        Product.objects.select_related("original", "cutout").get(pk=doomed.pk) for _ in range(2)
    ]
    assert in_threads(*[lambda p=p: catalog.delete_product(p) for p in copies]) == []

    assert used(team) == kept.original.size_bytes
    assert not Product.objects.filter(pk=doomed.pk).exists()


def collecting_image(team: Team, user, tmp_path: Path, monkeypatch) -> Generation:
    """A generation whose rendered result waits to be collected (the test runs the step)."""
    from generations.providers.local import render_images

    source = render_images("a lighthouse", seed=5, out_dir=tmp_path)[0].path
    monkeypatch.setattr(engine, "enqueue", lambda *args: None)
    generation = start(team, user, "image", {"prompt": "a lighthouse"})
    Generation.objects.filter(pk=generation.pk).update(
        state=S.COLLECTING,
        upstream_handle={"outputs": [{"path": str(source), "mime_type": "image/png"}]},
    )
    return generation


def collect_killed_at_upload(generation: Generation) -> None:
    """Collect in a forked process that SIGKILLs itself as the upload starts: the charge is
    made, nothing after it runs (no cleanup, no handler), as when a worker is killed."""
    import os
    import signal
    import time

    pid = os.fork()
    if pid == 0:  # the child: its own database connection, then die mid-collect
        try:
            for conn in connections.all():
                conn.connection = None  # the parent's; not ours to close
            from django.core.files.storage import default_storage

            def killed(*args, **kwargs):
                os.kill(os.getpid(), signal.SIGKILL)

            default_storage.save = killed  # type: ignore[method-assign]
            engine.collect(generation.pk)
        except BaseException:
            import traceback

            traceback.print_exc()
        finally:
            os._exit(1)  # only if the kill point was never reached
    deadline = time.monotonic() + 60
    while (done := os.waitpid(pid, os.WNOHANG)) == (0, 0):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail("the collect never reached its upload")
        time.sleep(0.05)
    assert os.WIFSIGNALED(done[1]) and os.WTERMSIG(done[1]) == signal.SIGKILL


def stored_file_bytes(team: Team) -> int:
    from django.core.files.storage import default_storage

    names = [
        name
        for asset in Asset.all_objects.filter(generation__team=team)
        for name in (asset.file.name, asset.thumbnail.name)
        if name and default_storage.exists(name)
    ]
    return sum(default_storage.size(name) for name in names)


@transactional
def test_a_collect_killed_between_charge_and_upload_is_charged_once_when_driven_again(
    funded_team, alice, tmp_path, monkeypatch
):
    generation = collecting_image(funded_team, alice, tmp_path, monkeypatch)

    collect_killed_at_upload(generation)
    # The charge outlived the process, held by the output's pending row, which no page shows.
    pending = Asset.all_objects.get(generation=generation)
    assert pending.pending and used(funded_team) == pending.stored_bytes > 0
    assert not Generation.objects.get(pk=generation.pk).assets.exists()

    engine.collect(generation.pk)  # the sweeper drives the collect again

    generation.refresh_from_db()
    assert generation.state == S.SUCCEEDED
    assert generation.assets.count() == 1
    assert used(funded_team) == stored_file_bytes(funded_team) > 0
    assert storage_quota.reconcile() == []


@transactional
def test_a_collect_killed_before_its_upload_gives_the_bytes_back_once_when_the_job_fails(
    funded_team, alice, tmp_path, monkeypatch
):
    generation = collecting_image(funded_team, alice, tmp_path, monkeypatch)
    collect_killed_at_upload(generation)
    assert used(funded_team) > 0

    from generations.providers.base import Failure, FailureCategory

    failure = Failure("the collect never came back", FailureCategory.INTERNAL, "COLLECT_LOST")
    assert engine.fail(generation.pk, failure)
    assert not engine.fail(generation.pk, failure)  # a second failure frees nothing more
    services.delete_generation(Generation.objects.get(pk=generation.pk))

    assert used(funded_team) == 0
    assert not Asset.all_objects.filter(generation=generation).exists()


@pytest.mark.django_db
def test_reconcile_storage_reports_drift_and_fixes_it_only_when_asked(funded_team, alice):
    from django.core.management import CommandError, call_command

    generation = run(start(funded_team, alice, "image", {"prompt": "a lighthouse"}))
    held = sum(a.stored_bytes for a in generation.assets.all())
    assert used(funded_team) == held > 0
    call_command("reconcile_storage")  # no drift: exits cleanly

    Team.objects.filter(pk=funded_team.pk).update(storage_used_bytes=held + 12345)
    with pytest.raises(CommandError, match="1 team"):
        call_command("reconcile_storage")
    assert used(funded_team) == held + 12345  # a dry run writes nothing

    call_command("reconcile_storage", "--fix")
    assert used(funded_team) == held
    call_command("reconcile_storage")
