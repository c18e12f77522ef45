"""Seed the offline engine's models and voices so a fresh install can generate everything."""

from django.db import migrations

RATIOS = ["1:1", "16:9", "9:16", "4:3", "3:4", "4:5", "3:2", "2:3", "21:9"]

MODELS = [
    {
        "identifier": "studio-local/image",
        "name": "Studio Offline Image",
        "description": "Offline engine: procedural images shaped by the prompt. No upstream needed.",
        "types": ["image"],
        "pricing_unit": "per_image",
        "credit": 40,
        "supported_aspect_ratios": RATIOS,
        "max_reference_images": 4,
        "params": {"max_images": 4, "hd_multiplier": 2},
        "recommended": True,
        "sort_order": 10,
    },
    {
        "identifier": "studio-local/video",
        "name": "Studio Offline Video",
        "description": "Offline engine: H.264 video from text, or an animated source image.",
        "types": ["video", "video_from_image"],
        "pricing_unit": "per_second",
        "credit": 80,
        "supported_aspect_ratios": ["16:9", "9:16", "1:1", "4:3", "3:4"],
        "supported_durations": list(range(4, 16)),
        "max_reference_images": 1,
        "params": {},
        "recommended": True,
        "sort_order": 20,
    },
    {
        "identifier": "studio-local/music",
        "name": "Studio Offline Music",
        "description": "Offline engine: synthesized music; tempo, mood and instruments from the prompt.",
        "types": ["music"],
        "pricing_unit": "flat",
        "credit": 60,
        "supported_durations": [],
        "params": {"min_duration": 5, "max_duration": 120, "default_duration": 30},
        "recommended": True,
        "sort_order": 30,
    },
    {
        "identifier": "studio-local/speech",
        "name": "Studio Offline Speech",
        "description": "Offline engine: speech synthesized on this machine with eSpeak NG.",
        "types": ["speech"],
        "pricing_unit": "per_100_chars",
        "credit": 2,
        "params": {"max_chars": 5000},
        "recommended": True,
        "sort_order": 40,
    },
    {
        "identifier": "studio-local/sound",
        "name": "Studio Offline Sound Effects",
        "description": "Offline engine: synthesized sound effects shaped by the prompt.",
        "types": ["sound"],
        "pricing_unit": "flat",
        "credit": 10,
        "params": {"min_duration": 1, "max_duration": 30, "default_duration": 5},
        "recommended": True,
        "sort_order": 50,
    },
    {
        "identifier": "studio-local/chat",
        "name": "Studio Offline Chat",
        "description": "Offline engine: a small rule-based assistant for trying the chat API.",
        "types": ["chat"],
        "pricing_unit": "flat",
        "credit": 1,
        "params": {},
        "recommended": True,
        "sort_order": 60,
    },
]

VOICES = [
    # voice_id, name, language, language_code, gender, accent
    ("en-us-f", "Ava", "English", "en-US", "female", "American"),
    ("en-us-m", "Noah", "English", "en-US", "male", "American"),
    ("en-gb-f", "Isla", "English", "en-GB", "female", "British"),
    ("en-gb-m", "Oliver", "English", "en-GB", "male", "British"),
    ("es-es-f", "Lucia", "Spanish", "es-ES", "female", "Castilian"),
    ("fr-fr-m", "Louis", "French", "fr-FR", "male", "Parisian"),
    ("de-de-f", "Mia", "German", "de-DE", "female", "Standard"),
    ("it-it-m", "Marco", "Italian", "it-IT", "male", "Standard"),
]


def seed(apps, schema_editor):
    AIModel = apps.get_model("generations", "AIModel")
    Voice = apps.get_model("generations", "Voice")
    for spec in MODELS:
        spec = dict(spec)
        identifier = spec.pop("identifier")
        AIModel.objects.update_or_create(
            identifier=identifier,
            defaults={**spec, "provider": "local", "upstream_model": identifier},
        )
    for voice_id, name, language, code, gender, accent in VOICES:
        Voice.objects.update_or_create(
            provider="local",
            voice_id=voice_id,
            defaults={
                "name": name,
                "language": language,
                "language_code": code,
                "gender": gender,
                "accent": accent,
                "styles": ["neutral"],
            },
        )


def unseed(apps, schema_editor):
    apps.get_model("generations", "AIModel").objects.filter(provider="local").delete()
    apps.get_model("generations", "Voice").objects.filter(provider="local").delete()


class Migration(migrations.Migration):
    dependencies = [("generations", "0001_model_registry")]
    operations = [migrations.RunPython(seed, unseed)]
