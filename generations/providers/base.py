"""The contract between the engine and an upstream.

`submit(job)` makes one upstream call and answers with `Finished` (synchronous providers),
`Pending` (a handle to poll) or `Failed`. `poll(client, job)` makes one status call.
`cancel(job)` is best-effort. Failures are classified so the engine can decide: retry with
backoff, fail and refund, or keep waiting.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

import httpx

# Shared with the vault (which tests credentials without knowing any provider): re-exported
# here because every adapter takes them from this module.
from studio.upstream import CredentialCheckFailed as CredentialCheckFailed
from studio.upstream import UpstreamCredential as UpstreamCredential


class FailureCategory:
    RETRYABLE = "retryable"
    CONTENT_POLICY = "content_policy"
    AUTH = "auth"
    QUOTA = "quota"
    INVALID_INPUT = "invalid_input"
    TIMEOUT = "timeout"
    CANCELLED = "cancelled"
    INTERNAL = "internal"
    UNKNOWN_OUTCOME = "unknown_outcome"


@dataclass(frozen=True)
class Failure:
    message: str
    category: str = FailureCategory.INTERNAL
    code: str = "GENERATION_FAILED"
    retryable: bool = False
    provider: str = ""
    retry_after: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "message": self.message,
            "category": self.category,
            "code": self.code,
            "retryable": self.retryable,
            "provider": self.provider,
        }


@dataclass(frozen=True)
class Output:
    """A produced file: a local path (offline engine) or an upstream URL to download."""

    path: Path | None = None
    url: str | None = None
    mime_type: str | None = None
    # "output", or "plain": an ad image without its text layer, kept for re-editing.
    role: str = "output"


@dataclass(frozen=True)
class Finished:
    outputs: list[Output]
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Pending:
    handle: dict[str, Any]
    progress: int | None = None
    poll_after: float = 3.0


@dataclass(frozen=True)
class Failed:
    failure: Failure


Outcome = Finished | Pending | Failed


class Reporter(Protocol):
    """What a running submit tells the engine while it works. Calls are cheap and never block
    for long: the engine throttles the writes (progress never goes down; 100 is written only
    with success).

    `progress(value)` is the 0-99 progress; `partial(content, reasoning)` is the text written
    so far by a language model (the whole text each time, not a delta), which the engine keeps
    in `Generation.result_meta["partial"]` = `{"content", "reasoning_content"}` until the
    answer is final, so pages and status polls can show it while it is written."""

    def __call__(self, value: int) -> None: ...

    def partial(self, content: str, reasoning: str = "") -> None: ...


# Kept for adapters that only report progress: a Reporter is called like this.
ProgressCallback = Reporter


@dataclass(frozen=True)
class Job:
    """What a provider is told about a generation; no ORM objects cross this line."""

    generation_id: str
    team_id: str
    type: str
    upstream_model: str
    params: dict[str, Any]
    handle: dict[str, Any]
    work_dir: Path
    inputs: dict[str, Path] = field(default_factory=dict)  # fetched source/reference files
    credential: UpstreamCredential | None = None


class ProviderAdapter:
    name: ClassVar[str] = ""
    # Re-running submit after a crash cannot create a second paid upstream job.
    idempotent_submit: ClassVar[bool] = False
    # How long one submit step may take before the sweeper considers its worker dead.
    submit_lease_seconds: ClassVar[int] = 120
    # Upstreams need a vault credential (and so have budgets); the offline engine does not.
    needs_credential: ClassVar[bool] = True
    # `reconcile` can look a job up, so its None means "never received". False where a lost
    # answer cannot be asked about again (a synchronous API): whether it ran is unknown.
    can_look_up_jobs: ClassVar[bool] = True

    # Set where submit is I/O-bound upstream work (one synchronous HTTP call, a stream, a
    # download): the engine hands the claimed job to the cluster's async runner, which awaits
    # `asubmit` with hundreds of calls in flight in one process, instead of holding a worker
    # process for the whole call. CPU work (the offline engine) keeps `submit` in a worker.
    async_submit: ClassVar[bool] = False

    def submit(self, job: Job, progress: ProgressCallback) -> Outcome:
        raise NotImplementedError

    async def asubmit(self, client: httpx.AsyncClient, job: Job, report: Reporter) -> Outcome:
        """The coroutine form of `submit` for `async_submit` adapters: same outcomes, same
        failure classification, over the runner's shared `client` (kept per host)."""
        raise NotImplementedError

    async def poll(self, client: httpx.AsyncClient, job: Job) -> Outcome:
        raise NotImplementedError

    def cancel(self, job: Job) -> None:
        """Ask the upstream to stop; best-effort, errors are ignored by the caller."""

    def check_credential(self, credential: UpstreamCredential) -> None:
        """One cheap authenticated upstream call; raise CredentialCheckFailed if it fails."""
        raise CredentialCheckFailed(f"{self.name} cannot test credentials")

    def reconcile(self, job: Job) -> Outcome | None:
        """After a submit whose answer never came: look the job up upstream.

        None means "the upstream never heard of it", so it is safe to refund.
        """
        return None

    def reference_plate(
        self, job_type: str, params: dict[str, Any], references: list[Path], directory: Path
    ) -> Path | None:
        """A still image made from the catalog's `references`, written into `directory`, for
        a job this provider cannot give references to; None (the default): none needed."""
        return None


# Installed adapters by provider name (tests put fakes here with monkeypatch.setitem).
ADAPTERS: dict[str, ProviderAdapter] = {}


def register(adapter: ProviderAdapter) -> ProviderAdapter:
    ADAPTERS[adapter.name] = adapter
    return adapter


def get_adapter(name: str) -> ProviderAdapter:
    if not ADAPTERS:
        from generations.providers import registry  # noqa: F401 - registers the adapters
    try:
        return ADAPTERS[name]
    except KeyError:
        raise LookupError(f"No provider adapter named {name!r}") from None
