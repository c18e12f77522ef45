"""A job's inputs: the images a generation names, fetched into its work directory.

A user-supplied source (`image_url`, `reference_images`, an edit's `source_images`) is a
data: URL, a Studio link of the same team (a result `/m/…`, a lasting `studio-asset:`
reference, a catalog image `/c/…`), or a public http(s) URL: one reader reads them all
(studio/inputs.py) and one image policy checks them (studio/images.py), as for catalog
uploads. Catalog ids in the request (products, Visual DNA, moodboards, presets) become
further references and prompt text through the reference resolver the catalog registers
(generations/extensions.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError

from generations import extensions
from generations.models import Asset, Generation
from studio import images, inputs
from studio.accounts.models import Team
from studio.errors import InvalidFields
from studio.media import OwnLink


def fetch_input(url: str, team: Team) -> tuple[bytes, str]:
    """The bytes behind a user-supplied image source, and a file name hint."""
    return inputs.read_image_url(url, team)


def check_image(data: bytes, name: str) -> None:
    """Raise InvalidFields (or PayloadTooLarge) unless `data` is an image the policy accepts."""
    images.inspect(data, name)


def read_own_link(link: OwnLink, team: Team, what: str) -> tuple[bytes, str]:
    """A result's file (or thumbnail) for the team that made it."""
    try:
        asset = Asset.objects.filter(uuid=link.uuid, generation__team=team).first()
    except (ValueError, ValidationError):
        asset = None
    if asset is None:
        raise InvalidFields("That media link does not belong to this team")
    field = asset.thumbnail if link.variant == "thumb" else asset.file
    with field.open("rb") as handle:
        return handle.read(), Path(field.name or "").name


def resolve_references(
    generation: Generation, directory: Path, first_index: int
) -> tuple[dict[str, Path], str]:
    """The catalog's references for `generation` ({"ref<N>": file}) and its prompt text, plus
    the still image a provider asks for when it cannot take references for this job (the
    offline engine animates a still of the products for a product-led text-to-video)."""
    from generations.providers.base import get_adapter

    found, text = extensions.references().resolve(generation, directory, first_index)
    params = generation.params
    prompt = f"{params.get('prompt') or ''} {text}".strip()
    plate = get_adapter(generation.provider).reference_plate(
        generation.type, {**params, "prompt": prompt}, list(found.values()), directory
    )
    if plate is not None:
        found["image_url"] = plate
    return found, text


def has_inputs(params: dict[str, Any]) -> bool:
    """The job has input files to prepare: images by URL, or the catalog's references."""
    return bool(downloads(params)) or any(params.get(f) for f in extensions.CATALOG_FIELDS)


def downloads(params: dict[str, Any]) -> dict[str, str]:
    """The input images a job's params name by URL ({name: url}), to be fetched."""
    wanted: dict[str, str] = {}
    if params.get("image_url"):
        wanted["image_url"] = params["image_url"]
    for i, url in enumerate(params.get("reference_images") or []):
        wanted[f"ref{i}"] = url
    if params.get("inspiration_image"):  # an ad's palette and layout guide
        wanted["inspiration_image"] = params["inspiration_image"]
    for i, url in enumerate(params.get("source_images") or []):  # the images an edit changes
        wanted[f"source{i}"] = url
    return wanted


def fetch_inputs(generation: Generation, directory: Path) -> dict[str, Path]:
    """Fetch and check every input image of `generation` into `directory`: {name: file}.

    Catalog references follow the user's own (`ref<N>` after the user's list) and their
    style text (preset, DNA system prompts, moodboard style guide) joins the prompt the
    provider sees; the stored prompt stays as the user wrote it. Unknown or other-team ids
    raise NotFound.
    """
    params = generation.params
    wanted = downloads(params)
    found: dict[str, Path] = {}
    if wanted:
        directory.mkdir(parents=True, exist_ok=True)
    for name, url in wanted.items():
        data, _ = fetch_input(url, generation.team)
        path = directory / f"input-{name}"
        path.write_bytes(data)
        check_image(data, name)
        found[name] = path
    first = len(params.get("reference_images") or [])
    references, style = resolve_references(generation, directory, first)
    found.update(references)
    if style:
        generation.params = {**params, "prompt": f"{params.get('prompt') or ''} {style}".strip()}
    return found
