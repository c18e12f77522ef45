"""A chat worker killed mid-answer (a real django-q2 cluster, the streaming fake on loopback)."""

from __future__ import annotations

import signal
from datetime import timedelta

import pytest
from django.utils import timezone

from generations import dispatch
from generations.chat import services as chat
from generations.dispatch import sweep
from generations.models import AIModel, ChatMessage, Generation, GenerationState
from studio.accounts import credits
from studio.accounts.models import LedgerEntry, LedgerKind
from tests.chat.fixtures import *  # noqa: F403
from tests.chat.fixtures import MODEL
from tests.cluster import cluster, wait_for  # noqa: F401 - the real-cluster fixture

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
S = GenerationState


def _row(generation: Generation) -> Generation:
    return Generation.objects.get(pk=generation.pk)


def test_a_chat_worker_killed_mid_answer_finishes_the_message_once_and_charges_once(
    cluster,  # noqa: F811
    chat_team,
    alice,
    fake,
):
    AIModel.objects.filter(identifier="studio-local/chat").update(enabled=False)
    fake.reply = lambda messages: " ".join(f"word{i}" for i in range(40))
    fake.chunk_delay = 0.15  # ~6 s to write the whole answer
    started = chat.start_message(chat_team, alice, {"message": "Tell me a long story"})
    generation = started.generation
    assert generation.model_identifier == MODEL

    # Mid-answer: the worker is streaming and has reported some of the text.
    def writing() -> bool:
        row = _row(generation)
        partial = (row.result_meta or {}).get("partial") or {}
        return row.state == S.SUBMITTING and bool(partial.get("content"))

    wait_for(writing, timeout=60)
    cluster.kill(signal.SIGKILL)
    assert _row(generation).state == S.SUBMITTING

    fake.chunk_delay = 0.0
    cluster.start()
    # Time passes: the dead worker's lease runs out; the sweeper finds the lost stream and
    # queues the message to be asked again (a stream cannot be resumed or looked up).
    Generation.objects.filter(pk=generation.pk).update(
        lease_until=timezone.now() - timedelta(seconds=1)
    )
    assert sweep()["reconciled"] == 1
    assert _row(generation).state == S.QUEUED
    Generation.objects.filter(pk=generation.pk).update(
        next_poll_at=timezone.now() - timedelta(seconds=1)
    )
    dispatch.dispatch_once()  # sends the waiting job to the cluster
    wait_for(lambda: _row(generation).state == S.SUCCEEDED, timeout=60)

    row = _row(generation)
    assert row.attempts == 2
    message = ChatMessage.objects.get(uuid=generation.uuid)
    assert message.content == " ".join(f"word{i}" for i in range(40))
    assert chat.message_state(message) == "completed"
    assert LedgerEntry.objects.filter(team=chat_team, kind=LedgerKind.DEBIT).count() == 1
    # One refund at most: the unused part of the estimate, settled once.
    refunds = LedgerEntry.objects.filter(team=chat_team, kind=LedgerKind.REFUND)
    assert refunds.count() == 1
    assert row.credits_charged - row.credits_refunded == message.credits
    assert credits.reconcile() == []
