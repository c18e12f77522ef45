"""The offline language model: tokens per second per core (SmolLM2-135M-Instruct, llama.cpp).

    .venv/bin/python bench/offline_llm.py [--repeat N] [--tokens N]

Loads the model twice, with n_threads=1 and n_threads=2, and asks both the same question in
interleaved rounds (1, 2, 1, 2, ...) so a burst of load on the machine hits both alike.
Prints, per thread count, the median time to the first token (the prompt's evaluation) and
the median decode rate (tokens written per second after the first, and per core), then the
goal, PASS/FAIL and the load average.

Goal: an answer of 256 tokens written within 10 s on one core, so a reader never waits on
the text: decode >= 25.6 tokens/s with n_threads=1. Needs the extra (`make install-llm`).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

GOAL_TOKENS_PER_SECOND = 256 / 10
QUESTION = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "Write a long story about a lighthouse keeper and a storm."},
]


def run(llm, max_tokens: int) -> tuple[float, float, int]:
    """Seconds to the first token, decode tokens per second after it, tokens written."""
    llm.reset()  # evaluate the whole prompt each round (no prefix reuse from the last one)
    start = time.perf_counter()
    first = last = 0.0
    tokens = 0
    eos = llm.token_eos()
    stream = llm.create_chat_completion(
        messages=QUESTION,
        max_tokens=max_tokens,
        temperature=0.3,
        seed=7,
        logit_bias={eos: -100.0},  # write the whole budget, so every round counts alike
        stream=True,
    )
    for chunk in stream:
        if chunk["choices"][0]["delta"].get("content"):
            tokens += 1
            last = time.perf_counter()
            if tokens == 1:
                first = last
    rate = (tokens - 1) / (last - first) if tokens > 1 and last > first else 0.0
    return first - start, rate, tokens


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=128)
    args = parser.parse_args()
    from generations.providers import offline_llm

    path = offline_llm.weights_path()
    if path is None or not offline_llm.installed():
        print(f"SKIP: the offline language model is not installed ({offline_llm.INSTALL_COMMAND})")
        return 0
    from llama_cpp import Llama

    models = {
        threads: Llama(
            model_path=str(path),
            n_ctx=2048,
            n_threads=threads,
            n_threads_batch=threads,
            verbose=False,
        )
        for threads in (1, 2)
    }
    first: dict[int, list[float]] = {threads: [] for threads in models}
    rate: dict[int, list[float]] = {threads: [] for threads in models}
    for llm in models.values():  # warm-up: page the weights in, build the graph
        run(llm, 8)
    for _ in range(args.repeat):  # interleaved rounds
        for threads, llm in models.items():
            ttft, tokens_per_second, _written = run(llm, args.tokens)
            first[threads].append(ttft)
            rate[threads].append(tokens_per_second)

    print(
        f"offline language model {path.name}, {args.tokens} tokens per answer, "
        f"median of {args.repeat} interleaved rounds, {os.cpu_count()} CPUs"
    )
    print(f"{'n_threads':>9} {'first token s':>14} {'tokens/s':>9} {'tokens/s/core':>14}")
    for threads in models:
        tps = statistics.median(rate[threads])
        print(
            f"{threads:>9} {statistics.median(first[threads]):14.3f} {tps:9.1f} "
            f"{tps / threads:14.1f}"
        )
    one_core = statistics.median(rate[1])
    ok = one_core >= GOAL_TOKENS_PER_SECOND
    print(
        f"goal: decode ≥ {GOAL_TOKENS_PER_SECOND:.1f} tokens/s on one core (256 tokens in 10 s): "
        f"measured {one_core:.1f} tokens/s (ratio to goal {one_core / GOAL_TOKENS_PER_SECOND:.2f}) "
        f"{'PASS' if ok else 'FAIL'}"
    )
    print("load average: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
