"""Validation of generation requests, shared by both API dialects and the dashboard.

Input is a plain dict in Studio's canonical field names (the dialect layers rename their
fields first). Output is a normalised dict that the pricing, the engine and the providers
read. Every rejection names the field (in its message, and as `field` for the dashboard's
forms) and uses the contract's error codes.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlparse

from generations.models import AIModel, GenerationType, Voice
from studio.errors import InvalidFields, MissingFields

MAX_PROMPT_CHARS = 4000
ASPECT_RATIOS = ["1:1", "16:9", "9:16", "4:3", "3:4", "4:5", "5:4", "3:2", "2:3", "21:9"]
VOCAL_GENDERS = {"m": "m", "male": "m", "f": "f", "female": "f"}
AUDIO_MODES = ["auto", "off", "native"]


# --- field readers ----------------------------------------------------------------------------


def _text(raw: dict[str, Any], name: str, *, required: bool = False, max_len: int = 4000) -> str:
    value = raw.get(name)
    if value is None or value == "":
        if required:
            raise MissingFields.of(name)
        return ""
    if not isinstance(value, str):
        raise InvalidFields.about(name, "must be a string")
    if "\x00" in value:
        raise InvalidFields.about(name, "may not contain NUL characters")
    value = value.strip()
    if required and not value:
        raise MissingFields.of(name)
    if len(value) > max_len:
        raise InvalidFields.about(name, f"is too long ({len(value)} characters; at most {max_len})")
    return value


def _bool(raw: dict[str, Any], name: str, default: bool) -> bool:
    value = raw.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "1", "on", "yes"}:
        return True
    if isinstance(value, str) and value.lower() in {"false", "0", "off", "no"}:
        return False
    raise InvalidFields.about(name, "must be true or false")


def _int(raw: dict[str, Any], name: str, default: int | None, *, lo: int, hi: int) -> int | None:
    value = raw.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise InvalidFields.about(name, "must be an integer")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if not isinstance(value, int):
        raise InvalidFields.about(name, "must be an integer")
    if not lo <= value <= hi:
        raise InvalidFields.about(name, f"must be between {lo} and {hi}")
    return value


def _choice(raw: dict[str, Any], name: str, default: str, allowed: list[str]) -> str:
    value = raw.get(name)
    if value is None or value == "":
        return default
    if not isinstance(value, str) or value not in allowed:
        raise InvalidFields.about(name, f"must be one of: {', '.join(allowed)}")
    return value


ASSET_REF = re.compile(r"^studio-asset:[0-9a-f-]{36}/(file|thumb)$")


def _url(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidFields.about(name, "must be a URL")
    value = value.strip()
    if value.startswith("data:image/"):
        return value
    if ASSET_REF.match(value):  # one of the team's own results, as stored by a re-run
        return value
    if len(value) > 4096:
        raise InvalidFields.about(name, "is too long")
    if any(ord(ch) < 32 or ch == "\x7f" for ch in value):
        raise InvalidFields.about(name, "may not contain control characters")
    try:
        parsed = urlparse(value)
        parsed.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise InvalidFields.about(name, "is not a valid URL") from None
    if parsed.scheme not in {"http", "https"} or not parsed.hostname:
        raise InvalidFields.about(name, "must be an http(s) URL or a data:image URL")
    return value


def _url_list(raw: dict[str, Any], name: str, *, max_items: int) -> list[str]:
    value = raw.get(name)
    if value in (None, "", []):
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise InvalidFields.about(name, "must be a list of URLs")
    if len(value) > max_items:
        raise InvalidFields.about(name, f"takes at most {max_items} item(s)")
    return [_url(v, name) for v in value]


def _id_list(raw: dict[str, Any], name: str, *, max_items: int) -> list[str]:
    value = raw.get(name)
    if value in (None, "", []):
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
        raise InvalidFields.about(name, "must be a list of ids")
    if any(isinstance(v, str) and ("\x00" in v or len(v) > 100) for v in value):
        raise InvalidFields.about(name, "holds an id that is not valid")
    if len(value) > max_items:
        raise InvalidFields.about(name, f"takes at most {max_items} item(s)")
    return [str(v) for v in value]


def _aspect(raw: dict[str, Any], model: AIModel, default: str) -> str:
    allowed = list(model.supported_aspect_ratios or ASPECT_RATIOS)
    if default not in allowed:
        default = allowed[0]
    return _choice(raw, "aspect_ratio", default, allowed)


def _seed(raw: dict[str, Any]) -> int | None:
    return _int(raw, "seed", None, lo=0, hi=2**31 - 1)


# --- per type ---------------------------------------------------------------------------------


def _image(raw: dict[str, Any], model: AIModel) -> dict[str, Any]:
    max_images = int((model.params or {}).get("max_images", 4))
    count = _int(raw, "count", 1, lo=1, hi=max_images)
    return {
        "prompt": _text(raw, "prompt", required=True, max_len=MAX_PROMPT_CHARS),
        "aspect_ratio": _aspect(raw, model, "1:1"),
        "count": count,
        "hd": _bool(raw, "hd", False),
        "enhance_prompt": _bool(raw, "enhance_prompt", True),
        "reference_images": _url_list(
            raw, "reference_images", max_items=max(model.max_reference_images, 0)
        ),
        "visual_dna_ids": _id_list(raw, "visual_dna_ids", max_items=3),
        "moodboard_id": _text(raw, "moodboard_id", max_len=64) or None,
        "product_ids": _id_list(raw, "product_ids", max_items=4),
        "preset_id": _text(raw, "preset_id", max_len=64) or None,
        "seed": _seed(raw),
    }


MAX_SOURCE_IMAGES = 4


def _source_images(raw: dict[str, Any], most: int) -> list[str]:
    """The images to edit: 1 to `most` URLs (an empty list is refused, not defaulted)."""
    value = raw.get("source_images")
    if value is None or value == "":
        raise MissingFields.of("source_images")
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise InvalidFields.about("source_images", "must be a list of image URLs")
    if not 1 <= len(value) <= most:
        raise InvalidFields.about(
            "source_images", f"takes 1 to {most} image(s); it has {len(value)}"
        )
    return [_url(v, "source_images") for v in value]


def _image_edit(raw: dict[str, Any], model: AIModel) -> dict[str, Any]:
    extra = model.params or {}
    most = min(int(extra.get("max_source_images", MAX_SOURCE_IMAGES)), MAX_SOURCE_IMAGES)
    aspect = raw.get("aspect_ratio")
    return {
        "prompt": _text(raw, "prompt", required=True, max_len=MAX_PROMPT_CHARS),
        "source_images": _source_images(raw, most),
        # None keeps the (first) source's own aspect ratio.
        "aspect_ratio": _aspect(raw, model, "1:1") if aspect not in (None, "") else None,
        "count": _int(raw, "count", 1, lo=1, hi=int(extra.get("max_images", 4))),
        "enhance_prompt": _bool(raw, "enhance_prompt", True),
        "visual_dna_ids": _id_list(raw, "visual_dna_ids", max_items=3),
        "moodboard_id": _text(raw, "moodboard_id", max_len=64) or None,
        "seed": _seed(raw),
    }


def _duration(raw: dict[str, Any], model: AIModel, default: int) -> int:
    allowed = [int(d) for d in (model.supported_durations or [])]
    params = model.params or {}
    lo = min(allowed) if allowed else int(params.get("min_duration", 1))
    hi = max(allowed) if allowed else int(params.get("max_duration", 60))
    default = default if lo <= default <= hi else lo
    value = _int(raw, "duration", default, lo=lo, hi=hi)
    assert value is not None
    if allowed and value not in allowed:
        raise InvalidFields.about("duration", f"must be one of: {', '.join(map(str, allowed))}")
    return value


def _video(raw: dict[str, Any], model: AIModel, *, from_image: bool) -> dict[str, Any]:
    image_url = raw.get("image_url")
    if from_image and not image_url:
        raise MissingFields.of("image_url")
    return {
        "prompt": _text(raw, "prompt", required=not from_image, max_len=MAX_PROMPT_CHARS),
        "aspect_ratio": _aspect(raw, model, "16:9"),
        "duration": _duration(raw, model, 5),
        "image_url": _url(image_url, "image_url") if image_url else None,
        "reference_images": _url_list(
            raw, "reference_images", max_items=max(model.max_reference_images, 0)
        ),
        "audio_mode": _choice(raw, "audio_mode", "auto", AUDIO_MODES),
        "enhance_prompt": _bool(raw, "enhance_prompt", True),
        "visual_dna_ids": _id_list(raw, "visual_dna_ids", max_items=3),
        "product_ids": _id_list(raw, "product_ids", max_items=4),
        "preset_id": _text(raw, "preset_id", max_len=64) or None,
        "hd": _bool(raw, "hd", False),
        "seed": _seed(raw),
    }


def _music(raw: dict[str, Any], model: AIModel) -> dict[str, Any]:
    gender = raw.get("vocal_gender")
    if gender not in (None, ""):
        if not isinstance(gender, str) or gender.lower() not in VOCAL_GENDERS:
            raise InvalidFields.about("vocal_gender", "must be one of: m, f, male, female")
        gender = VOCAL_GENDERS[gender.lower()]
    default = int((model.params or {}).get("default_duration", 30))
    return {
        "prompt": _text(raw, "prompt", required=True, max_len=MAX_PROMPT_CHARS),
        "style": _text(raw, "style", max_len=200),
        "instrumental": _bool(raw, "instrumental", False),
        "lyrics": _text(raw, "lyrics", max_len=5000),
        "vocal_gender": gender or "",
        "duration": _duration(raw, model, default),
        "enhance_prompt": _bool(raw, "enhance_prompt", True),
        "seed": _seed(raw),
    }


def _speech(raw: dict[str, Any], model: AIModel) -> dict[str, Any]:
    max_chars = int((model.params or {}).get("max_chars", 5000))
    text = _text(raw, "text", required=True, max_len=max_chars)
    voices = Voice.objects.filter(provider=model.provider, enabled=True)
    voice_id = raw.get("voice")
    language = _text(raw, "language", max_len=20) or "en-US"
    if voice_id in (None, ""):
        voice = voices.filter(language_code__iexact=language).first() or voices.first()
        if voice is None:
            raise InvalidFields("This model has no voices; pick another model", field="model")
    else:
        if not isinstance(voice_id, str):
            raise InvalidFields.about("voice", "must be a string")
        # A voice_id, or a voice's name as Kolbo's docs write it ("Oliver").
        voice = (
            voices.filter(voice_id=voice_id).first()
            or voices.filter(name__iexact=voice_id.strip()).first()
        )
        if voice is None:
            raise InvalidFields(
                f"Unknown voice {voice_id!r} for this model; list voices with GET /api/v1/voices",
                field="voice",
            )
    return {"text": text, "voice": voice.voice_id, "language": voice.language_code}


def _sound(raw: dict[str, Any], model: AIModel) -> dict[str, Any]:
    params = model.params or {}
    lo, hi = int(params.get("min_duration", 1)), int(params.get("max_duration", 30))
    auto = raw.get("duration") in (None, "", "auto")
    duration = None if auto else _int(raw, "duration", None, lo=lo, hi=hi)
    return {
        "prompt": _text(raw, "prompt", required=True, max_len=MAX_PROMPT_CHARS),
        "duration": duration,
        "seed": _seed(raw),
    }


def _ad(raw: dict[str, Any], model: AIModel) -> dict[str, Any]:
    from generations.ads import styles

    brief = _text(raw, "brief", required=True, max_len=2000)
    product_ids = _id_list(raw, "product_ids", max_items=4)
    if not product_ids:
        raise MissingFields.of("product_ids")
    inspiration = raw.get("inspiration_image")
    return {
        "brief": brief,
        # The scene's prompt starts from the brief; the stored prompt is the brief.
        "prompt": brief,
        "product_ids": product_ids,
        "aspect_ratio": _choice(
            raw, "aspect_ratio", styles.DEFAULT_ASPECT_RATIO, list(styles.ASPECT_RATIOS)
        ),
        "count": _int(raw, "count", 1, lo=1, hi=int((model.params or {}).get("max_images", 4))),
        "style_id": _choice(raw, "style_id", styles.DEFAULT_STYLE, styles.style_ids()),
        "inspiration_image": _url(inspiration, "inspiration_image") if inspiration else None,
        "brand_context": _text(raw, "brand_context", max_len=1000),
        "seed": _seed(raw),
    }


def labels(raw: dict[str, Any]) -> dict[str, str]:
    """`session_id` and `project_id`: free labels a client groups its jobs by (stored, echoed,
    filterable); only the ones sent."""
    given = {name: _text(raw, name, max_len=120) for name in LABELS}
    return {name: value for name, value in given.items() if value}


LABELS = ("session_id", "project_id")


def validate(generation_type: str, raw: dict[str, Any], model: AIModel) -> dict[str, Any]:
    return {**_validate(generation_type, raw, model), **labels(raw)}


def _validate(generation_type: str, raw: dict[str, Any], model: AIModel) -> dict[str, Any]:
    if generation_type == GenerationType.AD:
        return _ad(raw, model)
    if generation_type == GenerationType.IMAGE:
        return _image(raw, model)
    if generation_type == GenerationType.IMAGE_EDIT:
        return _image_edit(raw, model)
    if generation_type == GenerationType.VIDEO:
        return _video(raw, model, from_image=False)
    if generation_type == GenerationType.VIDEO_FROM_IMAGE:
        return _video(raw, model, from_image=True)
    if generation_type == GenerationType.MUSIC:
        return _music(raw, model)
    if generation_type == GenerationType.SPEECH:
        return _speech(raw, model)
    if generation_type == GenerationType.SOUND:
        return _sound(raw, model)
    raise InvalidFields(f"Unknown generation type {generation_type!r}", field="type")


def prompt_of(generation_type: str, params: dict[str, Any]) -> str:
    key = "text" if generation_type == GenerationType.SPEECH else "prompt"
    return str(params.get(key) or "")
