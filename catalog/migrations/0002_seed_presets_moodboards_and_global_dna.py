"""Seed what a fresh Studio ships with: the style presets (Krev's `preset_id`), a few preset
moodboards and global Visual DNAs. Their pictures are painted here with Pillow (gradients
and shapes in each board's palette), so the repository carries no binary files."""

import io
import math
import random
import uuid

from django.core.files.base import ContentFile
from django.db import migrations

STYLE_PRESETS = [
    (
        "flat_lay",
        "Flat lay",
        "flat lay composition shot from directly above, neatly arranged on a clean surface, soft even light",
    ),
    (
        "lifestyle",
        "Lifestyle",
        "lifestyle scene in a warm, lived-in home, natural window light, candid and inviting",
    ),
    (
        "studio",
        "Studio",
        "professional studio product shot on a seamless backdrop, softbox lighting, crisp reflections",
    ),
    (
        "outdoor",
        "Outdoor",
        "outdoors in natural daylight, shallow depth of field, fresh greenery in the background",
    ),
    (
        "minimal",
        "Minimal",
        "minimalist set with a single pastel colour, generous negative space, soft shadow",
    ),
    (
        "luxury",
        "Luxury",
        "luxury editorial look on dark marble with gold accents, dramatic low-key lighting",
    ),
    (
        "ugc",
        "UGC",
        "casual user-generated style photo taken on a phone, handheld, authentic everyday setting",
    ),
]

MOODBOARDS = [
    (
        "golden-hour",
        "Golden Hour",
        "Warm low sun, long soft shadows, amber and peach tones, hazy glow, film grain.",
        [(255, 183, 94), (247, 122, 82), (255, 225, 170)],
    ),
    (
        "nordic-calm",
        "Nordic Calm",
        "Muted Scandinavian interiors: pale oak, linen, off-white walls, overcast daylight, quiet symmetry.",
        [(232, 226, 214), (176, 168, 150), (120, 134, 140)],
    ),
    (
        "neon-night",
        "Neon Night",
        "Rain-soaked city at night, magenta and cyan neon, deep shadows, reflections on wet asphalt.",
        [(255, 46, 160), (40, 220, 255), (24, 16, 48)],
    ),
    (
        "botanical",
        "Botanical",
        "Lush greenery, terracotta pots, dappled sunlight through leaves, earthy greens and clay.",
        [(62, 122, 74), (196, 110, 72), (214, 226, 186)],
    ),
]

GLOBAL_DNAS = [
    (
        "a3f1c0de-0000-4000-8000-000000000001",
        "Softbox Studio",
        "style",
        "Clean commercial product photography: seamless light-grey backdrop, large softbox key light, gentle reflections.",
        [(228, 230, 236), (160, 166, 180), (90, 96, 112)],
    ),
    (
        "a3f1c0de-0000-4000-8000-000000000002",
        "Sunlit Terrace",
        "environment",
        "A sunlit stone terrace by the sea with whitewashed walls, olive trees and deep blue sky.",
        [(242, 236, 222), (40, 90, 170), (110, 130, 70)],
    ),
]


def paint(palette, seed, size=512):
    from PIL import Image, ImageDraw, ImageFilter

    rng = random.Random(seed)
    top, bottom, accent = palette
    image = Image.new("RGB", (size, size))
    draw = ImageDraw.Draw(image)
    for y in range(size):
        t = y / (size - 1)
        draw.line(
            [(0, y), (size, y)],
            fill=tuple(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True)),
        )
    layer = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    shapes = ImageDraw.Draw(layer)
    for _ in range(7):
        r = rng.randint(size // 12, size // 4)
        x, y = rng.randint(0, size), rng.randint(0, size)
        colour = rng.choice([top, bottom, accent])
        shapes.ellipse((x - r, y - r, x + r, y + r), fill=(*colour, rng.randint(90, 190)))
    for i in range(3):
        angle = rng.random() * math.pi
        x, y = rng.randint(0, size), rng.randint(0, size)
        dx, dy = math.cos(angle) * size, math.sin(angle) * size
        shapes.line((x - dx, y - dy, x + dx, y + dy), fill=(*accent, 120), width=6 + 4 * i)
    image.paste(
        layer.filter(ImageFilter.GaussianBlur(size / 64)),
        (0, 0),
        layer.filter(ImageFilter.GaussianBlur(size / 64)),
    )
    buffer = io.BytesIO()
    image.save(buffer, "PNG")  # optimize=True made every fresh migrate ~10 s slower
    return buffer.getvalue()


def _image(CatalogImage, data, stem, key, size=512):
    """A shared image (no team: counted against nobody) at a stable path, written once, so
    seeding again (tests re-seed flushed databases) reuses the file instead of piling up."""
    from django.core.files.storage import default_storage

    image_uuid = uuid.uuid5(uuid.NAMESPACE_URL, f"studio-catalog-seed:{key}")
    name = f"catalog/shared/{image_uuid}/{stem}.png"
    if not default_storage.exists(name):
        default_storage.save(name, ContentFile(data))
    image = CatalogImage(
        uuid=image_uuid, mime_type="image/png", size_bytes=len(data), width=size, height=size
    )
    image.file.name = name
    image.save()
    return image


def seed(apps, schema_editor):
    StylePreset = apps.get_model("catalog", "StylePreset")
    Moodboard = apps.get_model("catalog", "Moodboard")
    VisualDNA = apps.get_model("catalog", "VisualDNA")
    CatalogImage = apps.get_model("catalog", "CatalogImage")
    for order, (slug, name, prompt) in enumerate(STYLE_PRESETS):
        StylePreset.objects.update_or_create(
            slug=slug, defaults={"name": name, "prompt": prompt, "sort_order": order}
        )
    for n, (slug, name, guide, palette) in enumerate(MOODBOARDS):
        if Moodboard.objects.filter(team__isnull=True, slug=slug).exists():
            continue
        board = Moodboard.objects.create(
            slug=slug, name=name, style_guide=guide, master_prompt=guide
        )
        board.images.add(
            *[
                _image(
                    CatalogImage,
                    paint(palette[i:] + palette[:i], n * 10 + i),
                    f"image-{i + 1}",
                    f"{slug}-{i}",
                )
                for i in range(3)
            ]
        )
    for n, (pk, name, dna_type, prompt, palette) in enumerate(GLOBAL_DNAS):
        if VisualDNA.objects.filter(pk=pk).exists():
            continue
        dna = VisualDNA.objects.create(
            id=pk,
            name=name,
            dna_type=dna_type,
            prompt_helper=prompt,
            description=f"A global {dna_type} identity shipped with Studio. {prompt}",
            system_prompt=f"Keep the {dna_type} consistent with the Visual DNA \u201c{name}\u201d: {prompt}",
        )
        first = _image(CatalogImage, paint(palette, 100 + n), "image-1", f"{pk}-1")
        thumb = _image(CatalogImage, paint(palette, 100 + n, 384), "thumbnail", f"{pk}-thumb", 384)
        dna.images.add(first, thumb)


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_products_visual_dna_moodboards")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
