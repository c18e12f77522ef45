"""Each job step logs a line carrying the generation's ids (fields of their own in JSON logs)."""

from __future__ import annotations

import logging

from generations import services
from tests.generations.helpers import run, start


def steps(caplog, generation) -> list[tuple[str, str]]:
    return [
        (record.step, record.getMessage())
        for record in caplog.records
        if getattr(record, "generation", None) == str(generation.uuid)
    ]


def test_a_job_logs_its_submit_and_collect_with_its_ids(caplog, funded_team, alice):
    caplog.set_level(logging.INFO, logger="generations")
    generation = run(start(funded_team, alice, "image", {"prompt": "a harbour at noon"}))
    logged = steps(caplog, generation)
    assert [step for step, _ in logged] == ["submit", "collect"]
    assert logged[1][1] == f"generation {generation.uuid} collected: 1 output(s)"
    record = next(r for r in caplog.records if getattr(r, "step", None) == "submit")
    assert record.team_id == funded_team.pk
    assert record.provider == generation.provider


def test_a_cancelled_job_logs_the_cancel(caplog, funded_team, alice):
    caplog.set_level(logging.INFO, logger="generations")
    generation = start(funded_team, alice, "image", {"prompt": "a cat"})
    services.cancel_generation(generation)
    assert [step for step, _ in steps(caplog, generation)] == ["cancel"]
