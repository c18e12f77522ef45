"""Studio's text layer for an ad: hook, headline, body and CTA set on the plain image.

Legibility is measured, not hoped for: for every line of text the WCAG contrast ratio
between its colour and the pixels behind it (the worst 5 %, not the average) must reach
4.5; when neither light nor dark text gets there, a scrim or card goes behind the block,
made more opaque until it does. The CTA is a button in the brand colour, its fill nudged
darker or lighter until its label reaches 4.5 too. The layer is deterministic: the same
plain image, copy, style, variant and colour give the same pixels, so an edit re-sets it.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageColor, ImageDraw, ImageFont

from generations.ads.copywriter import AdCopy
from generations.ads.styles import AdStyle, Layout, shape_of

RGB = tuple[int, int, int]
PixelBox = tuple[int, int, int, int]

MIN_CONTRAST = 4.5
WHITE: RGB = (255, 255, 255)
INK: RGB = (17, 17, 20)
DEFAULT_ACCENT: RGB = (37, 99, 235)


# --- colour -----------------------------------------------------------------------------------


def _channel(value: np.ndarray) -> np.ndarray:
    c = value / 255.0
    return np.where(c <= 0.03928, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def luminance(pixels: np.ndarray) -> np.ndarray:
    """WCAG relative luminance of RGB pixels (any shape ending in 3)."""
    lin = _channel(np.asarray(pixels, dtype=np.float64)[..., :3])
    return 0.2126 * lin[..., 0] + 0.7152 * lin[..., 1] + 0.0722 * lin[..., 2]


def contrast(a: RGB, b: RGB) -> float:
    la, lb = float(luminance(np.array(a))), float(luminance(np.array(b)))
    return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)


def worst_contrast(background: np.ndarray, colour: RGB) -> float:
    """The contrast of `colour` against the background pixels, at their worst 5 %."""
    lum = luminance(background.reshape(-1, background.shape[-1]))
    text = float(luminance(np.array(colour)))
    ratios = (np.maximum(lum, text) + 0.05) / (np.minimum(lum, text) + 0.05)
    return float(np.percentile(ratios, 5))


def _mix(a: RGB, b: RGB, t: float) -> RGB:
    return tuple(round(x + (y - x) * t) for x, y in zip(a, b, strict=True))  # type: ignore[return-value]


def readable_on(fill: RGB) -> tuple[RGB, RGB]:
    """(fill, label colour) for a button: the label that contrasts most, the fill nudged
    towards dark or light until the label reaches MIN_CONTRAST."""
    label = WHITE if contrast(fill, WHITE) >= contrast(fill, INK) else INK
    towards = INK if label == WHITE else WHITE
    step = 0.0
    adjusted = fill
    while contrast(adjusted, label) < MIN_CONTRAST and step < 1:
        step += 0.08
        adjusted = _mix(fill, towards, step)
    return adjusted, label


_HEX = re.compile(r"#([0-9a-fA-F]{6}|[0-9a-fA-F]{3})\b")
# Colour words people write in brand notes that CSS names differently (or not at all).
_EXTRA_COLOURS = {
    "navy blue": "navy", "forest green": "forestgreen", "sky blue": "skyblue",
    "hot pink": "hotpink", "royal blue": "royalblue", "burgundy": "#800020",
    "mustard": "#e1ad01", "terracotta": "#e2725b", "sage": "#9caf88", "mint": "#98ff98",
    "charcoal": "#36454f", "emerald": "#50c878", "cream": "#fffdd0", "rose": "#ff007f",
    "rust": "#b7410e", "cobalt": "#0047ab",
}  # fmt: skip
_IGNORED_NAMES = {"tan", "linen", "snow", "oldlace", "bisque", "moccasin", "peru", "chocolate"}


def brand_colour(text: str) -> RGB | None:
    """The brand colour named in brand notes: a hex code, or a colour name ("navy")."""
    if not text:
        return None
    if match := _HEX.search(text):
        return ImageColor.getrgb(match.group(0))  # type: ignore[return-value]
    lowered = " ".join(re.findall(r"[a-z]+", text.lower()))
    # The first colour the notes name (longer names first at the same place: "navy blue").
    found: list[tuple[int, int, str]] = []
    for phrase, value in _EXTRA_COLOURS.items():
        if match := re.search(rf"\b{phrase}\b", lowered):
            found.append((match.start(), -len(phrase), value))
    for name in ImageColor.colormap:
        if name in _IGNORED_NAMES or name in {"white", "black"}:
            continue
        if match := re.search(rf"\b{name}\b", lowered):
            found.append((match.start(), -len(name), name))
    if not found:
        return None
    return ImageColor.getrgb(min(found)[2])[:3]  # type: ignore[return-value]


def dominant_colours(image: Image.Image, count: int = 4) -> list[RGB]:
    """The image's main colours, most common first."""
    small = image.convert("RGB").resize((64, 64))
    quantised = small.quantize(colors=count, method=Image.Quantize.MEDIANCUT)
    palette: list[int] = list(quantised.getpalette() or [])
    counts = sorted(quantised.getcolors() or [], reverse=True)
    colours: list[RGB] = []
    for _, index in counts:
        start = int(index) * 3  # type: ignore[call-overload]
        red, green, blue = palette[start : start + 3]
        colours.append((red, green, blue))
    return colours


def most_vivid(colours: list[RGB]) -> RGB | None:
    def saturation(c: RGB) -> float:
        hi, lo = max(c), min(c)
        return 0 if hi == 0 else (hi - lo) / hi

    vivid = [c for c in colours if saturation(c) > 0.25 and max(c) > 40]
    return max(vivid, key=saturation) if vivid else None


# --- type ---------------------------------------------------------------------------------------


def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=max(10, int(size)))


def _wrap(text: str, fnt: ImageFont.FreeTypeFont | ImageFont.ImageFont, width: int) -> list[str]:
    avg = max(fnt.getlength("abcdefghijklmnopqrstuvwxyz") / 26, 1)
    chars = max(6, int(width / avg))
    while True:
        lines = textwrap.wrap(text, width=chars) or [""]
        if all(fnt.getlength(line) <= width for line in lines) or chars <= 6:
            return lines
        chars -= 1


@dataclass
class Block:
    """One piece of copy as set: its role, lines, font size and where it went."""

    role: str
    lines: list[str]
    size: int
    boxed: bool = False  # set on a badge, caption box or button of its own
    box: PixelBox = (0, 0, 0, 0)
    colour: RGB = INK
    fill: RGB | None = None

    @property
    def line_height(self) -> int:
        return round(self.size * 1.22)

    @property
    def pad(self) -> int:
        return round(self.size * 0.7) if self.boxed else 0

    @property
    def height(self) -> int:
        return round(self.line_height * len(self.lines) + (self.size * 0.8 if self.boxed else 0))


def _boxed(role: str, layout: Layout) -> bool:
    if role == "cta":
        return layout.cta != "underline"
    if role == "hook" and layout.hook_style in ("badge", "bubble"):
        return True
    return layout.panel == "boxes"


def _blocks(copy: AdCopy, layout: Layout, shape: str, width: int, scale: int) -> list[Block]:
    hook = copy.hook
    if layout.hook_style == "eyebrow":
        hook = hook.upper()
    headline_size = round(scale * 0.085 * layout.headline_scale)
    blocks = []
    if hook:
        hook_share = 0.62 if layout.hook_style == "badge" else 0.5
        blocks.append(Block("hook", [], max(14, round(headline_size * hook_share))))
    blocks.append(Block("headline", [], headline_size))
    if copy.body_copy and layout.body.get(shape):
        blocks.append(Block("body", [], max(14, round(headline_size * 0.42))))
    if copy.cta:
        blocks.append(Block("cta", [], max(14, round(headline_size * 0.5))))
    texts = {"hook": hook, "headline": copy.headline, "body": copy.body_copy, "cta": copy.cta}
    for block in blocks:
        block.boxed = _boxed(block.role, layout)
        block.lines = _wrap(texts[block.role], font(block.size), width - 2 * block.pad)
        if block.role == "cta":
            block.lines = block.lines[:1]
    return blocks


def _fit(
    copy: AdCopy, layout: Layout, shape: str, box: PixelBox, scale: int
) -> tuple[list[Block], int]:
    """The blocks at the largest size that fits the box (the body goes first if none does)."""
    width, height = box[2] - box[0], box[3] - box[1]
    for with_body in (True, False):
        factor = 1.0
        while factor > 0.45:
            blocks = _blocks(copy, layout, shape, width, round(scale * factor))
            if not with_body:
                blocks = [b for b in blocks if b.role != "body"]
            gap = round(scale * factor * 0.03)
            total = sum(b.height for b in blocks) + gap * (len(blocks) - 1)
            too_many = any(len(b.lines) > 3 for b in blocks if b.role == "headline")
            if total <= height and not too_many:
                return blocks, gap
            factor *= 0.92
    return blocks, gap


# --- the layer ---------------------------------------------------------------------------------


def pixel_box(box: tuple[float, float, float, float], size: tuple[int, int]) -> PixelBox:
    w, h = size
    return (round(box[0] * w), round(box[1] * h), round(box[2] * w), round(box[3] * h))


def _text_x(block_box: PixelBox, line_width: float, align: str) -> float:
    if align == "center":
        return block_box[0] + (block_box[2] - block_box[0] - line_width) / 2
    return block_box[0]


def _region(canvas: Image.Image, box: PixelBox) -> np.ndarray:
    x0, y0, x1, y1 = box
    x0, y0 = max(0, x0), max(0, y0)
    x1, y1 = min(canvas.width, max(x1, x0 + 1)), min(canvas.height, max(y1, y0 + 1))
    return np.asarray(canvas.crop((x0, y0, x1, y1)).convert("RGB"))


def _panel(canvas: Image.Image, box: PixelBox, colour: RGB, alpha: float, radius: int) -> None:
    layer = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
    ImageDraw.Draw(layer).rounded_rectangle(box, radius=radius, fill=(*colour, round(alpha * 255)))
    canvas.alpha_composite(layer)


def compose(
    plain: Image.Image,
    copy: AdCopy,
    style: AdStyle,
    aspect_ratio: str,
    variant: int,
    accent: RGB,
) -> tuple[Image.Image, dict[str, dict]]:
    """The finished ad (RGB) and, per piece of copy, where it was set and the contrast it
    reached: {"headline": {"box": [x0, y0, x1, y1], "contrast": 7.1}, ...}."""
    canvas = plain.convert("RGBA")
    width, height = canvas.size
    layout = style.layout(variant)
    shape = shape_of(aspect_ratio)
    area = pixel_box(layout.text[shape], canvas.size)
    scale = min(width, height)
    blocks, gap = _fit(copy, layout, shape, area, scale)
    total = sum(b.height for b in blocks) + gap * (len(blocks) - 1)
    centre_y = (area[1] + area[3]) / 2
    if centre_y < height * 0.45:
        y = area[1]
    elif centre_y > height * 0.55:
        y = area[3] - total
    else:
        y = round(centre_y - total / 2)
    # Where each block goes (its width is the widest line, or the button).
    for block in blocks:
        fnt = font(block.size)
        line_w = max(fnt.getlength(line) for line in block.lines)
        block_w = round(line_w) + 2 * block.pad
        x = round(_text_x(area, block_w, layout.align))
        block.box = (x, y, x + block_w, y + block.height)
        y += block.height + gap
    text_area = (
        min(b.box[0] for b in blocks),
        min(b.box[1] for b in blocks),
        max(b.box[2] for b in blocks),
        max(b.box[3] for b in blocks),
    )
    margin = round(scale * 0.035)
    panel_box = (
        text_area[0] - margin,
        text_area[1] - margin,
        text_area[2] + margin,
        text_area[3] + margin,
    )
    radius = round(scale * 0.025)

    # Panels first: what is behind the words must be known before their colour is chosen.
    if layout.panel == "card":
        _panel(canvas, panel_box, (250, 249, 246), 0.93, radius)
    elif layout.panel == "band":
        band = (0, panel_box[1], width, panel_box[3])
        if layout.text[shape][2] - layout.text[shape][0] < 0.6:  # a side column
            band = (0, 0, panel_box[2], height)
        _panel(canvas, band, _mix(accent, INK, 0.72), 0.86, 0)
    # The hook's badge and the CTA's button in the brand colour, readable; caption boxes white.
    for block in blocks:
        badge = block.role == "hook" and layout.hook_style == "badge"
        if block.boxed and (block.role == "cta" or badge):
            block.fill, block.colour = readable_on(accent)
        elif block.boxed:
            block.fill, block.colour = WHITE, INK
    # Plain text on the scene: measure, and add a scrim where no colour is readable.
    loose = [b for b in blocks if b.fill is None]
    if loose:
        # Every block must be readable on its own (a union would hide a bad one).
        def weakest(image: Image.Image, colour: RGB) -> float:
            return min(worst_contrast(_region(image, b.box), colour) for b in loose)

        colour = max((WHITE, INK), key=lambda c: weakest(canvas, c))
        if weakest(canvas, colour) < MIN_CONTRAST:
            tint = INK if colour == WHITE else WHITE
            alpha = 0.3
            while True:
                trial = canvas.copy()
                _panel(trial, panel_box, tint, alpha, radius)
                if weakest(trial, colour) >= MIN_CONTRAST or alpha >= 0.97:
                    canvas = trial
                    break
                alpha = min(0.97, alpha + 0.08)
        for block in loose:
            block.colour = colour
            # The hook (or an underlined CTA) in the brand colour where that is readable too.
            if block.role in ("hook", "cta") and (
                worst_contrast(_region(canvas, block.box), accent) >= MIN_CONTRAST
            ):
                block.colour = accent

    report: dict[str, dict] = {}
    draw_layer = ImageDraw.Draw(canvas)
    for block in blocks:
        fnt = font(block.size)
        x0, y0, x1, y1 = block.box
        if block.fill is not None:
            shape_radius = min((y1 - y0) // 2, round(block.size * 0.6))
            if block.role == "cta" and layout.cta == "block":
                shape_radius = max(4, block.size // 4)
            draw_layer.rounded_rectangle(block.box, radius=shape_radius, fill=block.fill)
            behind = np.array([block.fill])
        else:
            behind = _region(canvas, block.box)
        pad_x = block.pad
        ty = y0 + round(block.size * 0.4 if block.boxed else 0)
        for line in block.lines:
            lw = fnt.getlength(line)
            if block.boxed:
                tx = x0 + pad_x + (x1 - x0 - 2 * pad_x - lw) / 2
            else:
                tx = _text_x((x0, y0, x1, y1), lw, layout.align)
            bold = max(0, block.size // 30) if block.role in ("headline", "cta") else 0
            draw_layer.text(
                (tx, ty),
                line,
                font=fnt,
                fill=block.colour,
                stroke_width=bold,
                stroke_fill=block.colour,
            )
            ty += block.line_height
        if block.role == "cta" and layout.cta == "underline":
            line_y = y1 - max(2, block.size // 6)
            draw_layer.rectangle((x0, line_y, x1, line_y + max(2, block.size // 10)), fill=accent)
        report[block.role] = {
            "box": list(block.box),
            "contrast": round(worst_contrast(behind.reshape(-1, 3), block.colour), 2),
        }
    return canvas.convert("RGB"), report
