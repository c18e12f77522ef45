"""Upstream calls are timed by provider, operation and outcome; 429s are counted on their own."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from generations.providers.base import Failed, Finished
from generations.providers.replicate import ReplicateAdapter
from studio.metrics import exposition
from tests.fakes.replicate import ReplicateFake
from tests.providers.conftest import fake_fixture, make_job, reset, run_to_end

server = fake_fixture(ReplicateFake)
MODEL = "black-forest-labs/flux-schnell"


class Base:
    def __init__(self, fake):
        self.url, self.secret = fake.base_url, fake.secret


@pytest.fixture
def fake(server, db):
    server.honour_wait = False
    yield reset(server)
    reset(server)
    server.honour_wait = True


def sample(name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(exposition().decode()):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
    return 0.0


def calls(operation: str, outcome: str) -> float:
    return sample(
        "studio_upstream_request_seconds_count",
        provider="replicate",
        operation=operation,
        outcome=outcome,
    )


def test_a_job_records_its_submit_and_polls_with_their_latency(fake, tmp_path):
    submits, polls = calls("submit", "2xx"), calls("poll", "2xx")
    job = make_job(Base(fake), "replicate", "image", MODEL, tmp_path)
    outcome, _ = run_to_end(ReplicateAdapter(), job)
    assert isinstance(outcome, Finished)
    assert calls("submit", "2xx") == submits + 1
    assert calls("poll", "2xx") >= polls + 1
    seconds = sample(
        "studio_upstream_request_seconds_sum", provider="replicate", operation="poll", outcome="2xx"
    )
    assert seconds > 0


def test_an_upstream_429_is_counted_for_its_provider(fake, tmp_path):
    limited = sample("studio_upstream_429_total", provider="replicate")
    answered = calls("submit", "429")
    fake.faults.set("rate_limit", on="submit", times=1, retry_after=1)
    job = make_job(Base(fake), "replicate", "image", MODEL, tmp_path)
    outcome = ReplicateAdapter().submit(job, lambda value: None)
    assert isinstance(outcome, Failed) and outcome.failure.retryable
    assert sample("studio_upstream_429_total", provider="replicate") == limited + 1
    assert calls("submit", "429") == answered + 1
