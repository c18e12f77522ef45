"""GET /metrics: Prometheus text behind a bearer token, counting jobs, credits and refusals."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from generations.models import GenerationState
from studio.api.ratelimit import RateClass, hit
from studio.errors import RateLimited
from tests.generations.helpers import run, start

TOKEN = "metrics-token-0123456789"


@pytest.fixture
def scrape(client, settings, db):
    settings.STUDIO_METRICS_TOKEN = TOKEN

    def scrape() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/plain")
        samples = {}
        for family in text_string_to_metric_families(response.content.decode()):
            for sample in family.samples:
                samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
        return samples

    return scrape


def test_metrics_do_not_exist_without_a_token_setting(client, settings):
    settings.STUDIO_METRICS_TOKEN = ""
    assert client.get("/metrics", headers={"Authorization": "Bearer anything"}).status_code == 404


def test_metrics_need_the_right_bearer_token(client, settings, db):
    settings.STUDIO_METRICS_TOKEN = TOKEN
    missing = client.get("/metrics")
    assert missing.status_code == 401
    assert missing["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
    assert client.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_a_finished_job_is_counted_with_the_credits_it_cost(scrape, funded_team, alice):
    before = scrape()
    succeeded = ("studio_jobs", (("state", "succeeded"), ("type", "image")))
    debited = ("studio_credits_total", (("kind", "debit"),))
    assert before.get(succeeded, 0) == 0

    generation = run(start(funded_team, alice, "image", {"prompt": "a lighthouse at dusk"}))
    assert generation.state == GenerationState.SUCCEEDED

    after = scrape()
    assert after[succeeded] == 1
    assert after[debited] - before[debited] == generation.credits_charged
    assert ("studio_task_queue_depth", ()) in after


def test_a_refund_is_counted_as_refunded_credits(scrape, funded_team, alice):
    from generations import services

    refunded = ("studio_credits_total", (("kind", "refund"),))
    before = scrape()[refunded]
    generation = start(funded_team, alice, "image", {"prompt": "a cat"})
    services.cancel_generation(generation)
    after = scrape()
    assert after[refunded] - before == generation.credits_charged
    assert after[("studio_jobs", (("state", "cancelled"), ("type", "image")))] == 1


def test_rate_limited_requests_are_counted_by_rate_class(scrape):
    key = ("studio_rate_limited_requests_total", (("rate_class", "poll"),))
    before = scrape().get(key, 0)
    hit(RateClass.POLL, "metrics-test-subject", 1, now=120.0)
    with pytest.raises(RateLimited):
        hit(RateClass.POLL, "metrics-test-subject", 1, now=120.0)
    assert scrape()[key] - before == 1


@pytest.mark.slow
def test_counts_from_other_processes_reach_the_scrape_in_multiprocess_mode(db, tmp_path):
    """Cluster workers count upstream calls; the web process's scrape adds every process up."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from tests.cluster import database_url

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": database_url(),
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
    }
    setup = "import django; django.setup(); from studio import metrics; "
    count = setup + "metrics.observe_upstream_response('fal', 'submit', 429, 0.2)"
    scrape = setup + "import sys; sys.stdout.write(metrics.exposition().decode())"

    def python(code: str) -> str:
        result = subprocess.run(
            [sys.executable, "-c", code],
            cwd=Path(__file__).resolve().parents[2],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    python(count)
    python(count)
    families = {f.name: f for f in text_string_to_metric_families(python(scrape))}
    assert [s.value for s in families["studio_upstream_429"].samples] == [2.0]
    histogram = {s.name: s.value for s in families["studio_upstream_request_seconds"].samples}
    assert histogram["studio_upstream_request_seconds_count"] == 2.0
    assert "studio_jobs" in families


def test_run_studio_gives_web_and_cluster_one_fresh_metrics_directory(
    tmp_path, monkeypatch, settings
):
    import os

    from studio.management.commands.run_studio import Command

    # Set, then removed: monkeypatch then removes what the command sets, after the test.
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "")
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR")
    settings.VAR_DIR = tmp_path
    stale = tmp_path / "metrics" / "counter_4242.db"
    stale.parent.mkdir()
    stale.write_bytes(b"last run")
    Command().share_metrics_directory()
    assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(tmp_path / "metrics")
    assert not stale.exists()
