"""Reading an edit instruction: which edits the offline editor should make, by clear rules.

The instruction is cut into clauses (at commas, semicolons, full stops, "and", "then"); each
clause is read in this order, and the first rule that matches takes it:

1. Background: the clause names the background ("make the background blue", "replace the
   backdrop with a forest", "remove the background", "blur the background") or places the
   subject somewhere ("put it on a beach", "place the bottle in a snowy forest"). A colour
   and nothing else makes a plain backdrop of that colour; anything else is painted as a
   scene; "remove"/"transparent" cuts the subject out; "blur" keeps it, out of focus.
2. Light: warmer, cooler, sunset/golden hour, darker/night, brighter, more/less contrast.
3. Style: black and white, vintage/sepia/retro, watercolor/painting, sketch, cartoon/pop art,
   pixel art, negative.
4. Recolour: a colour word with a verb or a noun ("make the shirt red", "make it blue",
   "turn the car dark green"): the subject's main colour becomes that colour.

A clause no rule reads is kept in `unread`; the editor then still does something sensible
(a grade in the instruction's palette) and says so in the result's metadata.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .prompt import COLOURS, RGB, hexrgb

# Modifiers before a colour word, as (lightness, saturation) factors.
SHADES = {
    "light": (1.35, 0.8),
    "pale": (1.45, 0.6),
    "pastel": (1.4, 0.55),
    "dark": (0.55, 1.0),
    "deep": (0.6, 1.1),
    "bright": (1.1, 1.25),
    "vivid": (1.0, 1.3),
    "muted": (0.95, 0.55),
}
EXTRA_COLOURS = {"sky": "#87c5eb", "royal": "#2a52be", "coral": "#ff7f50", "mint": "#98e2c6",
                 "peach": "#ffcba4", "tan": "#c8a27a", "khaki": "#c3b091", "maroon": "#800000",
                 "burgundy": "#800020", "charcoal": "#36454f", "ivory": "#fffff0"}  # fmt: skip
COLOUR_WORDS = {**COLOURS, **EXTRA_COLOURS}
COLOUR_WORDS.pop("golden", None)  # "golden hour" is light, not a colour

LIGHT_RULES: list[tuple[str, tuple[str, ...]]] = [
    ("sunset", ("sunset", "golden hour", "sundown", "dusk", "sunrise", "dawn")),
    ("night", ("at night", "night time", "nighttime", "moonlight", "midnight")),
    ("warmer", ("warmer", "warm", "cozier", "cosier", "cozy", "cosy")),
    ("cooler", ("cooler", "cool", "colder", "cold", "icy", "wintry")),
    ("darker", ("darker", "dark", "dimmer", "dim", "moody", "underexposed")),
    ("brighter", ("brighter", "bright", "lighter", "sunnier", "sunny", "well lit", "lit up")),
    ("more contrast", ("more contrast", "contrasty", "punchy", "punchier", "dramatic")),
    ("softer", ("softer", "less contrast", "soft light", "flat light", "hazy", "dreamy")),
]
STYLE_RULES: list[tuple[str, tuple[str, ...]]] = [
    ("black and white", ("black and white", "black & white", "b&w", "monochrome",
                         "grayscale", "greyscale", "noir")),
    ("vintage", ("vintage", "sepia", "retro", "old photo", "old-fashioned", "film look",
                 "analog", "analogue", "faded", "70s", "1970s")),
    ("watercolor", ("watercolor", "watercolour", "painting", "painted", "oil paint",
                    "impressionist", "gouache", "artistic")),
    ("sketch", ("sketch", "pencil", "drawing", "drawn", "charcoal drawing", "line art")),
    ("cartoon", ("cartoon", "comic", "pop art", "anime", "cel shaded", "illustration",
                 "poster")),
    ("pixel art", ("pixel art", "pixelated", "pixelate", "8-bit", "8 bit", "retro game")),
    ("negative", ("negative", "invert", "inverted")),
]  # fmt: skip
BACKGROUND_WORDS = ("background", "backdrop", "behind it", "behind the", "surroundings")
PLACE = re.compile(
    r"\b(?:put|place|set|move|show|stand|sit|float|drop)\b.*?\b(?:on|in|at|onto|into|against|"
    r"over|under|by|beside|near)\b\s+(?P<place>.+)$"
)
TO_PHRASE = re.compile(r"\b(?:to|with|into|as|of|for|by|:)\s+(?P<rest>.+)$")
REMOVE_WORDS = ("remove", "delete", "erase", "transparent", "no background", "cut out",
                "cutout", "isolate", "get rid")  # fmt: skip
BLUR_WORDS = ("blur", "blurry", "blurred", "bokeh", "out of focus", "depth of field")
FILLER = {"a", "an", "the", "plain", "solid", "simple", "flat", "clean", "colour", "color",
          "coloured", "colored", "background", "backdrop", "it", "one", "studio", "seamless",
          "make", "change", "turn", "set", "to", "with", "into", "be", "is", "should", "please",
          "replace", "swap", "paint", "nice", "new"}  # fmt: skip
RECOLOUR_VERBS = ("make", "turn", "change", "colour", "color", "recolour", "recolor", "paint",
                  "dye", "tint", "switch", "swap")  # fmt: skip
SPLIT = re.compile(r"\s*(?:[,;.!\n]|\band then\b|\bthen\b|\band\b|\bplus\b)\s*")
WORD = re.compile(r"[a-z0-9&'-]+")


@dataclass(frozen=True)
class Colour:
    name: str  # as the user said it ("dark green")
    rgb: RGB  # 0-1


@dataclass
class Background:
    kind: str  # "colour" | "scene" | "remove" | "blur"
    colour: Colour | None = None
    scene: str = ""  # what to paint for a scene ("a beach")


@dataclass
class EditPlan:
    background: Background | None = None
    recolour: Colour | None = None
    recolour_target: str = ""  # the noun the user named ("shirt"), or "" for the subject
    light: list[str] = field(default_factory=list)
    style: list[str] = field(default_factory=list)
    unread: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.background or self.recolour or self.light or self.style)


def _adjust(rgb: RGB, light: float, sat: float) -> RGB:
    import colorsys

    h, l_, s = colorsys.rgb_to_hls(*rgb)
    return colorsys.hls_to_rgb(h, min(max(l_ * light, 0.0), 0.97), min(max(s * sat, 0.0), 1.0))


def find_colour(text: str) -> Colour | None:
    """The first colour the text names, with its shade ("light blue", "navy"), or None."""
    words = WORD.findall(text.lower())
    for i, word in enumerate(words):
        base = word.removesuffix("ish")
        if base not in COLOUR_WORDS:
            continue
        if base == "sky" and (i + 1 >= len(words) or words[i + 1] != "blue"):
            continue  # "the sky" is a place, "sky blue" a colour
        if base == "royal" and (i + 1 >= len(words) or words[i + 1] != "blue"):
            continue
        rgb = hexrgb(COLOUR_WORDS[base])
        name = base
        if base in ("sky", "royal"):
            name = f"{base} blue"
        if i > 0 and words[i - 1] in SHADES:
            light, sat = SHADES[words[i - 1]]
            rgb = _adjust(rgb, light, sat)
            name = f"{words[i - 1]} {name}"
        return Colour(name, rgb)
    return None


def _matches(clause: str, phrases: tuple[str, ...]) -> bool:
    return any(re.search(rf"(?<![a-z]){re.escape(p)}(?![a-z])", clause) for p in phrases)


def _scene_words(phrase: str) -> str:
    words = [w for w in WORD.findall(phrase) if w not in FILLER]
    return " ".join(words)


def _background(clause: str) -> Background | None:
    placed = PLACE.search(clause)
    named = _matches(clause, BACKGROUND_WORDS)
    if not named and not placed:
        return None
    if named and _matches(clause, REMOVE_WORDS):
        return Background("remove")
    if named and _matches(clause, BLUR_WORDS):
        return Background("blur")
    if placed and not named:
        phrase = placed.group("place")
    else:
        after = re.split(r"background|backdrop|surroundings", clause, maxsplit=1)
        tail = after[1] if len(after) > 1 else clause
        rest = TO_PHRASE.search(tail)
        # "a blue background" names its colour before the word; "background to blue" after.
        phrase = rest.group("rest") if rest else f"{after[0]} {tail}"
    colour = find_colour(phrase)
    scene = _scene_words(phrase)
    if colour is not None:
        leftover = scene.replace(colour.name, "").split()
        if not leftover or all(w in SHADES or w.endswith("ish") for w in leftover):
            return Background("colour", colour=colour)
    if not scene:
        return None
    return Background("scene", colour=colour, scene=scene)


def _recolour(clause: str) -> tuple[Colour, str] | None:
    colour = find_colour(clause)
    if colour is None:
        return None
    words = WORD.findall(clause)
    if not any(w in RECOLOUR_VERBS for w in words) and len(words) > 3:
        return None
    skip = set(FILLER) | set(RECOLOUR_VERBS) | set(SHADES) | set(colour.name.split())
    target = " ".join(w for w in words if w not in skip and w not in ("them", "this", "that"))
    return colour, target


def plan_edit(instruction: str) -> EditPlan:
    """The edits an instruction asks for (see the module's rules)."""
    plan = EditPlan()
    text = instruction.lower().replace("black and white", "monochrome")
    text = text.replace("black & white", "monochrome")
    for clause in (c.strip() for c in SPLIT.split(text)):
        if not clause or clause in FILLER:
            continue
        background = _background(clause)
        if background is not None:
            plan.background = background
            continue
        # A shade belongs to its colour: "dark green" is a recolour, not "darker".
        colour = find_colour(clause)
        bare = clause.replace(colour.name, " ") if colour else clause
        light = [name for name, phrases in LIGHT_RULES if _matches(bare, phrases)]
        style = [name for name, phrases in STYLE_RULES if _matches(bare, phrases)]
        if light or style:
            plan.light += [x for x in light if x not in plan.light]
            plan.style += [x for x in style if x not in plan.style]
            continue
        recolour = _recolour(clause)
        if recolour is not None:
            plan.recolour, plan.recolour_target = recolour
            continue
        plan.unread.append(clause)
    # "warmer" inside "sunset" (or both light words in one clause) is one edit, not two.
    if "sunset" in plan.light and "warmer" in plan.light:
        plan.light.remove("warmer")
    if "night" in plan.light and "darker" in plan.light:
        plan.light.remove("darker")
    return plan
