"""Studio's overhead per chat message against a loopback OpenAI-compatible fake that streams.

    .venv/bin/python bench/chat_overhead.py [--rounds 10] [--words 60] [--chunk-delay 0.005]

Two ways to get the same streamed answer, in interleaved rounds (direct, Studio, direct, …)
so load from elsewhere on the machine hits both alike:
- direct: one streamed `POST /v1/chat/completions` to the fake on a kept-alive httpx client,
  as an application calling the upstream itself would;
- Studio: `chat.services.start_message` on a conversation (validation, the token estimate,
  the charge and the rows in one transaction, the engine's claim, the streamed call through
  the adapter, partial text written to the database, settlement, the assistant message).
Time to first token: until the first text is readable (direct: the first content chunk;
Studio: the first partial text committed where polls and pages read it). Total: until the
whole answer is there (Studio: settled and stored). Tasks run inline (no cluster hop), on a
throwaway SQLite database.

Goal: Studio adds at most 150 ms to the time to the first token and at most 150 ms to the
whole message (median of the rounds); prints the medians, the added milliseconds, PASS/FAIL
and the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path[:0] = [str(ROOT), str(BENCH)]

GOAL_ADDED_MS = 150.0


def direct(client, url: str, secret: str) -> tuple[float, float]:
    body = {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "Tell me about lighthouses"}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    start = time.perf_counter()
    first = 0.0
    with client.stream(
        "POST", f"{url}/chat/completions", json=body, headers={"Authorization": f"Bearer {secret}"}
    ) as response:
        for line in response.iter_lines():
            if not first and line.startswith("data:") and '"content": "' in line:
                chunk = json.loads(line[5:])
                if chunk["choices"] and chunk["choices"][0]["delta"].get("content"):
                    first = time.perf_counter()
    return first - start, time.perf_counter() - start


def through_studio(team, user, session: str | None, first_partial: list[float]) -> tuple:
    from generations.chat import services as chat

    first_partial.clear()
    start = time.perf_counter()
    raw = {"message": "Tell me about lighthouses", "max_tokens": 256}
    if session:
        raw["session_id"] = session
    started = chat.start_message(team, user, raw)
    total = time.perf_counter() - start
    assert started.generation.__class__.objects.get(pk=started.generation.pk).state == "succeeded"
    ttft = (first_partial[0] - start) if first_partial else total
    return ttft, total, str(started.conversation.uuid)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--words", type=int, default=60)
    parser.add_argument("--chunk-delay", type=float, default=0.005)
    args = parser.parse_args()

    from api_credits import configure, migrate

    workdir = Path(tempfile.mkdtemp(prefix="studio-bench-chat-"))
    configure(workdir)
    os.environ.update(
        STUDIO_TASKS_SYNC="1",
        STUDIO_ALLOW_PRIVATE_UPSTREAMS="1",
        STUDIO_VAULT_KEYS="YmVuY2gtdmF1bHQta2V5LTAxMjM0NTY3ODlhYmNkZWY=",
    )
    migrate()

    from generations import engine
    from generations.models import AIModel
    from studio.accounts import credits
    from studio.accounts import services as accounts
    from studio.accounts.models import Bucket, User
    from studio.vault import credentials as vault
    from tests.fakes.openai_compat import OpenAIFake

    fake = OpenAIFake().start()
    fake.chunk_delay = args.chunk_delay
    answer = " ".join(f"word{i}" for i in range(args.words))
    fake.reply = lambda messages: answer
    user = User.objects.create_user(f"bench-{time.time_ns()}@bench.local", "bench-password-123")
    team = accounts.create_team("Bench", user)
    credits.grant(team, 10_000_000, bucket=Bucket.PACK)
    vault.create_credential(
        None, "openai", "fake", fake.base_url, fake.secret, submits_per_minute=100_000
    )
    AIModel.objects.filter(identifier="studio-local/chat").update(enabled=False)

    first_partial: list[float] = []
    original = engine.ProgressWriter.partial

    def timed(self, content: str, reasoning: str = "") -> None:
        original(self, content, reasoning)
        if not first_partial:
            first_partial.append(time.perf_counter())

    engine.ProgressWriter.partial = timed  # type: ignore[method-assign]

    rows: dict[str, list[tuple[float, float]]] = {"direct": [], "studio": []}
    session = None
    import httpx

    client = httpx.Client(timeout=30)  # a client keeps its connection, as apps do
    direct(client, fake.base_url, fake.secret)  # warm both paths
    _, _, session = through_studio(team, user, None, first_partial)
    for _ in range(args.rounds):
        rows["direct"].append(direct(client, fake.base_url, fake.secret))
        ttft, total, session = through_studio(team, user, session, first_partial)
        rows["studio"].append((ttft, total))
    fake.stop()

    medians = {
        name: (
            statistics.median(r[0] for r in values) * 1000,
            statistics.median(r[1] for r in values) * 1000,
        )
        for name, values in rows.items()
    }
    print(
        f"{args.rounds} interleaved rounds, {args.words}-word answer streamed with "
        f"{args.chunk_delay * 1000:g} ms between chunks, SQLite, tasks inline"
    )
    print(f"{'path':8} {'first token ms':>15} {'total ms':>10}")
    for name, (ttft, total) in medians.items():
        print(f"{name:8} {ttft:15.1f} {total:10.1f}")
    added_first = medians["studio"][0] - medians["direct"][0]
    added_total = medians["studio"][1] - medians["direct"][1]
    ok_first = added_first <= GOAL_ADDED_MS
    ok_total = added_total <= GOAL_ADDED_MS
    print(
        f"goal: Studio adds ≤ {GOAL_ADDED_MS:g} ms to the first token: measured "
        f"{added_first:.1f} ms (ratio {medians['studio'][0] / medians['direct'][0]:.2f}) "
        f"{'PASS' if ok_first else 'FAIL'}"
    )
    print(
        f"goal: Studio adds ≤ {GOAL_ADDED_MS:g} ms to the whole message: measured "
        f"{added_total:.1f} ms (ratio {medians['studio'][1] / medians['direct'][1]:.2f}) "
        f"{'PASS' if ok_total else 'FAIL'}"
    )
    print("load average: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    return 0 if ok_first and ok_total else 1


if __name__ == "__main__":
    raise SystemExit(main())
