"""An upstream's models are offered only to teams that have a usable credential for it."""

from __future__ import annotations

import pytest

from generations.models import AIModel
from generations.registry import enabled_models, resolve_model
from studio.errors import ModelNotFound
from studio.vault.credentials import create_credential


@pytest.fixture
def fal_model(db):
    return AIModel.objects.create(
        identifier="test-fal/flux",
        name="Flux via fal",
        provider="fal",
        types=["image"],
        pricing_unit="per_image",
        credit=30,
        supported_aspect_ratios=["1:1"],
        recommended=True,
        sort_order=1,
    )


def identifiers(team) -> set[str]:
    return set(enabled_models(team).values_list("identifier", flat=True))


def test_an_upstream_model_is_hidden_until_the_team_can_reach_the_upstream(team, fal_model):
    assert "test-fal/flux" not in identifiers(team)
    assert "studio-local/image" in identifiers(team)
    with pytest.raises(ModelNotFound):
        resolve_model("test-fal/flux", "image", team)
    # Smart Select falls back to what the team can actually run.
    assert resolve_model(None, "image", team).identifier == "studio-local/image"


def test_a_teams_own_credential_offers_the_model_to_that_team_only(
    team, other_team, fal_model, api
):
    create_credential(team, "fal", "ours", "https://queue.fal.run", "fal-key-12345678")
    assert "test-fal/flux" in identifiers(team)
    assert "test-fal/flux" not in identifiers(other_team)
    listed = api.get("/api/v1/models?provider=fal").json()
    assert "test-fal/flux" in [m["identifier"] for m in listed["models"]]


def test_a_shared_credential_offers_the_model_to_every_team(team, other_team, fal_model):
    create_credential(None, "fal", "shared", "https://queue.fal.run", "fal-key-12345678")
    assert "test-fal/flux" in identifiers(team) and "test-fal/flux" in identifiers(other_team)


def test_an_unhealthy_or_disabled_credential_offers_nothing(team, fal_model):
    credential = create_credential(team, "fal", "ours", "https://queue.fal.run", "fal-key-12345678")
    type(credential).objects.filter(pk=credential.pk).update(healthy=False)
    assert "test-fal/flux" not in identifiers(team)
    type(credential).objects.filter(pk=credential.pk).update(healthy=True, enabled=False)
    assert "test-fal/flux" not in identifiers(team)
