"""Reading the model registry: which models a team may use, and Smart Select.

`resolve_model` is what every generation endpoint calls to turn the request's `model`
(or its absence) into an `AIModel`, raising the contract's MODEL_NOT_FOUND or
WRONG_MODEL_TYPE.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from generations.models import AIModel, GenerationType, Provider
from generations.providers import offline_llm
from studio.accounts.models import Team
from studio.errors import InvalidFields, ModelNotFound, WrongModelType

SMART_SELECT = ("", "auto")


def enabled_models(team: Team | None = None) -> QuerySet[AIModel]:
    """Models `team` may use, Smart Select's preference first.

    An upstream's models count only when the team has a usable (enabled, healthy)
    credential for that provider, its own or a shared one; the offline engine's always do.
    Without a team, every enabled model.
    """
    models = AIModel.objects.filter(enabled=True)
    if not offline_llm.installed():  # the offline chat model is an extra (make install-llm)
        models = models.exclude(identifier=offline_llm.MODEL_IDENTIFIER)
    if team is not None:
        models = models.filter(provider__in=reachable_providers(team))
    return models.order_by("-recommended", "sort_order", "name")


def reachable_providers(team: Team) -> set[str]:
    """Providers the team can run on: the offline engine, and each upstream it has a usable
    credential for (its own or a shared one)."""
    from studio.vault.models import ProviderCredential

    credentials = ProviderCredential.objects.filter(
        Q(team=team) | Q(team__isnull=True), enabled=True, healthy=True
    )
    return {Provider.LOCAL, *credentials.values_list("provider", flat=True)}


def resolve_model(
    identifier: str | None, generation_type: str, team: Team | None = None
) -> AIModel:
    """The model a request names, or Smart Select's pick when it names none (or "auto").

    Smart Select: the recommended enabled model of the type, else the lowest `sort_order`.
    Unknown or disabled identifiers raise ModelNotFound; a model that does not do
    `generation_type` raises WrongModelType.
    """
    if generation_type not in GenerationType.values:
        raise ValueError(f"unknown generation type {generation_type!r}")
    models = enabled_models(team)
    if identifier is None or identifier in SMART_SELECT:
        for model in models:
            if model.does(generation_type):
                return model
        raise ModelNotFound(f"No enabled model can do {generation_type} generation", field="model")
    if not isinstance(identifier, str):
        raise InvalidFields("'model' must be a string", field="model")
    found = models.filter(identifier=identifier).first()
    if found is None:
        raise ModelNotFound("Model not found", field="model")
    if not found.does(generation_type):
        raise WrongModelType(
            f"Model {identifier} does not do {generation_type} generation; "
            f"it does {', '.join(found.types)}",
            field="model",
        )
    return found
