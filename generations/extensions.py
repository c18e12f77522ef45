"""What generations asks of other apps, as small interfaces they register at start-up.

Generations imports no other app. The catalog (products, Visual DNA, moodboards, style
presets) plugs in a `ReferenceResolver` from its AppConfig.ready(); without one, requests
carry no catalog ids (`check` refuses them) and the Studio page shows no catalog pickers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from django import forms

from generations.models import Generation
from studio.accounts.models import Team
from studio.errors import InvalidFields

# The request fields that name catalog objects.
CATALOG_FIELDS = ("product_ids", "visual_dna_ids", "moodboard_id", "preset_id")


@dataclass(frozen=True)
class PickableImage:
    """An image of another app a page offers to attach: its label and a Studio link (a
    relative signed path) that is both its preview and the value a request carries."""

    label: str
    url: str


@dataclass(frozen=True)
class ProductFacts:
    """What an ad's copywriter knows of a product: its name and the analysis metadata."""

    id: str
    name: str
    brand_name: str = ""
    product_name: str = ""
    product_type: str = ""
    colors: tuple[str, ...] = ()
    materials: tuple[str, ...] = ()

    @property
    def display_name(self) -> str:
        return self.product_name or self.name or self.product_type or "this product"


@dataclass(frozen=True)
class PickableProduct:
    """A product a page offers to pick: its id, name and a picture link (its cut-out)."""

    id: str
    label: str
    url: str


class ReferenceResolver(Protocol):
    """Turns catalog ids in a generation request into reference images and prompt text."""

    def check(self, team: Team, validated: dict[str, Any]) -> None:
        """Raise NotFound/InvalidFields unless every catalog id in the request is the team's
        (or global): called before anything is charged."""

    def resolve(
        self, generation: Generation, directory: Path, first_index: int
    ) -> tuple[dict[str, Path], str]:
        """({"ref<N>": file written into `directory`, N from `first_index`}, prompt text)
        for the generation's catalog ids; ids no longer usable raise NotFound."""

    def add_pickers(self, form: forms.Form, team: Team, generation_type: str) -> None:
        """Add the catalog's choice fields (the team's objects) to the Studio form."""

    def picked(self, form: forms.Form) -> dict[str, Any]:
        """The ids picked in those fields, as request fields (`product_ids`, …)."""

    def images(self, team: Team, limit: int) -> list[PickableImage]:
        """The team's latest catalog images (product photos), newest first, for the Chat
        page's attach picker."""

    def products(self, team: Team, ids: list[str]) -> list[ProductFacts]:
        """The team's products with these ids, in order (NotFound for any that is not the
        team's): names and metadata for ad copy. Their cut-outs come with `resolve`."""

    def product_choices(self, team: Team, limit: int) -> list[PickableProduct]:
        """The team's products to pick from (the Ads page), by name."""


def describe_catalog_ids(team: Team, field: str, ids: list[str]) -> list[tuple[str, str]]:
    """(name, link) of each catalog id a job used, for its detail page; `("(deleted)", "")`
    for one that is gone. A resolver without `describe` shows the ids as they are."""
    describe = getattr(references(), "describe", None)
    if describe is None:
        return [(str(i), "") for i in ids]
    return list(describe(team, field, [str(i) for i in ids]))


class NoCatalog:
    """The resolver when no catalog is installed: no catalog ids are accepted."""

    def check(self, team: Team, validated: dict[str, Any]) -> None:
        named = [field for field in CATALOG_FIELDS if validated.get(field)]
        if named:
            raise InvalidFields(f"{named[0]} is not available: this Studio has no catalog")

    def resolve(
        self, generation: Generation, directory: Path, first_index: int
    ) -> tuple[dict[str, Path], str]:
        return {}, ""

    def add_pickers(self, form: forms.Form, team: Team, generation_type: str) -> None:
        return None

    def picked(self, form: forms.Form) -> dict[str, Any]:
        return {}

    def images(self, team: Team, limit: int) -> list[PickableImage]:
        return []

    def products(self, team: Team, ids: list[str]) -> list[ProductFacts]:
        if ids:
            raise InvalidFields("product_ids is not available: this Studio has no catalog")
        return []

    def product_choices(self, team: Team, limit: int) -> list[PickableProduct]:
        return []


_resolver: ReferenceResolver = NoCatalog()


def register_references(resolver: ReferenceResolver) -> None:
    """Install the reference resolver (the catalog app calls this from its ready())."""
    global _resolver
    _resolver = resolver


def references() -> ReferenceResolver:
    return _resolver
