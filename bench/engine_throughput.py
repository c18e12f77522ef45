"""Jobs per second through the offline engine on one worker, per generation type.

Each job goes the whole way: start (validate, price, debit, create), submit (render), collect
(store, thumbnail, account storage). Run: .venv/bin/python bench/engine_throughput.py [n]
"""

from __future__ import annotations

import sys
import time

from _django import setup, team_with_credits

N = int(sys.argv[1]) if len(sys.argv) > 1 else 10

CASES = [
    ("image", {"prompt": "a red sunset over the ocean"}),
    ("image", {"prompt": "a forest product shot", "count": 4}),
    ("video", {"prompt": "storm over the sea", "duration": 4}),
    ("music", {"prompt": "upbeat synth pop", "duration": 10}),
    ("sound", {"prompt": "rain and thunder", "duration": 5}),
    ("speech", {"text": "Welcome to Studio, the self-hosted media platform."}),
]


def main() -> None:
    setup()
    from generations import engine, services
    from generations.models import Generation

    team, user = team_with_credits()
    print(f"offline engine, one worker, {N} jobs per case")
    for generation_type, raw in CASES:
        count = N if generation_type != "video" else max(2, N // 4)
        started = time.monotonic()
        for _ in range(count):
            generation = services.start_generation(team, user, generation_type, raw).generation
            engine.submit(generation.pk)
        elapsed = time.monotonic() - started
        ok = Generation.objects.filter(type=generation_type, state="succeeded").count()
        label = f"{generation_type} {raw.get('count', '')}".strip()
        print(f"  {label:10s} {count / elapsed:6.2f} jobs/s  ({elapsed / count * 1000:.0f} ms/job)")
        Generation.objects.filter(type=generation_type).delete()
        assert ok >= count, "some jobs did not succeed"


if __name__ == "__main__":
    main()
