"""The catalog: a team's products, Visual DNAs and moodboards, and the images they are made of.

Every stored picture is a `CatalogImage`: one file in Studio's storage, counted against its
team's storage (global DNAs and preset moodboards have no team and count against nobody),
served through signed, expiring links (studio/media.py). Objects refer to their images;
services delete the files with the objects and give the bytes back to the team.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from studio.accounts.models import Team


def image_upload_to(image: CatalogImage, filename: str) -> str:
    owner = image.team.uuid if image.team_id else "shared"  # type: ignore[union-attr]
    return f"catalog/{owner}/{image.uuid}/{filename}"


class CatalogImage(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.CASCADE, related_name="catalog_images"
    )
    file = models.FileField(upload_to=image_upload_to, max_length=300)
    mime_type = models.CharField(max_length=40)
    size_bytes = models.PositiveBigIntegerField(default=0)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    # Content safety of an upload (studio/safety.py): its NSFW score (0-1; None when not
    # scored, e.g. derived images) and whether it was at or over the team's threshold.
    safety_score = models.FloatField(null=True, blank=True)
    flagged = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.file.name or str(self.uuid)


class ProductSource(models.TextChoices):
    API = "api", "API"
    DASHBOARD = "dashboard", "Dashboard"


class AnalysisStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Analysing"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class Product(models.Model):
    """A product photo, its transparent cut-out and what the analysis read from it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="products")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    name = models.CharField(max_length=200, blank=True)
    # True when the uploader named it; the analysis only auto-names unnamed products.
    named_by_user = models.BooleanField(default=False)
    category = models.CharField(max_length=60, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    # The photo is the product: deleting it (or its team) deletes the product.
    original = models.ForeignKey(CatalogImage, on_delete=models.CASCADE, related_name="+")
    cutout = models.ForeignKey(
        CatalogImage, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source = models.CharField(max_length=12, choices=ProductSource.choices)
    skip_segmentation = models.BooleanField(default=False)
    analysis_status = models.CharField(
        max_length=10, choices=AnalysisStatus.choices, default=AnalysisStatus.QUEUED
    )
    analysis_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            # The whole ordering, tie-breaker included: pages read it without sorting.
            models.Index(fields=["team", "-created_at", "-id"], name="product_team_recent"),
            # The catalog page's category filter and its list of categories.
            models.Index(fields=["team", "category"], name="product_team_category"),
        ]

    def __str__(self) -> str:
        return self.name or str(self.id)

    @property
    def is_analysing(self) -> bool:
        return self.analysis_status in (AnalysisStatus.QUEUED, AnalysisStatus.RUNNING)

    @property
    def reference_image(self) -> CatalogImage:
        """What generation uses: the cut-out, or the photo when there is none (yet)."""
        return self.cutout or self.original


class DnaType(models.TextChoices):
    CHARACTER = "character", "Character"
    PRODUCT = "product", "Product"
    STYLE = "style", "Style"
    ENVIRONMENT = "environment", "Environment"
    SCENE = "scene", "Scene"


class VisualDNA(models.Model):
    """A reusable visual identity: 1-4 reference images and the prompt text they stand for.

    Global ones (no team) ship with Studio; every team can use them and nobody can delete them.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.CASCADE, related_name="visual_dnas"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    name = models.CharField(max_length=100)
    dna_type = models.CharField(max_length=12, choices=DnaType.choices)
    prompt_helper = models.CharField(max_length=1000, blank=True)
    description = models.TextField(blank=True)
    system_prompt = models.TextField(blank=True)
    images = models.ManyToManyField(CatalogImage, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "Visual DNA"
        verbose_name_plural = "Visual DNAs"

    def __str__(self) -> str:
        return self.name

    @property
    def is_global(self) -> bool:
        return self.team_id is None


class Moodboard(models.Model):
    """A style template: images and a style guide. Presets (no team) ship with Studio."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.CASCADE, related_name="moodboards"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    slug = models.SlugField(max_length=60, blank=True)  # presets only: a stable seed key
    name = models.CharField(max_length=100)
    master_prompt = models.TextField(blank=True)
    style_guide = models.TextField(blank=True)
    images = models.ManyToManyField(CatalogImage, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_preset(self) -> bool:
        return self.team_id is None


class StylePreset(models.Model):
    """A Krev `preset_id` (flat_lay, lifestyle, studio, outdoor, …): prompt text it adds."""

    slug = models.SlugField(max_length=40, primary_key=True)
    name = models.CharField(max_length=60)
    prompt = models.CharField(max_length=400)
    sort_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["sort_order", "slug"]

    def __str__(self) -> str:
        return self.name
