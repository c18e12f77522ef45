from __future__ import annotations

import pytest

from generations.models import AIModel
from generations.registry import resolve_model
from studio.errors import ModelNotFound, WrongModelType


def test_smart_select_picks_the_recommended_model_of_the_type(db):
    assert resolve_model(None, "image").identifier == "studio-local/image"
    assert resolve_model("auto", "video_from_image").identifier == "studio-local/video"


def test_smart_select_falls_back_to_the_lowest_sort_order(db):
    AIModel.objects.filter(identifier="studio-local/image").update(recommended=False)
    AIModel.objects.create(
        identifier="x/late",
        name="Late",
        provider="fal",
        types=["image"],
        pricing_unit="per_image",
        credit=1,
        sort_order=99,
    )
    AIModel.objects.create(
        identifier="x/early",
        name="Early",
        provider="fal",
        types=["image"],
        pricing_unit="per_image",
        credit=1,
        sort_order=1,
    )
    assert resolve_model(None, "image").identifier == "x/early"


def test_unknown_and_disabled_models_are_not_found(db):
    with pytest.raises(ModelNotFound, match="Model not found"):
        resolve_model("nonexistent-model", "image")
    AIModel.objects.filter(identifier="studio-local/image").update(enabled=False)
    with pytest.raises(ModelNotFound):
        resolve_model("studio-local/image", "image")
    AIModel.objects.update(enabled=False)
    with pytest.raises(ModelNotFound):
        resolve_model(None, "image")


def test_a_model_of_another_type_is_the_wrong_type(db):
    with pytest.raises(WrongModelType, match="studio-local/music"):
        resolve_model("studio-local/music", "image")
