import pytest

from tests.cluster import cluster  # noqa: F401 - the real-cluster fixture


@pytest.fixture
def small_renders(monkeypatch):
    """Offline renders at a quarter of their size, for tests that don't look at the size.

    A pair of 1024 px images takes ~1 s to paint, 256 px ones ~0.06 s; the pages, the
    engine and the ledger behave the same whatever the pixels.
    """
    from generations.providers.local import image, video

    monkeypatch.setattr(image, "BASE_LONG_SIDE", 256)
    monkeypatch.setattr(video, "BASE_LONG_SIDE", 160)


@pytest.fixture
def rule_copy_only(monkeypatch):
    """Ad copy by the rule-based copywriter even where a chat model is installed (the
    offline model takes seconds per answer; tests of the model's copy use a fake)."""
    monkeypatch.setattr("generations.ads.copywriter.model_copy", lambda *args: None)
