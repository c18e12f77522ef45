"""The job's credential: which one a claimed job may use, and its secret right before a call.

The budget maths (rates, concurrency, which credential has a slot) live in budgets.py; this
module turns its answer into a decision the state machine acts on.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from generations import budgets
from generations.models import Generation
from generations.providers.base import Failure, FailureCategory
from studio.upstream import UpstreamCredential

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Admission:
    """A claimed job's turn: admitted (`admitted`), waiting for a slot until `retry_at`, or
    impossible (`failure`: no credential can ever serve it)."""

    admitted: bool
    retry_at: datetime | None = None
    failure: Failure | None = None
    # The submit slot taken; `call_returned` re-times the budget if the call left late.
    grant: budgets.Grant | None = None


def admit(generation: Generation) -> Admission:
    """Give a claimed job a credential and a submit slot if one is free."""
    grant, retry_at = budgets.admit(generation)
    if grant is not None:
        return Admission(admitted=True, grant=grant)
    if retry_at is None:
        return Admission(
            admitted=False,
            failure=Failure(
                f"No usable {generation.get_provider_display()} credential: an admin of the "
                "team must add (or re-enable) one on the Providers page",
                FailureCategory.AUTH,
                "NO_CREDENTIAL",
                provider=generation.provider,
            ),
        )
    return Admission(admitted=False, retry_at=retry_at)


@contextlib.contextmanager
def sending(admission: Admission | None) -> Iterator[None]:
    """Make the admitted submit call in this context: when it was written and answered is
    heard on its slot (`budgets.sending`), so a call that left on time and answered slowly
    moves no budget."""
    with budgets.sending(admission.grant if admission is not None else None):
        yield


def call_returned(admission: Admission | None) -> None:
    """The admitted submit call has returned: settle its slot (see `budgets.settle`)."""
    if admission is not None and admission.grant is not None:
        budgets.settle(admission.grant)


def upstream_credential(generation: Generation) -> UpstreamCredential | None:
    """The job's credential, decrypted here in the worker right before a call."""
    credential = generation.credential if generation.credential_id else None
    if credential is None:
        return None
    from studio.vault.credentials import to_upstream

    return to_upstream(credential)


def credential_rejected(credential_id: int, message: str) -> bool:
    """An upstream call was refused for auth. One 401 may be the upstream's hiccup, and a
    shared credential marked unhealthy stops every team: check the credential once more and
    mark it unhealthy only if the check fails too. True when the rejection is confirmed."""
    from studio.upstream import CredentialCheckFailed, check_credential
    from studio.vault.credentials import mark_unhealthy, to_upstream
    from studio.vault.models import ProviderCredential

    credential = ProviderCredential.objects.filter(pk=credential_id).first()
    if credential is None or not credential.healthy:
        return True
    try:
        check_credential(to_upstream(credential))
    except CredentialCheckFailed:
        mark_unhealthy(credential, message)
        return True
    except Exception:  # the check itself broke (no adapter, network): nothing is confirmed
        log.warning("checking credential %s after an auth error failed", credential.uuid)
        return False
    log.info("credential %s passed its check after an auth error", credential.uuid)
    return False


def another_credential(generation: Generation) -> int | None:
    """A usable credential of the job's provider, other than its own (its own first, then
    shared: the order jobs are admitted in)."""
    from studio.vault.credentials import available_credentials

    return (
        available_credentials(generation.team_id, generation.provider)
        .exclude(pk=generation.credential_id or 0)
        .values_list("pk", flat=True)
        .first()
    )
