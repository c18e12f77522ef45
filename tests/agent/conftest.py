import pytest
from django.test import Client

from catalog import services as catalog
from generations import language
from studio.accounts import credits
from studio.accounts.models import Bucket
from tests.catalog.conftest import product_photo


@pytest.fixture
def small_renders(monkeypatch):
    from generations.providers.local import image, video

    monkeypatch.setattr(image, "BASE_LONG_SIDE", 256)
    monkeypatch.setattr(video, "BASE_LONG_SIDE", 160)


@pytest.fixture
def offline(monkeypatch, small_renders):
    """No tool-calling model: the rules planner plans; ad copy by rules (fast)."""
    monkeypatch.setattr(language, "planning_model", lambda team: None)
    monkeypatch.setattr("generations.ads.copywriter.model_copy", lambda *args: None)


@pytest.fixture
def funded(team):
    credits.grant(team, 20_000, bucket=Bucket.PACK)
    return team


@pytest.fixture
def krev(alice_key) -> Client:
    return Client(headers={"Authorization": f"Bearer {alice_key}"})


def make_product(team, name: str = "Cloudstep Sneakers"):
    product = catalog.create_product(
        team, None, catalog.check_upload(product_photo()), name=name, enqueue=False
    )
    return catalog.analyse_product(product.pk)
