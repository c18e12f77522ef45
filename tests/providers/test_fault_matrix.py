"""Every fault of the fakes for every adapter: each ends in the right Failure or Pending.

Adapter level only (the engine-level matrix, with states and refunds, builds on the same
fakes). Submit faults must come back as `Failed` with the right category; poll faults that
are transient must come back as `Pending` (keep waiting, honouring Retry-After); faults that
end a job must come back as `Failed`.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from generations.providers.base import Failed, Finished, Job, Pending, ProviderAdapter
from generations.providers.fal import FalAdapter
from generations.providers.http_errors import ERRORS_KEY, parse_retry_after
from generations.providers.kolbo import KolboAdapter
from generations.providers.krev import KrevAdapter
from generations.providers.openai_compat import OpenAICompatAdapter
from generations.providers.replicate import ReplicateAdapter
from tests.fakes.fal import FalFake
from tests.fakes.kolbo import KolboFake
from tests.fakes.krev import KrevFake
from tests.fakes.openai_compat import OpenAIFake
from tests.fakes.replicate import ReplicateFake
from tests.providers.conftest import make_job, poll_once, reset, with_handle


@dataclass
class Spec:
    name: str
    fake_cls: type
    adapter_cls: type
    kind: str
    model: str
    suffix: str = ""  # path after the fake's root that the credential's base URL carries
    polls: bool = True


SPECS = [
    Spec("fal", FalFake, FalAdapter, "image", "fal-ai/flux/schnell"),
    Spec("openai", OpenAIFake, OpenAICompatAdapter, "image", "gpt-image-1", "/v1", polls=False),
    Spec(
        "replicate", ReplicateFake, ReplicateAdapter, "video", "kwaivgi/kling-v1.6-standard", "/v1"
    ),
    Spec("kolbo", KolboFake, KolboAdapter, "image", "auto"),
    Spec("krev", KrevFake, KrevAdapter, "image", "krev-image"),
]
POLLING = [s for s in SPECS if s.polls]


class Target:
    def __init__(self, fake: Any, suffix: str, secret: str | None = None) -> None:
        self.url = fake.url + suffix
        self.secret = secret or fake.secret


@pytest.fixture(scope="module")
def fakes():
    started = {s.name: s.fake_cls().start() for s in SPECS}
    started["krev"].inline = False  # poll faults need a job to poll
    yield started
    for fake in started.values():
        fake.stop()


@pytest.fixture
def env(fakes, request, tmp_path):
    spec: Spec = request.param
    fake = reset(fakes[spec.name])
    adapter: ProviderAdapter = spec.adapter_cls()
    for name in ("submit_timeout", "poll_timeout", "cheap_timeout"):
        setattr(adapter, name, httpx.Timeout(0.4, connect=0.4))

    def job(**kw: Any) -> Job:
        secret = kw.pop("secret", None)
        return make_job(Target(fake, spec.suffix, secret), spec.name, spec.kind, spec.model,
                        tmp_path, **kw)  # fmt: skip

    yield spec, fake, adapter, job
    reset(fake)


def ids(specs):
    return [s.name for s in specs]


def submit(adapter, job):
    return adapter.submit(job, lambda value: None)


def started(adapter, job) -> Job:
    """Submit without faults and return the job carrying its handle."""
    outcome = submit(adapter, job)
    assert isinstance(outcome, Pending), outcome
    return with_handle(job, outcome.handle)


# --- submit faults ---------------------------------------------------------------------------

SUBMIT_FAULTS = [
    # fault, options, category, retryable
    ("rate_limit", {"retry_after": 7}, "retryable", True),
    ("server_error", {}, "retryable", True),
    ("server_error", {"status": 503}, "retryable", True),
    ("unauthorized", {}, "auth", False),
    ("forbidden", {}, "auth", False),
    ("quota", {}, "quota", False),
    ("invalid", {}, "invalid_input", False),
    ("content_policy", {}, "content_policy", False),
    ("malformed", {}, "unknown_outcome", False),
    ("hang", {"delay": 1.0}, "unknown_outcome", False),
    ("drop", {}, "unknown_outcome", False),
]


@pytest.mark.parametrize("env", SPECS, ids=ids(SPECS), indirect=True)
@pytest.mark.parametrize(
    ("fault", "options", "category", "retryable"),
    SUBMIT_FAULTS,
    ids=[f"{f[0]}{f[1].get('status', '')}" for f in SUBMIT_FAULTS],
)
def test_submit_faults_classify(env, fault, options, category, retryable):
    spec, fake, adapter, job = env
    fake.faults.set(fault, on="submit", times=1, **options)
    outcome = submit(adapter, job())
    assert isinstance(outcome, Failed), outcome
    failure = outcome.failure
    assert (failure.category, failure.retryable) == (category, retryable), failure
    assert failure.provider == spec.name
    if fault == "rate_limit":
        assert failure.retry_after == 7
    assert fake.secret not in failure.message


@pytest.mark.parametrize("env", SPECS, ids=ids(SPECS), indirect=True)
def test_retry_after_as_an_http_date(env):
    _, fake, adapter, job = env
    fake.faults.set("rate_limit", on="submit", times=1, retry_after=30, http_date=True)
    failure = submit(adapter, job()).failure
    assert failure.retryable and 25 <= failure.retry_after <= 31


@pytest.mark.parametrize("env", SPECS, ids=ids(SPECS), indirect=True)
def test_wrong_key_is_auth(env):
    _, fake, adapter, job = env
    failure = submit(adapter, job(secret="not-the-key")).failure
    assert failure.category == "auth" and not failure.retryable
    assert "not-the-key" in fake.auth_seen


@pytest.mark.parametrize("env", SPECS, ids=ids(SPECS), indirect=True)
def test_a_slow_answer_within_the_timeout_is_fine(env):
    _, fake, adapter, job = env
    fake.faults.set("slow", on="submit", times=1, delay=0.1)
    assert isinstance(submit(adapter, job()), Pending | Finished)


@pytest.mark.parametrize("env", SPECS, ids=ids(SPECS), indirect=True)
def test_connection_refused_is_retryable(env, tmp_path):
    spec, fake, adapter, _ = env
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    class Dead:
        url = f"http://127.0.0.1:{port}{spec.suffix}"
        secret = fake.secret

    failure = submit(adapter, make_job(Dead(), spec.name, spec.kind, spec.model, tmp_path)).failure
    assert failure.category == "retryable" and failure.retryable


# --- poll faults -----------------------------------------------------------------------------

TRANSIENT_POLL_FAULTS = [
    ("rate_limit", {"retry_after": 4}),
    ("server_error", {}),
    ("malformed", {}),
    ("hang", {"delay": 1.0}),
    ("drop", {}),
]


@pytest.mark.parametrize("env", POLLING, ids=ids(POLLING), indirect=True)
@pytest.mark.parametrize(("fault", "options"), TRANSIENT_POLL_FAULTS,
                         ids=[f[0] for f in TRANSIENT_POLL_FAULTS])  # fmt: skip
def test_transient_poll_faults_keep_waiting(env, fault, options):
    _, fake, adapter, job = env
    running = started(adapter, job())
    fake.faults.set(fault, on="status", times=1, **options)
    outcome = poll_once(adapter, running)
    assert isinstance(outcome, Pending), outcome
    assert outcome.handle[ERRORS_KEY] == 1
    if fault == "rate_limit":
        assert outcome.poll_after == 4
    else:
        assert 0 < outcome.poll_after <= 2
    # the next good poll carries on and forgets the error count
    after = poll_once(adapter, with_handle(running, outcome.handle))
    assert not isinstance(after, Failed), after
    if isinstance(after, Pending):
        assert ERRORS_KEY not in after.handle


@pytest.mark.parametrize("env", POLLING, ids=ids(POLLING), indirect=True)
def test_poll_backoff_grows(env):
    _, fake, adapter, job = env
    running = started(adapter, job())
    fake.faults.set("server_error", on="status", times=4)
    delays = []
    for _ in range(4):
        outcome = poll_once(adapter, running)
        assert isinstance(outcome, Pending)
        delays.append(outcome.poll_after)
        running = with_handle(running, outcome.handle)
    assert delays[-1] > delays[0]


@pytest.mark.parametrize("env", POLLING, ids=ids(POLLING), indirect=True)
def test_a_revoked_key_while_polling_is_auth(env):
    _, fake, adapter, job = env
    running = started(adapter, job())
    fake.faults.set("unauthorized", on="status", times=1)
    outcome = poll_once(adapter, running)
    assert isinstance(outcome, Failed) and outcome.failure.category == "auth"


def poll_to_end(adapter, job, limit=8):
    outcome = submit(adapter, job)
    for _ in range(limit):
        if not isinstance(outcome, Pending):
            return outcome
        job = with_handle(job, outcome.handle)
        outcome = poll_once(adapter, job)
    return outcome


@pytest.mark.parametrize("env", POLLING, ids=ids(POLLING), indirect=True)
def test_a_job_that_fails_upstream_fails_with_its_message(env):
    _, fake, adapter, job = env
    fake.faults.set("fail_job", times=1, message="GPU fell over")
    outcome = poll_to_end(adapter, job())
    assert isinstance(outcome, Failed), outcome
    assert "GPU fell over" in outcome.failure.message and not outcome.failure.retryable


@pytest.mark.parametrize("env", POLLING, ids=ids(POLLING), indirect=True)
def test_a_job_flagged_upstream_is_content_policy(env):
    _, fake, adapter, job = env
    fake.faults.set("nsfw_job", times=1)
    outcome = poll_to_end(adapter, job())
    assert isinstance(outcome, Failed) and outcome.failure.category == "content_policy"


@pytest.mark.parametrize("env", POLLING, ids=ids(POLLING), indirect=True)
def test_a_job_that_never_finishes_stays_pending(env):
    _, fake, adapter, job = env
    fake.faults.set("never_finish", times=1)
    assert isinstance(poll_to_end(adapter, job(), limit=6), Pending)


@pytest.mark.parametrize("env", SPECS, ids=ids(SPECS), indirect=True)
def test_synchronous_faults_of_the_job(env):
    """OpenAI answers in the submit: a failing job is a 500 (retry), a flagged one a 400."""
    spec, fake, adapter, job = env
    if spec.polls:
        pytest.skip("polled upstreams are covered above")
    fake.faults.set("fail_job", times=1)
    assert submit(adapter, job()).failure.category == "retryable"
    fake.faults.set("nsfw_job", times=1)
    assert submit(adapter, job()).failure.category == "content_policy"


@pytest.mark.parametrize("env", SPECS, ids=ids(SPECS), indirect=True)
def test_result_urls_expire(env):
    spec, fake, adapter, job = env
    if spec.name == "openai":  # gpt-image answers base64: nothing to expire
        pytest.skip("no result URLs")
    fake.faults.set("expire_results", times=1, after_fetches=1)
    outcome = poll_to_end(adapter, job())
    assert isinstance(outcome, Finished)
    url = outcome.outputs[0].url
    assert httpx.get(url).status_code == 200
    assert httpx.get(url).status_code == 404  # gone after the first fetch


@pytest.mark.parametrize("env", POLLING, ids=ids(POLLING), indirect=True)
def test_the_per_credential_poll_limit_answers_429_and_the_adapter_waits(env):
    _, fake, adapter, job = env
    running = started(adapter, job())
    # A long window: two polls a few milliseconds apart must land in the same one (a short
    # window made this flaky on a loaded machine, when the polls straddled its edge).
    fake.limits.configure(polls=1, window=30)
    first = poll_once(adapter, running)
    second = poll_once(adapter, running)
    assert ERRORS_KEY not in getattr(first, "handle", {})
    assert isinstance(second, Pending) and 1 <= second.poll_after <= 30
    assert sum(fake.limited.values()) == 1


@pytest.mark.parametrize("env", SPECS, ids=ids(SPECS), indirect=True)
def test_the_per_credential_submit_limit(env):
    _, fake, adapter, job = env
    fake.limits.configure(submits=2, window=30)
    outcomes = [submit(adapter, job()) for _ in range(3)]
    assert all(not isinstance(o, Failed) for o in outcomes[:2])
    assert outcomes[2].failure.retryable and outcomes[2].failure.retry_after > 0
    assert fake.limited["submit"] == 1
    # another credential has its own budget
    assert fake.limits.check("someone-else", "submit") is None


def test_retry_after_parsing():
    assert parse_retry_after("3") == 3
    assert parse_retry_after("1.5") == 1.5
    assert parse_retry_after("-4") == 0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470) == 10
    assert parse_retry_after("99999999") == 3600
