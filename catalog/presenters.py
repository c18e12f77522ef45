"""The API shapes of catalog objects (Krev products, Kolbo Visual DNA and moodboards)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from catalog import services
from catalog.models import CatalogImage, Moodboard, Product, VisualDNA
from studio import media


def image_path(image: CatalogImage, *, ttl: int | None = None) -> str:
    """A relative signed link to a catalog image (`/c/<uuid>/<name>?e=…&s=…`): pages."""
    name = Path(image.file.name or "image").name
    return media.signed_path(media.CATALOG_LINKS, str(image.uuid), name, ttl=ttl)


def signed_url(image: CatalogImage | None, *, ttl: int | None = None) -> str | None:
    """An absolute signed link to a catalog image (API answers); None for no image."""
    if image is None:
        return None
    name = Path(image.file.name or "image").name
    return media.signed_url(media.CATALOG_LINKS, str(image.uuid), name, ttl=ttl)


def iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else ""


# Krev's metadata: strings and lists; a key with nothing to say is left out, never null.
def product(p: Product) -> dict[str, Any]:
    metadata = {
        k: v
        for k, v in (p.metadata or {}).items()
        if k not in ("filename", "category") and v is not None
    }
    return {
        "id": str(p.id),
        "name": p.name or None,
        "image_url": signed_url(p.original),
        "segmented_image_url": signed_url(p.cutout),
        "category": p.category or None,
        "metadata": metadata,
        "source": p.source,
        "analysis_status": p.analysis_status,
        "analysis_error": p.analysis_error or None,
        "created_at": iso(p.created_at),
    }


def visual_dna(dna: VisualDNA, *, detail: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(dna.id),
        "name": dna.name,
        "dna_type": dna.dna_type,
        "description": dna.description,
        "thumbnail_url": signed_url(services.dna_thumbnail(dna)),
        "images": [signed_url(i) for i in services.dna_images(dna)],
        "created_at": iso(dna.created_at),
        "is_global": dna.is_global,
    }
    if detail:
        body["system_prompt"] = dna.system_prompt
    return body


def moodboard(board: Moodboard, *, detail: bool = False) -> dict[str, Any]:
    pictures = sorted(board.images.all(), key=lambda i: i.pk)
    body: dict[str, Any] = {
        "id": str(board.id),
        "name": board.name,
        "master_prompt": board.master_prompt,
        "thumbnail_url": signed_url(pictures[0]) if pictures else None,
        "images": [signed_url(i) for i in pictures],
        "scope": "preset" if board.is_preset else "personal",
    }
    if detail:
        body["style_guide"] = board.style_guide
        body["created_at"] = iso(board.created_at)
    return body
