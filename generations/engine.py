"""The generation state machine.

queued → submitting → running → collecting → succeeded | failed | cancelled

Every transition is a conditional UPDATE (`filter(pk=…, state=old).update(state=new)`); the
one caller that gets 1 back owns the side effects (billing, refunds, downloads). No
transaction is held across an upstream call. Every step can run twice (the broker delivers
at least once, the sweeper re-drives expired leases) without changing the outcome.

The rooms around it: inputs.py fetches a job's inputs, credentials.py admits a claimed job
to a credential and decrypts it, assets.py stores, links and deletes the results.
"""

from __future__ import annotations

import logging
import shutil
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from generations import assets, credentials, notify
from generations import inputs as job_inputs
from generations.models import ACTIVE_STATES, PARENT_TYPES, Generation, GenerationState
from generations.providers.base import (
    Failed,
    Failure,
    FailureCategory,
    Finished,
    Job,
    Outcome,
    Pending,
    get_adapter,
)
from studio.accounts import credits
from studio.errors import StorageFull, StudioError

log = logging.getLogger(__name__)

S = GenerationState
COLLECT_LEASE = timedelta(minutes=5)
# A queued job nobody claimed this long is enqueued again (a lost broker message);
# duplicates are harmless because only one claim can win.
REQUEUE_AFTER = timedelta(minutes=3)
MAX_SUBMIT_ATTEMPTS = 3
DEADLINES = {
    "image": timedelta(minutes=10),
    "video": timedelta(minutes=30),
    "video_from_image": timedelta(minutes=30),
    "music": timedelta(minutes=15),
    "speech": timedelta(minutes=10),
    "sound": timedelta(minutes=10),
    "chat": timedelta(minutes=5),
}


def log_fields(generation: Generation, step: str, **more: Any) -> dict[str, Any]:
    """The ids a job step's log line carries (`extra=`), fields of their own in JSON logs."""
    return {
        "generation": str(generation.uuid),
        "team_id": generation.team_id,
        "provider": generation.provider,
        "step": step,
        **more,
    }


def deadline_for(generation_type: str) -> timedelta:
    return DEADLINES.get(generation_type, timedelta(minutes=15))


def work_dir(generation: Generation) -> Path:
    return Path(settings.STUDIO_WORK_DIR) / str(generation.uuid)


class ProgressWriter:
    """Writes progress (never downwards) and keeps the step's lease alive while work goes on."""

    def __init__(self, generation_id: int, lease_seconds: int) -> None:
        self.generation_id = generation_id
        self.lease = timedelta(seconds=lease_seconds)
        self.last_value = 0
        self.last_write = 0.0
        self.last_partial = 0.0

    def __call__(self, value: int) -> None:
        value = max(0, min(int(value), 99))  # 100 is written only with success
        now = time.monotonic()
        if value <= self.last_value or (now - self.last_write < 0.4 and value < 99):
            return
        self.last_value, self.last_write = value, now
        Generation.objects.filter(
            pk=self.generation_id,
            progress__lt=value,
            state__in=[S.SUBMITTING, S.RUNNING, S.COLLECTING],
        ).update(progress=value, lease_until=timezone.now() + self.lease)

    def partial(self, content: str, reasoning: str = "") -> None:
        """The text a language model has written so far, shown while it is written."""
        now = time.monotonic()
        if now - self.last_partial < 0.3:
            return
        self.last_partial = now
        Generation.objects.filter(pk=self.generation_id, state=S.SUBMITTING).update(
            result_meta={"partial": {"content": content, "reasoning_content": reasoning}},
            lease_until=timezone.now() + self.lease,
        )


# --- steps -------------------------------------------------------------------------------------


def job_for(generation: Generation, inputs: dict[str, Path] | None = None) -> Job:
    """What the adapter is told about `generation` (with its credential, decrypted now)."""
    return Job(
        generation_id=str(generation.uuid),
        team_id=str(generation.team.uuid),
        type=generation.type,
        upstream_model=generation.model.upstream_model or generation.model_identifier,
        params=generation.params,
        handle=generation.upstream_handle or {},
        work_dir=work_dir(generation),
        inputs=inputs or {},
        credential=credentials.upstream_credential(generation),
    )


class TaskInterrupted(BaseException):
    """Raised inside a task when its cluster is stopping (generations/cluster.py). A
    BaseException, so no `except Exception` takes it for the job's failure: the step lets go
    of its lease and the job waits, unchanged, for the next sweeper."""


def _let_go(generation_id: int, state: str) -> None:
    Generation.objects.filter(pk=generation_id, state=state).update(lease_until=timezone.now())


def submit(generation_id: int) -> None:
    """Step 1: fetch the inputs, claim the queued generation, make the one upstream call."""
    generation = Generation.objects.select_related("team", "model").filter(pk=generation_id).first()
    if generation is None or generation.state != S.QUEUED:
        return
    if generation.type in PARENT_TYPES and generation.children.exists():
        from generations import parents  # a parent job's step is its plan

        parents.plan(generation_id)
        return
    if generation.parent_id is not None and generation.lease_until is None:
        return  # a held child: its parent's plan step releases it
    adapter = get_adapter(generation.provider)
    # Inputs are fetched before the claim: a slow input server can then never outlast the
    # submit lease (the sweeper would refund a job this worker was about to send).
    found = _fetch_inputs_or_fail(generation)
    if found is None:
        return
    now = timezone.now()
    claimed = Generation.objects.filter(pk=generation_id, state=S.QUEUED).update(
        state=S.SUBMITTING,
        lease_until=now + timedelta(seconds=adapter.submit_lease_seconds),
        submitted_at=now,
        next_poll_at=None,
        attempts=F("attempts") + 1,
        handoff=None,
        runner="",
    )
    if claimed != 1:
        return  # another worker has it, or it was cancelled meanwhile
    if adapter.async_submit and hand_off(generation, found):
        return  # the async runner makes the call (generations/runner.py)
    # The submit slot is taken last, right before the call, so the time between taking it
    # and the request reaching the upstream usually stays within the budget's jitter margin.
    admission = admit_claimed(generation) if adapter.needs_credential else None
    if admission is not None and not admission.admitted:
        return
    progress = ProgressWriter(generation_id, adapter.submit_lease_seconds)
    try:
        with credentials.sending(admission):  # stamps when the call leaves (budgets.settle)
            outcome = adapter.submit(job_for(generation, found), progress)
    except TaskInterrupted:  # the sweeper re-drives it (reconciles it if the call went out)
        _let_go(generation_id, S.SUBMITTING)
        raise
    except Exception as exc:  # an adapter bug must not leave the job hanging
        outcome = submit_raised(generation, exc)
    finish_submit(generation, admission, outcome, collect_inline=True)


def _fetch_inputs_or_fail(generation: Generation) -> dict[str, Path] | None:
    """The job's input files ({name: file}), or None once a job nobody claimed has failed for
    an input that cannot be read (a duplicate delivery must not fail a running job)."""
    try:
        return job_inputs.fetch_inputs(generation, work_dir(generation))
    except StudioError as exc:
        fail(
            generation.pk,
            Failure(exc.message, FailureCategory.INVALID_INPUT, exc.code),
            from_states=[S.QUEUED],
        )
    except Exception as exc:
        log.exception(
            "fetching the inputs of %s raised",
            generation.uuid,
            extra=log_fields(generation, "submit"),
        )
        fail(
            generation.pk,
            Failure(f"An input could not be read: {exc}", FailureCategory.INTERNAL, "INPUT_ERROR"),
            from_states=[S.QUEUED],
        )
    return None


def submit_raised(generation: Generation, exc: BaseException) -> Failed:
    """The outcome of a submit whose adapter raised: a bug must not leave the job hanging."""
    log.exception("submit of %s raised", generation.uuid, extra=log_fields(generation, "submit"))
    return Failed(
        Failure(str(exc) or exc.__class__.__name__, FailureCategory.INTERNAL, "SUBMIT_ERROR")
    )


def finish_submit(
    generation: Generation,
    admission: credentials.Admission | None,
    outcome: Outcome,
    *,
    collect_inline: bool,
) -> None:
    """The submit call has answered: settle its budget slot, log, apply the outcome."""
    # Before anything else (collecting inline can take long): a call that came back late
    # re-times the budget so the next calls keep a full window from it.
    credentials.call_returned(admission)
    answer = type(outcome).__name__.lower()
    log.info(
        "generation %s submitted: %s",
        generation.uuid,
        answer,
        extra=log_fields(generation, "submit", outcome=answer, attempt=generation.attempts + 1),
    )
    apply_outcome(generation.pk, outcome, S.SUBMITTING, collect_inline=collect_inline)


# A handed-off submit no runner took within this long is re-queued by the sweeper (it was
# never sent); a runner that took one renews its lease while the call runs.
HANDOFF_LEASE = timedelta(seconds=30)
RUNNER_LEASE_PREFIX = "runner:"


def runner_alive() -> bool:
    """Some async runner renewed its slot lease recently (see generations/runner.py)."""
    from generations.models import Lease

    return Lease.objects.filter(
        name__startswith=RUNNER_LEASE_PREFIX, expires_at__gt=timezone.now()
    ).exists()


def hand_off(generation: Generation, inputs: dict[str, Path]) -> bool:
    """Leave a claimed submit to the async runner; False (the worker calls) when none runs.

    The job stays `submitting`: a runner takes it with a conditional UPDATE of `runner`, so
    crash safety is the sweeper's as for a worker (see `dispatch.sweep`)."""
    if not runner_alive():
        return False
    Generation.objects.filter(pk=generation.pk, state=S.SUBMITTING).update(
        handoff=_handoff_of(generation, inputs),
        runner="",
        lease_until=timezone.now() + HANDOFF_LEASE,
    )
    return True


def _handoff_of(generation: Generation, inputs: dict[str, Path]) -> dict[str, Any]:
    return {
        "inputs": {name: str(path) for name, path in inputs.items()},
        "prompt": generation.params.get("prompt"),
    }


def start(generation: Generation) -> None:
    """Set a just-accepted job going (on commit): straight to the async runner when it can
    be, else through the cluster's submit task. Never raises: a job left queued is the
    sweeper's, as when the broker loses a task."""
    try:
        if _hand_off_at_start(generation):
            return
    except Exception:
        log.exception(
            "handing %s to the runner at start failed; queueing it",
            generation.uuid,
            extra=log_fields(generation, "submit"),
        )
    enqueue("generations.tasks.submit_generation", generation.pk)


def _hand_off_at_start(generation: Generation) -> bool:
    """Claim and hand off in one conditional UPDATE, from the request that accepted the job,
    so the runner takes it within its pickup interval instead of after a broker poll (about
    half a second). Only for an `async_submit` adapter, while a runner lives, and for a job
    without input files (a slow input server must not hold the request, and the files
    belong on the cluster's disk: the worker fetches those). What the worker's claim and
    hand-off would write, written at once: a handoff no runner takes is re-queued by the
    sweeper, never sent."""
    adapter = get_adapter(generation.provider)
    if (
        not adapter.async_submit
        or generation.type in PARENT_TYPES
        or generation.parent_id is not None
        or job_inputs.has_inputs(generation.params)
        or not runner_alive()
    ):
        return False
    now = timezone.now()
    Generation.objects.filter(pk=generation.pk, state=S.QUEUED).update(
        state=S.SUBMITTING,
        lease_until=now + HANDOFF_LEASE,
        submitted_at=now,
        next_poll_at=None,
        attempts=F("attempts") + 1,
        handoff=_handoff_of(generation, {}),
        runner="",
    )
    return True  # not claimed: cancelled meanwhile


def job_from_handoff(generation: Generation) -> Job:
    """The Job a runner calls with: what the worker prepared when it handed the job off."""
    handoff = generation.handoff or {}
    if handoff.get("prompt") is not None:
        generation.params = {**generation.params, "prompt": handoff["prompt"]}
    inputs = {name: Path(path) for name, path in (handoff.get("inputs") or {}).items()}
    return job_for(generation, inputs)


def admit_claimed(generation: Generation) -> credentials.Admission:
    """Give a claimed job a credential and a submit slot, or put it back to wait its turn
    (its claim's attempt given back: it was never sent)."""
    admission = credentials.admit(generation)
    if admission.admitted:
        return admission
    if admission.failure is not None:
        fail(generation.pk, admission.failure)
        return admission
    # Every budget is spent: wait (queued) until a slot frees; the dispatcher re-sends it.
    Generation.objects.filter(pk=generation.pk, state=S.SUBMITTING).update(
        state=S.QUEUED,
        lease_until=timezone.now() + REQUEUE_AFTER,
        next_poll_at=admission.retry_at,
        attempts=F("attempts") - 1,
    )
    return admission


def apply_outcome(
    generation_id: int, outcome: Outcome, from_state: str, *, collect_inline: bool
) -> None:
    now = timezone.now()
    if isinstance(outcome, Finished):
        outputs: list[dict[str, Any]] = [
            {
                "path": str(o.path) if o.path else None,
                "url": o.url,
                "mime_type": o.mime_type,
                "role": o.role,
            }
            for o in outcome.outputs
        ]
        moved = Generation.objects.filter(pk=generation_id, state=from_state).update(
            state=S.COLLECTING,
            upstream_handle={**_handle(generation_id), "outputs": outputs},
            result_meta=outcome.meta,
            lease_until=now + COLLECT_LEASE,
            next_poll_at=None,
        )
        if moved:
            if collect_inline:
                collect(generation_id)
            else:
                enqueue("generations.tasks.collect_generation", generation_id)
        else:  # cancelled or failed while it ran: its files must not linger
            shutil.rmtree(
                Path(settings.STUDIO_WORK_DIR) / str(_uuid_of(generation_id)),
                ignore_errors=True,
            )
        return
    if isinstance(outcome, Pending):
        updates: dict[str, Any] = {
            "state": S.RUNNING,
            "upstream_handle": outcome.handle,
            "next_poll_at": now + timedelta(seconds=outcome.poll_after),
            "lease_until": None,
        }
        moved = Generation.objects.filter(pk=generation_id, state=from_state).update(**updates)
        if not moved:
            _orphaned_upstream_job(generation_id, outcome.handle)
            return
        if outcome.progress is not None:
            raise_progress(generation_id, outcome.progress)
        return
    assert isinstance(outcome, Failed)
    failure = outcome.failure
    generation = (
        Generation.objects.filter(pk=generation_id).only("attempts", "credential_id").first()
    )
    if failure.category == FailureCategory.UNKNOWN_OUTCOME and from_state == S.SUBMITTING:
        # The upstream may or may not have the job: never refund or resubmit blindly. The
        # sweeper asks the upstream (reconcile) once this short lease runs out.
        Generation.objects.filter(pk=generation_id, state=S.SUBMITTING).update(
            lease_until=now + timedelta(seconds=5)
        )
        return
    if failure.category == FailureCategory.AUTH and generation and generation.credential_id:
        confirmed = credentials.credential_rejected(generation.credential_id, failure.message)
        if from_state == S.RUNNING and _poll_again_after_auth_error(generation_id, confirmed):
            return
    if (
        failure.retryable
        and from_state == S.SUBMITTING
        and generation is not None
        and generation.attempts < MAX_SUBMIT_ATTEMPTS
    ):
        backoff = failure.retry_after or min(60.0, 2.0**generation.attempts)
        Generation.objects.filter(pk=generation_id, state=S.SUBMITTING).update(
            state=S.QUEUED,
            lease_until=now + REQUEUE_AFTER,
            next_poll_at=now + timedelta(seconds=backoff),
        )
        return
    fail(generation_id, failure)


# A poll refused for auth is tried again this many times (on another credential when the
# refusal was confirmed) before the job fails.
MAX_POLL_AUTH_RETRIES = 2


def _poll_again_after_auth_error(generation_id: int, confirmed: bool) -> bool:
    """A poll was refused for auth: poll again, later with the same credential when the
    check passed (the upstream's hiccup), at once on another credential of the provider
    when it failed. False (the job fails) without one, or after MAX_POLL_AUTH_RETRIES."""
    generation = (
        Generation.objects.filter(pk=generation_id, state=S.RUNNING)
        .only("team_id", "provider", "credential_id", "upstream_handle")
        .first()
    )
    if generation is None:
        return False
    handle = dict(generation.upstream_handle or {})
    retries = int(handle.get("auth_retries", 0))
    if retries >= MAX_POLL_AUTH_RETRIES:
        return False
    updates: dict[str, Any] = {}
    if confirmed:
        other = credentials.another_credential(generation)
        if other is None:
            return False
        updates["credential_id"] = other
        wait = 1.0
    else:
        wait = 5.0 * (retries + 1)
    handle["auth_retries"] = retries + 1
    moved = Generation.objects.filter(
        pk=generation_id, state=S.RUNNING, credential_id=generation.credential_id
    ).update(
        upstream_handle=handle,
        next_poll_at=timezone.now() + timedelta(seconds=wait),
        **updates,
    )
    if moved:
        log.warning(
            "poll of generation %s refused for auth (%s); polling again%s",
            generation_id,
            "confirmed" if confirmed else "not confirmed",
            f" on credential {updates['credential_id']}" if updates else "",
        )
    return bool(moved)


def _orphaned_upstream_job(generation_id: int, handle: dict[str, Any]) -> None:
    """The upstream accepted a job we had already cancelled, failed or refunded meanwhile
    (a user's cancel, the deadline): keep its handle and tell the upstream to stop it."""
    stopped = Generation.objects.filter(pk=generation_id, state__in=[S.CANCELLED, S.FAILED]).update(
        upstream_handle=handle
    )
    if stopped:
        enqueue("generations.tasks.cancel_upstream", generation_id)


def _uuid_of(generation_id: int) -> str:
    return str(Generation.objects.filter(pk=generation_id).values_list("uuid", flat=True).first())


def _handle(generation_id: int) -> dict[str, Any]:
    row = Generation.objects.filter(pk=generation_id).values_list("upstream_handle", flat=True)
    return dict(row.first() or {})


def raise_progress(generation_id: int, value: int) -> None:
    value = max(0, min(int(value), 99))
    Generation.objects.filter(
        pk=generation_id, progress__lt=value, state__in=[S.SUBMITTING, S.RUNNING, S.COLLECTING]
    ).update(progress=value)


class CollectAbandoned(Exception):
    """The generation left `collecting` (cancelled, past its deadline) while we copied it."""


class CollectLease:
    """Keeps the collect step's lease alive while a long download or upload runs (every
    RENEW_BYTES or RENEW_SECONDS), so the sweeper never starts a second copy of a job that is
    still copying; stops the step (CollectAbandoned) once the job is no longer collecting."""

    RENEW_BYTES = 32 * 1024 * 1024
    RENEW_SECONDS = 30.0

    def __init__(self, generation_id: int) -> None:
        self.generation_id = generation_id
        self.renewed_at = time.monotonic()
        self.renewed_bytes = 0
        self.position = 0

    def __call__(self, done_bytes: int) -> None:
        if done_bytes < self.position:  # a new file started
            self.renewed_bytes = 0
        self.position = done_bytes
        if (
            done_bytes - self.renewed_bytes < self.RENEW_BYTES
            and time.monotonic() - self.renewed_at < self.RENEW_SECONDS
        ):
            return
        self.renewed_at, self.renewed_bytes = time.monotonic(), done_bytes
        kept = Generation.objects.filter(pk=self.generation_id, state=S.COLLECTING).update(
            lease_until=timezone.now() + COLLECT_LEASE
        )
        if not kept:
            raise CollectAbandoned(self.generation_id)


def collect(generation_id: int) -> None:
    """Step 3: copy the outputs into storage, then mark the generation succeeded."""
    generation = Generation.objects.select_related("team", "model").filter(pk=generation_id).first()
    if generation is None or generation.state != S.COLLECTING:
        return
    directory = work_dir(generation)
    if generation.type == "chat":
        # A chat answer has no files: succeed, settle its tokens, write the message, once.
        from generations.chat import services as chat

        chat.settle(generation)
        shutil.rmtree(directory, ignore_errors=True)
        return
    Generation.objects.filter(pk=generation_id, state=S.COLLECTING).update(
        lease_until=timezone.now() + COLLECT_LEASE
    )
    outputs = (generation.upstream_handle or {}).get("outputs") or []
    # A team's own credential is the team admin's choice of upstream: its result URLs get
    # the same private-address policy as URLs users type in.
    credential = generation.credential if generation.credential_id else None
    untrusted = bool(
        credential and credential.team_id and not settings.STUDIO_ALLOW_PRIVATE_UPSTREAMS
    )
    lease = CollectLease(generation_id)
    try:
        if not outputs:
            raise ValueError("the upstream reported success with no output files")
        for index, output in enumerate(outputs):
            if output.get("path"):
                source = Path(output["path"])
            else:
                source = assets.download(
                    output["url"], directory, index, untrusted=untrusted, keepalive=lease
                )
            assets.store_output(
                generation, index, source, keepalive=lease, role=output.get("role") or "output"
            )
    except TaskInterrupted:  # the next sweeper starts the copy again
        _let_go(generation_id, S.COLLECTING)
        raise
    except CollectAbandoned:  # cancelled or failed meanwhile: whoever did that refunded it
        assets.delete_assets(generation)
        shutil.rmtree(directory, ignore_errors=True)
        return
    except assets.ContentRefused as exc:
        # Over the team's safety threshold under `refuse`: failed and refunded, files gone.
        fail(
            generation_id,
            Failure(
                str(exc),
                FailureCategory.CONTENT_POLICY,
                "CONTENT_POLICY",
                provider=generation.provider,
            ),
        )
        return
    except StorageFull as exc:
        # Refused before it was stored: the job fails and is refunded; the team stays within
        # its plan (outputs stored before this one are removed with the failure).
        fail(
            generation_id,
            Failure(
                exc.message, FailureCategory.QUOTA, "STORAGE_FULL", provider=generation.provider
            ),
        )
        return
    except Exception as exc:
        log.exception(
            "collecting %s failed", generation.uuid, extra=log_fields(generation, "collect")
        )
        fail(
            generation_id,
            Failure(
                f"The result could not be stored: {exc}",
                FailureCategory.INTERNAL,
                "COLLECT_FAILED",
                provider=generation.provider,
            ),
        )
        return
    with transaction.atomic():  # the finish's webhook events commit with it
        finished = Generation.objects.filter(pk=generation_id, state=S.COLLECTING).update(
            state=S.SUCCEEDED, progress=100, completed_at=timezone.now(), lease_until=None
        )
        if finished:
            notify.notify_finished(generation_id)
    if not finished:  # cancelled while we were copying: the files must not linger
        assets.delete_assets(generation)
    else:
        if generation.parent_id is not None:
            _parent_hears(generation.parent_id)
        log.info(
            "generation %s collected: %d output(s)",
            generation.uuid,
            len(outputs),
            extra=log_fields(generation, "collect", outputs=len(outputs)),
        )
    shutil.rmtree(directory, ignore_errors=True)


def _finish_unsuccessfully(
    generation_id: int,
    state: str,
    failure: Failure,
    note: str,
    from_states: list[str] | None = None,
) -> Generation | None:
    """Move an active generation to failed/cancelled and refund it, exactly once."""
    now = timezone.now()
    with transaction.atomic():
        moved = Generation.objects.filter(
            pk=generation_id, state__in=from_states or ACTIVE_STATES
        ).update(
            state=state,
            error=failure.message,
            failure=failure.as_dict(),
            completed_at=now,
            lease_until=None,
            next_poll_at=None,
        )
        if not moved:
            return None
        generation = Generation.objects.select_related("team").get(pk=generation_id)
        entry = credits.refund(generation.ledger_cause, note=note)
        if entry is not None:
            Generation.objects.filter(pk=generation_id).update(credits_refunded=entry.amount)
            generation.credits_refunded = entry.amount
        notify.notify_finished(generation_id)  # once this transaction commits
    assets.delete_assets(generation)
    shutil.rmtree(work_dir(generation), ignore_errors=True)
    if generation.type in PARENT_TYPES:  # its unfinished children stop, refunded one by one
        from generations import parents

        refunded = parents.stop_children(generation, state, failure)
        if refunded is not None:
            generation.credits_refunded = refunded
    if generation.parent_id is not None:
        _parent_hears(generation.parent_id)
    return generation


def _parent_hears(parent_id: int) -> None:
    """A child ended: its parent may now be finished (generations/parents.py)."""
    from generations import parents

    parents.child_finished(parent_id)


def fail(generation_id: int, failure: Failure, *, from_states: list[str] | None = None) -> bool:
    generation = _finish_unsuccessfully(
        generation_id,
        S.FAILED,
        failure,
        f"Refund: generation failed ({failure.category})",
        from_states,
    )
    if generation is not None:
        log.info(
            "generation %s failed: %s",
            generation.uuid,
            failure.message,
            extra=log_fields(generation, "fail", category=failure.category, code=failure.code),
        )
        if failure.category in _ABANDONING and _may_run_upstream(generation):
            enqueue("generations.tasks.cancel_upstream", generation_id)
    return generation is not None


# Failures where Studio gives up on a job the upstream may still be running (and billing):
# the deadline, an auth error or a crash while polling, a submit whose answer was lost.
# The upstream's own verdicts (content policy, bad input, quota) need no cancel.
_ABANDONING = frozenset(
    {
        FailureCategory.TIMEOUT,
        FailureCategory.AUTH,
        FailureCategory.INTERNAL,
        FailureCategory.UNKNOWN_OUTCOME,
        FailureCategory.RETRYABLE,
    }
)


def _may_run_upstream(generation: Generation) -> bool:
    """Whether an upstream may hold a running job for `generation`: it was sent (or may have
    been) and the upstream has not reported it finished."""
    if generation.provider == "local" or generation.type in PARENT_TYPES:
        return False  # a parent never runs upstream itself: its children do
    handle = generation.upstream_handle or {}
    return not handle.get("outputs") and bool(handle or generation.submitted_at)


def cancel_upstream(generation_id: int) -> None:
    """Ask the upstream to stop a job Studio gave up on (best-effort; the job is already
    cancelled or failed, and refunded). When the submit's answer was lost there is no handle:
    the adapter looks the job up first (as the sweeper's reconcile does) and stops it."""
    generation = Generation.objects.select_related("team", "model").filter(pk=generation_id).first()
    if generation is None or generation.state not in (S.CANCELLED, S.FAILED):
        return
    adapter = get_adapter(generation.provider)
    try:
        if not generation.upstream_handle:
            if generation.submitted_at is None:
                return
            found = adapter.reconcile(job_for(generation))
            handle = getattr(found, "handle", None) if found is not None else None
            if not handle:
                return
            Generation.objects.filter(pk=generation_id, state=generation.state).update(
                upstream_handle=handle
            )
            generation.upstream_handle = handle
        adapter.cancel(job_for(generation))
    except Exception:
        log.warning("upstream cancel of %s failed", generation.uuid, exc_info=True)


def cancel(generation_id: int, *, reason: str = "") -> Generation | None:
    """Cancel an active generation; None when it had already finished. An operator's
    `reason` becomes the job's error and the refund's ledger note."""
    message = f"Cancelled by an operator: {reason}" if reason else "Cancelled by the user"
    generation = _finish_unsuccessfully(
        generation_id,
        S.CANCELLED,
        Failure(message, FailureCategory.CANCELLED, "CANCELLED"),
        f"Refund: cancelled by an operator: {reason}" if reason else "Refund: generation cancelled",
    )
    if generation is not None:
        log.info("generation %s cancelled", generation.uuid, extra=log_fields(generation, "cancel"))
    if generation is not None and _may_run_upstream(generation):
        enqueue("generations.tasks.cancel_upstream", generation_id)
    return generation


def enqueue(func: str, *args: Any) -> None:
    from django_q.tasks import async_task

    # Tasks that may store a result (a 2 GB video) get the collect timeout, not the cluster's.
    if func in ("generations.tasks.collect_generation", "generations.tasks.submit_generation"):
        async_task(func, *args, group="generations", timeout=settings.STUDIO_COLLECT_TIMEOUT)
    else:
        async_task(func, *args, group="generations")
