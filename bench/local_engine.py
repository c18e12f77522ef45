"""The offline engine's media layer: wall seconds and CPU seconds per render, against the goals.

    .venv/bin/python bench/local_engine.py [--repeat N] [--tree PATH]

Goals (issue 10): a 1024² image in ≤ 0.3 s, a 5 s 720p video in ≤ 5 CPU-seconds (x264's
threads included). Prints the median of N runs for each case, interleaved (image, video,
image, video, …) so a burst of load on the machine hits both alike, then each goal with its
measured value, PASS/FAIL, and the load average. Music, sound and speech are printed for
reference. `--tree` measures another checkout (e.g. a `git worktree` of the previous commit)
with the same script.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)  # every thread of this process
    return usage.ru_utime + usage.ru_stime


def measure(run: Callable[[Path, int], object], out: Path, i: int) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), cpu_seconds()
    run(out, i)
    return time.perf_counter() - wall, cpu_seconds() - cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--tree", default=str(Path(__file__).resolve().parent.parent))
    args = parser.parse_args()
    sys.path.insert(0, args.tree)
    from generations.providers.local import (
        render_images,
        render_music,
        render_sound,
        render_speech,
        render_video,
    )

    sentence = "The offline engine speaks this sentence without touching the network."
    cases: dict[str, Callable[[Path, int], object]] = {
        "image 1024x1024 (landscape)": lambda d, i: render_images(
            "sunset over mountains", seed=i, out_dir=d
        ),
        "image 1024x1024 (abstract)": lambda d, i: render_images(
            "quiet geometry", seed=i, out_dir=d
        ),
        "video 5 s 1280x720 H.264": lambda d, i: render_video(
            "neon city at night", duration=5, seed=i, hd=True, out_dir=d
        ),
        "video 5 s 640x360 H.264": lambda d, i: render_video(
            "neon city at night", duration=5, seed=i, out_dir=d
        ),
        "music 30 s stereo WAV": lambda d, i: render_music(
            "upbeat synth dance", duration=30, seed=i, out_dir=d
        ),
        "sound effect 5 s": lambda d, i: render_sound("rain and thunder", seed=i, out_dir=d),
        "speech, one sentence": lambda d, i: render_speech(f"{sentence} {i}", out_dir=d),
    }
    wall: dict[str, list[float]] = {label: [] for label in cases}
    cpu: dict[str, list[float]] = {label: [] for label in cases}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeat):  # interleaved rounds
            for label, run in cases.items():
                w, c = measure(run, Path(tmp), i)
                wall[label].append(w)
                cpu[label].append(c)

    print(f"offline engine ({args.tree}), median of {args.repeat} interleaved rounds")
    print(f"{'render':34} {'wall s':>8} {'CPU s':>8}")
    for label in cases:
        print(
            f"{label:34} {statistics.median(wall[label]):8.3f} {statistics.median(cpu[label]):8.3f}"
        )
    image = max(
        statistics.median(wall["image 1024x1024 (landscape)"]),
        statistics.median(wall["image 1024x1024 (abstract)"]),
    )
    video = statistics.median(cpu["video 5 s 1280x720 H.264"])
    failed = 0
    for goal, measured, limit, unit in (
        ("1024² image (slower of the two)", image, 0.3, "s"),
        ("5 s 720p video", video, 5.0, "CPU-s"),
    ):
        ok = measured <= limit
        failed += not ok
        print(
            f"goal: {goal} ≤ {limit:g} {unit}: measured {measured:.3f} {unit} "
            f"(ratio to goal {measured / limit:.2f}) {'PASS' if ok else 'FAIL'}"
        )
    print("load average: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
