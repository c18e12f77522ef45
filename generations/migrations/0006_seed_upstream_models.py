"""Seed real upstream models (fal.ai, OpenAI-compatible, Replicate, Kolbo, Krev) and their voices.

All enabled but not recommended: Smart Select keeps preferring the offline engine until an
operator changes it, and a model whose provider has no usable credential for a team is
hidden from that team by the model list. Prices are credits (Studio's unit), set near the
offline defaults and scaled by what each upstream charges; admins edit them in the admin.
"""

from django.db import migrations

ALL = ["1:1", "16:9", "9:16", "4:3", "3:4", "4:5", "5:4", "3:2", "2:3", "21:9"]
KLING = ["16:9", "9:16", "1:1"]
KREV = ["1:1", "16:9", "9:16", "4:3", "3:4"]


def image(identifier, name, provider, upstream, credit, *, ratios=ALL, max_images=4, refs=0,
          hd=2, order=200, description=""):  # fmt: skip
    return {
        "identifier": identifier,
        "name": name,
        "provider": provider,
        "upstream_model": upstream,
        "types": ["image"],
        "pricing_unit": "per_image",
        "credit": credit,
        "supported_aspect_ratios": ratios,
        "max_reference_images": refs,
        "params": {"max_images": max_images, "hd_multiplier": hd},
        "sort_order": order,
        "description": description,
    }


def video(identifier, name, provider, upstream, credit, types, *, ratios=KLING,
          durations=(5, 10), order=210, description=""):  # fmt: skip
    return {
        "identifier": identifier,
        "name": name,
        "provider": provider,
        "upstream_model": upstream,
        "types": list(types),
        "pricing_unit": "per_second",
        "credit": credit,
        "supported_aspect_ratios": ratios,
        "supported_durations": list(durations),
        "max_reference_images": 1 if "video_from_image" in types else 0,
        "params": {},
        "sort_order": order,
        "description": description,
    }


def flat(identifier, name, provider, upstream, credit, kind, params, *, order=230,
         description=""):  # fmt: skip
    return {
        "identifier": identifier,
        "name": name,
        "provider": provider,
        "upstream_model": upstream,
        "types": [kind],
        "pricing_unit": "flat",
        "credit": credit,
        "params": params,
        "sort_order": order,
        "description": description,
    }


def speech(identifier, name, provider, upstream, credit, *, order=240, description=""):
    return {
        "identifier": identifier,
        "name": name,
        "provider": provider,
        "upstream_model": upstream,
        "types": ["speech"],
        "pricing_unit": "per_100_chars",
        "credit": credit,
        "params": {"max_chars": 4000},
        "sort_order": order,
        "description": description,
    }


MODELS = [
    # fal.ai queue API
    image("fal-ai/flux/schnell", "FLUX.1 [schnell] (fal.ai)", "fal", "fal-ai/flux/schnell", 10,
          description="Fast FLUX text-to-image in 1-4 steps."),
    image("fal-ai/flux/dev", "FLUX.1 [dev] (fal.ai)", "fal", "fal-ai/flux/dev", 30,
          order=201, description="FLUX.1 [dev]: higher quality text-to-image."),
    image("fal-ai/flux-pro/v1.1-ultra", "FLUX1.1 [pro] ultra (fal.ai)", "fal",
          "fal-ai/flux-pro/v1.1-ultra", 60, max_images=1, hd=1,
          ratios=["21:9", "16:9", "4:3", "3:2", "1:1", "2:3", "3:4", "9:16"], order=202,
          description="Up to 4 megapixel images from FLUX1.1 [pro] ultra."),
    video("fal-ai/kling-video/v2.1/standard/text-to-video", "Kling 2.1 text-to-video (fal.ai)",
          "fal", "fal-ai/kling-video/v2.1/standard/text-to-video", 50, ["video"]),
    video("fal-ai/kling-video/v2.1/standard/image-to-video", "Kling 2.1 image-to-video (fal.ai)",
          "fal", "fal-ai/kling-video/v2.1/standard/image-to-video", 50, ["video_from_image"],
          order=211),
    flat("fal-ai/stable-audio", "Stable Audio Open (fal.ai)", "fal", "fal-ai/stable-audio", 30,
         "music", {"min_duration": 5, "max_duration": 47, "default_duration": 30}),
    flat("fal-ai/mmaudio-v2/text-to-audio", "MMAudio V2 sound effects (fal.ai)", "fal",
         "fal-ai/mmaudio-v2/text-to-audio", 10, "sound",
         {"min_duration": 1, "max_duration": 30, "default_duration": 8}, order=250),
    speech("fal-ai/kokoro/american-english", "Kokoro TTS, American English (fal.ai)", "fal",
           "fal-ai/kokoro/american-english", 1),
    # OpenAI-compatible
    image("openai/gpt-image-1", "GPT Image 1 (OpenAI)", "openai", "gpt-image-1", 60,
          ratios=["1:1", "3:2", "2:3"], order=203),
    image("openai/dall-e-3", "DALL·E 3 (OpenAI)", "openai", "dall-e-3", 50,
          ratios=["1:1", "16:9", "9:16"], max_images=1, order=204),
    speech("openai/tts-1", "TTS-1 (OpenAI)", "openai", "tts-1", 1, order=241),
    speech("openai/tts-1-hd", "TTS-1 HD (OpenAI)", "openai", "tts-1-hd", 2, order=242),
    flat("openai/gpt-4o-mini", "GPT-4o mini (OpenAI)", "openai", "gpt-4o-mini", 1, "chat", {},
         order=260),
    # Replicate predictions
    image("replicate/black-forest-labs/flux-schnell", "FLUX.1 [schnell] (Replicate)",
          "replicate", "black-forest-labs/flux-schnell", 10, order=205),
    image("replicate/black-forest-labs/flux-dev", "FLUX.1 [dev] (Replicate)", "replicate",
          "black-forest-labs/flux-dev", 30, order=206),
    video("replicate/kwaivgi/kling-v1.6-standard", "Kling 1.6 standard (Replicate)",
          "replicate", "kwaivgi/kling-v1.6-standard", 50, ["video", "video_from_image"],
          order=212),
    flat("replicate/minimax/music-1.5", "MiniMax Music 1.5 (Replicate)", "replicate",
         "minimax/music-1.5", 40, "music",
         {"min_duration": 10, "max_duration": 240, "default_duration": 60}, order=231),
    speech("replicate/minimax/speech-02-turbo", "MiniMax Speech-02 Turbo (Replicate)",
           "replicate", "minimax/speech-02-turbo", 1, order=243),
    # Kolbo (Studio fronting a Kolbo account; "auto" is Kolbo's Smart Select)
    image("kolbo/auto-image", "Kolbo Smart Select image", "kolbo", "auto", 40, refs=4, hd=1,
          order=207),
    video("kolbo/auto-video", "Kolbo Smart Select video", "kolbo", "auto", 80,
          ["video", "video_from_image"], ratios=["16:9", "9:16", "1:1"], order=213),
    flat("kolbo/auto-music", "Kolbo Smart Select music", "kolbo", "auto", 60, "music",
         {"min_duration": 10, "max_duration": 240, "default_duration": 30}, order=232),
    flat("kolbo/auto-sound", "Kolbo Smart Select sound effects", "kolbo", "auto", 10, "sound",
         {"min_duration": 1, "max_duration": 30, "default_duration": 5}, order=251),
    # Krev (Studio fronting a Krev account)
    image("krev/image", "Krev product image", "krev", "krev-image", 40, ratios=KREV, refs=4,
          order=208, description="Krev product images: 1, 2 or 4 per request."),
    video("krev/video", "Krev product video", "krev", "krev-video", 80,
          ["video", "video_from_image"], ratios=KREV, durations=range(4, 16), order=214),
]  # fmt: skip

VOICES = [
    # provider, voice_id, name, language, language_code, gender, accent
    ("fal", "af_heart", "Heart", "English", "en-US", "female", "American"),
    ("fal", "af_bella", "Bella", "English", "en-US", "female", "American"),
    ("fal", "am_adam", "Adam", "English", "en-US", "male", "American"),
    ("fal", "am_michael", "Michael", "English", "en-US", "male", "American"),
    ("openai", "alloy", "Alloy", "English", "en-US", "neutral", ""),
    ("openai", "echo", "Echo", "English", "en-US", "male", ""),
    ("openai", "fable", "Fable", "English", "en-GB", "male", "British"),
    ("openai", "onyx", "Onyx", "English", "en-US", "male", ""),
    ("openai", "nova", "Nova", "English", "en-US", "female", ""),
    ("openai", "shimmer", "Shimmer", "English", "en-US", "female", ""),
    ("replicate", "Wise_Woman", "Wise Woman", "English", "en-US", "female", ""),
    ("replicate", "Friendly_Person", "Friendly Person", "English", "en-US", "neutral", ""),
    ("replicate", "Deep_Voice_Man", "Deep Voice Man", "English", "en-US", "male", ""),
    ("replicate", "Calm_Woman", "Calm Woman", "English", "en-US", "female", ""),
    ("replicate", "Casual_Guy", "Casual Guy", "English", "en-US", "male", ""),
]
PROVIDERS = ["fal", "openai", "replicate", "kolbo", "krev"]


def seed(apps, schema_editor):
    AIModel = apps.get_model("generations", "AIModel")
    Voice = apps.get_model("generations", "Voice")
    for spec in MODELS:
        spec = dict(spec)
        identifier = spec.pop("identifier")
        AIModel.objects.update_or_create(
            identifier=identifier,
            defaults={**spec, "enabled": True, "recommended": False},
        )
    for provider, voice_id, name, language, code, gender, accent in VOICES:
        Voice.objects.update_or_create(
            provider=provider,
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
    apps.get_model("generations", "Voice").objects.filter(provider__in=PROVIDERS).delete()


class Migration(migrations.Migration):
    dependencies = [("generations", "0005_generation_credential")]
    operations = [migrations.RunPython(seed, unseed)]
