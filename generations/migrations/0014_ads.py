"""Ads: an Asset's role (an ad image without its text layer is kept, role `plain`, for
re-editing) and the offline ad maker in the registry, priced 40 credits per ad image (data an
admin can edit, like every price). Ad styles are code data (generations/ads/styles.py)."""

from django.db import migrations, models

MODEL = {
    "identifier": "studio-local/ads",
    "name": "Studio Ads (offline)",
    "description": "Finished ad creatives: the product's cut-out in a scene with the copy set "
    "on it (hook, headline, body, CTA) for 1:1, 4:5 or 9:16.",
    "provider": "local",
    "upstream_model": "",
    "types": ["ad"],
    "pricing_unit": "per_image",
    "credit": 40,
    "supported_aspect_ratios": ["1:1", "4:5", "9:16"],
    "max_reference_images": 0,
    "params": {"max_images": 4},
    "recommended": True,
    "sort_order": 16,
}


def seed(apps, schema_editor):
    AIModel = apps.get_model("generations", "AIModel")
    spec = dict(MODEL)
    identifier = spec.pop("identifier")
    AIModel.objects.update_or_create(identifier=identifier, defaults={**spec, "enabled": True})


def unseed(apps, schema_editor):
    AIModel = apps.get_model("generations", "AIModel")
    Generation = apps.get_model("generations", "Generation")
    if Generation.objects.filter(model__identifier=MODEL["identifier"]).exists():
        AIModel.objects.filter(identifier=MODEL["identifier"]).update(enabled=False)
    else:
        AIModel.objects.filter(identifier=MODEL["identifier"]).delete()


class Migration(migrations.Migration):
    dependencies = [("generations", "0013_creative_director")]

    operations = [
        migrations.AddField(
            model_name="asset",
            name="role",
            field=models.CharField(
                choices=[("output", "Output"), ("plain", "Without text (for re-editing)")],
                default="output",
                max_length=10,
            ),
        ),
        migrations.RunPython(seed, unseed),
    ]
