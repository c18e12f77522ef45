"""Reading a prompt: which words it uses, and the palette and scene they suggest."""

from __future__ import annotations

import colorsys
import re
from dataclasses import dataclass

from .media import stable_int

RGB = tuple[float, float, float]  # 0.0-1.0

_WORD = re.compile(r"[a-z0-9']+")


def words(text: str) -> set[str]:
    """Lower-case words of `text`, with a plain plural 's' also stripped (waves -> wave)."""
    found = set(_WORD.findall(text.lower()))
    return found | {w[:-1] for w in found if len(w) > 3 and w.endswith("s")}


def has(ws: set[str], *keys: str) -> bool:
    return any(k in ws for k in keys)


def hexrgb(code: str) -> RGB:
    code = code.lstrip("#")
    return (int(code[0:2], 16) / 255, int(code[2:4], 16) / 255, int(code[4:6], 16) / 255)


# Each theme: sky top, sky middle, horizon glow, accent, deep shadow.
THEMES: list[tuple[tuple[str, ...], tuple[str, ...]]] = [
    (
        ("sunset", "sunrise", "dusk", "dawn", "golden", "evening", "warm"),
        ("#2b1055", "#d53369", "#ffb347", "#ff7e5f", "#1a0b2e"),
    ),
    (
        ("neon", "cyber", "cyberpunk", "synthwave", "futuristic", "retro", "vaporwave"),
        ("#0f0c29", "#5b1a8a", "#ff2e97", "#00f0ff", "#05030f"),
    ),
    (
        ("fire", "lava", "volcano", "flame", "inferno", "ember", "burning", "dragon"),
        ("#1a0000", "#8b0000", "#ff4500", "#ffc300", "#0d0000"),
    ),
    (
        ("snow", "winter", "ice", "frost", "arctic", "glacier", "frozen", "christmas"),
        ("#5b7ea6", "#b8d0ec", "#f4f9ff", "#7fb3d5", "#2c3e5a"),
    ),
    (
        ("ocean", "sea", "water", "beach", "wave", "lake", "river", "underwater", "coast"),
        ("#03254c", "#1167b1", "#9fd9f5", "#2ec4b6", "#021526"),
    ),
    (
        ("city", "urban", "street", "skyline", "downtown", "building", "skyscraper"),
        ("#1e2a3a", "#4a6fa5", "#f7b267", "#f25f5c", "#0b1119"),
    ),
    (
        ("forest", "jungle", "tree", "leaf", "garden", "nature", "meadow", "moss", "grass"),
        ("#0b3d20", "#3a7d44", "#c7e8a0", "#f2c14e", "#071a0e"),
    ),
    (
        ("night", "space", "galaxy", "star", "moon", "cosmic", "nebula", "midnight", "universe"),
        ("#05051a", "#1b1464", "#6c3ec1", "#e0c3fc", "#020210"),
    ),
    (
        ("desert", "sand", "dune", "autumn", "fall", "canyon", "savanna", "harvest"),
        ("#8e5a2b", "#d9a05b", "#f6e0b5", "#c0392b", "#3e2411"),
    ),
    (
        ("pastel", "dreamy", "spring", "flower", "blossom", "cherry", "candy", "cute"),
        ("#a18cd1", "#fbc2eb", "#fff1f7", "#f6a5c0", "#6d5a8f"),
    ),
    (
        ("mountain", "hill", "alps", "peak", "valley", "landscape", "cliff"),
        ("#2c3e70", "#7aa5d2", "#f3e9d2", "#5c8d89", "#1b2430"),
    ),
]

COLOURS: dict[str, str] = {
    "red": "#d62828",
    "crimson": "#b0122b",
    "scarlet": "#e0301e",
    "orange": "#f77f00",
    "amber": "#ffbf00",
    "yellow": "#fcbf49",
    "gold": "#d4af37",
    "golden": "#e6b422",
    "green": "#2a9d8f",
    "emerald": "#1b7f5b",
    "lime": "#9ef01a",
    "olive": "#708238",
    "teal": "#118ab2",
    "turquoise": "#1ccad8",
    "cyan": "#00c2d1",
    "blue": "#1d4ed8",
    "navy": "#14213d",
    "azure": "#3a86ff",
    "indigo": "#3a0ca3",
    "purple": "#7b2cbf",
    "violet": "#8f5cf7",
    "lavender": "#b8a1e3",
    "magenta": "#d90368",
    "pink": "#f472b6",
    "rose": "#e56b6f",
    "brown": "#7f5539",
    "beige": "#e9d8a6",
    "cream": "#f8f1e0",
    "white": "#f5f5f5",
    "silver": "#c0c6cf",
    "grey": "#7d8597",
    "gray": "#7d8597",
    "black": "#111111",
}

DARK_MOODS = ("dark", "moody", "noir", "gloomy", "mysterious", "horror", "sad", "melancholic")
BRIGHT_MOODS = ("bright", "vibrant", "happy", "joyful", "colorful", "colourful", "vivid", "sunny")
SOFT_MOODS = ("soft", "calm", "serene", "peaceful", "gentle", "minimal", "minimalist", "muted")


@dataclass(frozen=True)
class Palette:
    top: RGB  # top of the sky / background
    middle: RGB
    glow: RGB  # horizon light, highlights
    accent: RGB
    deep: RGB  # shadows, silhouettes

    def as_list(self) -> list[RGB]:
        return [self.top, self.middle, self.glow, self.accent, self.deep]


def _adjust(colour: RGB, *, light: float = 1.0, sat: float = 1.0) -> RGB:
    h, l_, s = colorsys.rgb_to_hls(*colour)
    return colorsys.hls_to_rgb(h, min(max(l_ * light, 0.0), 1.0), min(max(s * sat, 0.0), 1.0))


def _from_hue(hue: float, spread: float) -> Palette:
    def c(h: float, l_: float, s: float) -> RGB:
        return colorsys.hls_to_rgb(h % 1.0, l_, s)

    return Palette(
        top=c(hue, 0.18, 0.55),
        middle=c(hue + spread, 0.45, 0.6),
        glow=c(hue + 2 * spread, 0.82, 0.75),
        accent=c(hue + 0.5, 0.6, 0.7),
        deep=c(hue - spread, 0.08, 0.5),
    )


def palette_for(prompt: str) -> Palette:
    """A palette from the prompt's themes, colour words and mood; hashed when none is named."""
    ws = words(prompt)
    theme = next((colours for keys, colours in THEMES if has(ws, *keys)), None)
    named = [hexrgb(COLOURS[w]) for w in _WORD.findall(prompt.lower()) if w in COLOURS]
    if theme is not None:
        pal = Palette(*(hexrgb(c) for c in theme))
        if named:  # the named colours lead: they become the accent and tint the sky
            first = named[0]
            mix = tuple(0.55 * a + 0.45 * b for a, b in zip(pal.middle, first, strict=True))
            pal = Palette(pal.top, mix, pal.glow, first, pal.deep)  # type: ignore[arg-type]
            if len(named) > 1:
                pal = Palette(pal.top, pal.middle, named[1], first, pal.deep)
    elif named:
        hue = colorsys.rgb_to_hls(*named[0])[0]
        base = _from_hue(hue, 0.04)
        main = named[0]
        second = named[1] if len(named) > 1 else base.glow
        pal = Palette(
            top=_adjust(main, light=0.35),
            middle=main,
            glow=_adjust(second, light=1.35),
            accent=second if len(named) > 1 else base.accent,
            deep=_adjust(main, light=0.15),
        )
    else:
        seed = stable_int("palette", " ".join(sorted(ws)))
        pal = _from_hue((seed % 360) / 360, 0.05 + (seed >> 9) % 7 / 100)
    if has(ws, *DARK_MOODS):
        pal = Palette(*(_adjust(c, light=0.6, sat=0.85) for c in pal.as_list()))
    if has(ws, *BRIGHT_MOODS):
        pal = Palette(*(_adjust(c, light=1.08, sat=1.3) for c in pal.as_list()))
    if has(ws, *SOFT_MOODS):
        pal = Palette(*(_adjust(c, light=1.15, sat=0.7) for c in pal.as_list()))
    return pal


@dataclass(frozen=True)
class Scene:
    landscape: bool
    mountains: bool
    water: bool
    sun: bool
    night: bool
    trees: bool
    city: bool
    snow: bool
    studio: bool  # a lit backdrop for a product or subject in the centre


def scene_for(prompt: str, *, has_references: bool = False) -> Scene:
    ws = words(prompt)
    water = has(ws, "ocean", "sea", "lake", "beach", "river", "coast", "wave", "island", "bay")
    mountains = has(ws, "mountain", "hill", "alps", "peak", "valley", "canyon", "cliff", "volcano")
    sun = has(ws, "sunset", "sunrise", "sun", "dusk", "dawn", "golden", "sunny", "summer")
    night = has(ws, "night", "moon", "star", "galaxy", "space", "midnight", "nebula", "cosmic")
    trees = has(ws, "forest", "tree", "jungle", "wood", "pine", "meadow", "park", "garden")
    city = has(ws, "city", "urban", "skyline", "downtown", "building", "skyscraper", "street")
    snow = has(ws, "snow", "winter", "snowy", "blizzard", "frost", "christmas")
    scenery = has(ws, "landscape", "scenery", "horizon", "field", "desert", "dune", "sky", "view")
    landscape = water or mountains or sun or trees or city or scenery or (night and not snow)
    studio = has_references or has(
        ws, "product", "studio", "portrait", "logo", "packshot", "bottle", "shoe", "watch"
    )
    return Scene(
        landscape=landscape and not studio,
        mountains=mountains or (scenery and not water and not city),
        water=water,
        sun=sun and not night,
        night=night,
        trees=trees,
        city=city,
        snow=snow,
        studio=studio,
    )
