"""Settings an operator can get wrong stop the start with a message naming the fix; tasks
that store results run under the collect timeout the cluster actually applies."""

from __future__ import annotations

import queue
import runpy
from multiprocessing import Value
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

SETTINGS = Path(__file__).resolve().parents[1] / "studio" / "settings.py"


def load_settings(monkeypatch, tmp_path, **env: str) -> dict:
    """studio/settings.py evaluated afresh with `env` added to this process's environment."""
    monkeypatch.setenv("STUDIO_VAR_DIR", str(tmp_path))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(SETTINGS))


@pytest.mark.parametrize(("old", "new"), sorted(settings.RENAMED_SETTINGS.items()))
def test_a_limit_set_under_its_old_name_refuses_to_start_and_names_the_new_one(
    monkeypatch, tmp_path, old, new
):
    with pytest.raises(ImproperlyConfigured, match=f"{old} is no longer read: set {new}"):
        load_settings(monkeypatch, tmp_path, **{old: "5000000"})


def test_the_new_names_start(monkeypatch, tmp_path):
    loaded = load_settings(
        monkeypatch, tmp_path, STUDIO_MAX_IMAGE_BYTES="5000000", STUDIO_MAX_IMAGE_PIXELS="20000"
    )
    assert loaded["STUDIO_MAX_IMAGE_BYTES"] == 5_000_000


def test_a_task_retry_shorter_than_the_collect_timeout_refuses_to_start(monkeypatch, tmp_path):
    with pytest.raises(ImproperlyConfigured, match="STUDIO_TASK_RETRY must be greater"):
        load_settings(monkeypatch, tmp_path, STUDIO_COLLECT_TIMEOUT="2400", STUDIO_TASK_RETRY="600")
    with pytest.raises(ImproperlyConfigured, match="greater than STUDIO_RESULT_TIME_LIMIT"):
        load_settings(
            monkeypatch, tmp_path, STUDIO_RESULT_TIME_LIMIT="900", STUDIO_COLLECT_TIMEOUT="600"
        )
    monkeypatch.delenv("STUDIO_TASK_RETRY")
    monkeypatch.delenv("STUDIO_RESULT_TIME_LIMIT")
    loaded = load_settings(monkeypatch, tmp_path, STUDIO_COLLECT_TIMEOUT="2400")  # retry: default
    assert loaded["Q_CLUSTER"]["retry"] > 2400 > loaded["Q_CLUSTER"]["timeout"]


def test_a_collect_runs_under_the_collect_timeout_and_other_tasks_under_the_clusters(
    monkeypatch,
):
    """Enqueued as the engine does, then run by django-q's own worker loop: the timer the
    cluster's guard watches (and the alarm it sets) is what each task ran under."""
    from django_q import tasks as q_tasks
    from django_q.conf import Conf
    from django_q.signing import SignedPackage
    from django_q.worker import worker

    from generations import engine

    packs: list[str] = []

    class Broker:
        list_key = "studio-test"

        def enqueue(self, pack: str) -> str:
            packs.append(pack)
            return "queued"

    monkeypatch.setattr(q_tasks, "get_broker", lambda *args: Broker())
    monkeypatch.setattr(Conf, "SYNC", False)
    timer = Value("f", -1)
    ran_under: dict[str, float] = {}

    def recording(name: str):
        def task(*args: object) -> None:
            ran_under[name] = timer.value

        return task

    for name in ("collect_generation", "submit_generation", "cancel_upstream"):
        monkeypatch.setattr(f"generations.tasks.{name}", recording(name))
        engine.enqueue(f"generations.tasks.{name}", 1)

    tasks: queue.Queue = queue.Queue()
    for pack in packs:
        tasks.put(SignedPackage.loads(pack))
    tasks.put("STOP")
    worker(tasks, queue.Queue(), timer, timeout=Conf.TIMEOUT)

    collect = settings.STUDIO_COLLECT_TIMEOUT
    assert Conf.TIMEOUT < collect < Conf.RETRY
    assert collect > settings.STUDIO_RESULT_TIME_LIMIT
    assert collect <= ran_under["collect_generation"] < Conf.RETRY
    assert collect <= ran_under["submit_generation"] < Conf.RETRY  # it collects inline
    assert Conf.TIMEOUT <= ran_under["cancel_upstream"] < collect


def test_an_unknown_team_creation_policy_refuses_to_start(monkeypatch, tmp_path):
    with pytest.raises(
        ImproperlyConfigured, match="STUDIO_TEAM_CREATION must be open, admins or off"
    ):
        load_settings(monkeypatch, tmp_path, STUDIO_TEAM_CREATION="sometimes")
