"""Seconds per render of the offline engine's media layer.

    .venv/bin/python bench/local_engine.py [--repeat N]

Prints the median of N runs for: one 1024 px image, one 5 s 640x360 video, 30 s of music,
5 s of sound effects and one spoken sentence.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from generations.providers.local import (
    render_images,
    render_music,
    render_sound,
    render_speech,
    render_video,
)


def timed(label: str, repeat: int, run: Callable[[Path, int], object]) -> None:
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(repeat):
            start = time.perf_counter()
            run(Path(tmp), i)
            times.append(time.perf_counter() - start)
    print(f"{label:<34} {statistics.median(times):7.3f} s  (min {min(times):.3f}, n={repeat})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    n = parser.parse_args().repeat
    sentence = "The offline engine speaks this sentence without touching the network."
    timed(
        "image 1024x1024 (landscape)",
        n,
        lambda d, i: render_images("sunset over mountains", seed=i, out_dir=d),
    )
    timed(
        "image 1024x1024 (abstract)",
        n,
        lambda d, i: render_images("quiet geometry", seed=i, out_dir=d),
    )
    timed(
        "video 5 s 640x360 H.264",
        n,
        lambda d, i: render_video("neon city at night", duration=5, seed=i, out_dir=d),
    )
    timed(
        "music 30 s stereo WAV",
        n,
        lambda d, i: render_music("upbeat synth dance", duration=30, seed=i, out_dir=d),
    )
    timed("sound effect 5 s", n, lambda d, i: render_sound("rain and thunder", seed=i, out_dir=d))
    timed("speech, one sentence", n, lambda d, i: render_speech(f"{sentence} {i}", out_dir=d))


if __name__ == "__main__":
    main()
