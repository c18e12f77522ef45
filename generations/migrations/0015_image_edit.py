"""Seed the image edit models: the offline editor, fal's FLUX Kontext, OpenAI's image edits.

Listed under `GET /models?type=image_edit` (and the raw `image_editing`). The offline editor
is recommended so Smart Select works on a fresh install; the upstream ones count for a team
once it has a credential for their provider. `max_source_images` caps `source_images`.
"""

from django.db import migrations

RATIOS = ["1:1", "16:9", "9:16", "4:3", "3:4", "4:5", "5:4", "3:2", "2:3", "21:9"]
KONTEXT = ["21:9", "16:9", "4:3", "3:2", "1:1", "2:3", "3:4", "9:16"]


def edit(identifier, name, provider, upstream, credit, *, ratios, sources, max_images=4,
         recommended=False, order=220, description=""):  # fmt: skip
    return {
        "identifier": identifier,
        "name": name,
        "provider": provider,
        "upstream_model": upstream,
        "types": ["image_edit"],
        "pricing_unit": "per_image",
        "credit": credit,
        "supported_aspect_ratios": ratios,
        "max_reference_images": 0,
        "params": {"max_images": max_images, "max_source_images": sources},
        "recommended": recommended,
        "sort_order": order,
        "description": description,
    }


MODELS = [
    edit("studio-local/image-edit", "Studio Offline Image Edit", "local", "", 40,
         ratios=RATIOS, sources=4, recommended=True, order=15,
         description="Offline editor: recolour, relight, restyle or replace the background, "
                     "as the instruction says."),
    edit("fal-ai/flux-pro/kontext", "FLUX.1 Kontext [pro] (fal.ai)", "fal",
         "fal-ai/flux-pro/kontext", 40, ratios=KONTEXT, sources=1,
         description="Edits one image from a text instruction."),
    edit("fal-ai/flux-pro/kontext/max/multi", "FLUX.1 Kontext [max] multi-image (fal.ai)",
         "fal", "fal-ai/flux-pro/kontext/max/multi", 80, ratios=KONTEXT, sources=4, order=221,
         description="Combines and edits up to four images from a text instruction."),
    edit("openai/gpt-image-1-edit", "GPT Image 1 edits (OpenAI)", "openai", "gpt-image-1", 60,
         ratios=["1:1", "3:2", "2:3"], sources=4, order=222,
         description="OpenAI's image edits endpoint, up to four source images."),
]  # fmt: skip


def seed(apps, schema_editor):
    AIModel = apps.get_model("generations", "AIModel")
    for spec in MODELS:
        spec = dict(spec)
        identifier = spec.pop("identifier")
        AIModel.objects.update_or_create(identifier=identifier, defaults={**spec, "enabled": True})


def unseed(apps, schema_editor):
    identifiers = [m["identifier"] for m in MODELS]
    AIModel = apps.get_model("generations", "AIModel")
    # Models that generations already point at (PROTECT) are disabled instead of deleted.
    used = set(
        apps.get_model("generations", "Generation")
        .objects.filter(model__identifier__in=identifiers)
        .values_list("model__identifier", flat=True)
    )
    AIModel.objects.filter(identifier__in=used).update(enabled=False)
    AIModel.objects.filter(identifier__in=identifiers).exclude(identifier__in=used).delete()


class Migration(migrations.Migration):
    dependencies = [("generations", "0014_ads")]
    operations = [migrations.RunPython(seed, unseed)]
