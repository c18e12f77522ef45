"""Ad styles and their layouts, as data (`GET /api/v1/ads/styles` lists them).

A layout says where the product sits and where the words go, per aspect-ratio shape, and how
the words are set: the kind of panel behind them, the headline's size, whether the body has
room, the CTA's shape. Boxes are fractions of the frame (x0, y0, x1, y1).
"""

from __future__ import annotations

from dataclasses import dataclass, field

Box = tuple[float, float, float, float]

ASPECT_RATIOS = ("1:1", "4:5", "9:16")
DEFAULT_ASPECT_RATIO = "4:5"
DEFAULT_STYLE = "performance"


@dataclass(frozen=True)
class Layout:
    # The product's box and the text block's box per shape: "square" (1:1), "portrait"
    # (4:5) and "tall" (9:16).
    product: dict[str, Box]
    text: dict[str, Box]
    align: str = "left"  # left | center
    panel: str = "auto"  # auto (a scrim only when contrast needs it) | card | boxes | band
    headline_scale: float = 1.0
    body: dict[str, bool] = field(
        default_factory=lambda: {"square": True, "portrait": True, "tall": True}
    )
    cta: str = "pill"  # pill | block | underline
    hook_style: str = "eyebrow"  # eyebrow | badge | quote | bubble


@dataclass(frozen=True)
class AdStyle:
    id: str
    name: str
    description: str
    # How the copywriter speaks in this style, and the scene's mood words.
    voice: str
    scene: str
    layouts: tuple[Layout, ...]  # variant i uses layouts[i % len(layouts)]

    def layout(self, variant: int) -> Layout:
        return self.layouts[variant % len(self.layouts)]

    def as_dict(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name, "description": self.description}


def shape_of(aspect_ratio: str) -> str:
    return {"1:1": "square", "4:5": "portrait", "9:16": "tall"}.get(aspect_ratio, "portrait")


TOP_TEXT = {"square": (0.07, 0.06, 0.93, 0.40), "portrait": (0.07, 0.05, 0.93, 0.38),
            "tall": (0.08, 0.07, 0.92, 0.38)}  # fmt: skip
LOW_PRODUCT = {"square": (0.22, 0.40, 0.78, 0.95), "portrait": (0.2, 0.40, 0.8, 0.96),
               "tall": (0.16, 0.42, 0.84, 0.88)}  # fmt: skip
BOTTOM_TEXT = {"square": (0.07, 0.58, 0.93, 0.95), "portrait": (0.07, 0.60, 0.93, 0.95),
               "tall": (0.08, 0.62, 0.92, 0.90)}  # fmt: skip
HIGH_PRODUCT = {"square": (0.25, 0.05, 0.75, 0.56), "portrait": (0.2, 0.05, 0.8, 0.58),
                "tall": (0.14, 0.10, 0.86, 0.60)}  # fmt: skip
SIDE_PRODUCT = {"square": (0.50, 0.12, 0.97, 0.92), "portrait": (0.48, 0.18, 0.97, 0.88),
                "tall": (0.18, 0.06, 0.82, 0.50)}  # fmt: skip
SIDE_TEXT = {"square": (0.06, 0.10, 0.50, 0.92), "portrait": (0.06, 0.10, 0.50, 0.92),
             "tall": (0.08, 0.52, 0.92, 0.90)}  # fmt: skip

STYLES: tuple[AdStyle, ...] = (
    AdStyle(
        id="performance",
        name="Performance Master",
        description="Direct response: a bold benefit headline, the product front and centre, "
        "a clear call to action.",
        voice="direct",
        scene="clean studio backdrop, strong contrast, commercial product photography",
        layouts=(
            Layout(HIGH_PRODUCT, BOTTOM_TEXT, headline_scale=1.15, cta="block"),
            Layout(LOW_PRODUCT, TOP_TEXT, align="center", headline_scale=1.1, cta="block"),
        ),
    ),
    AdStyle(
        id="testimonial",
        name="Customer Testimonial",
        description="A customer's words as the hook, set like a quote card beside the product.",
        voice="testimonial",
        scene="warm home interior, soft daylight, lifestyle photography",
        layouts=(
            Layout(HIGH_PRODUCT, BOTTOM_TEXT, panel="card", hook_style="quote", cta="pill"),
            Layout(LOW_PRODUCT, TOP_TEXT, panel="card", hook_style="quote", align="center"),
        ),
    ),
    AdStyle(
        id="offer",
        name="Limited Offer",
        description="Promotion first: the offer as a badge, urgency in the headline, a strong "
        "button.",
        voice="offer",
        scene="vibrant gradient backdrop, festive sale energy, spotlight",
        layouts=(
            Layout(
                LOW_PRODUCT,
                TOP_TEXT,
                align="center",
                hook_style="badge",
                cta="block",
                headline_scale=1.2,
            ),
            Layout(HIGH_PRODUCT, BOTTOM_TEXT, hook_style="badge", cta="block"),
        ),
    ),
    AdStyle(
        id="minimal",
        name="Minimal Editorial",
        description="Quiet and premium: lots of space, a short headline, no body copy.",
        voice="minimal",
        scene="minimal pastel backdrop, soft shadows, editorial still life",
        layouts=(
            Layout(
                HIGH_PRODUCT,
                BOTTOM_TEXT,
                align="center",
                headline_scale=0.9,
                body={},
                cta="underline",
            ),
            Layout(LOW_PRODUCT, TOP_TEXT, headline_scale=0.9, body={}, cta="underline"),
        ),
    ),
    AdStyle(
        id="ugc",
        name="UGC Social",
        description="Looks native to a social feed: caption boxes like a creator's post, "
        "casual first-person copy.",
        voice="ugc",
        scene="casual everyday setting, natural light, phone camera snapshot",
        layouts=(
            Layout(LOW_PRODUCT, TOP_TEXT, panel="boxes", hook_style="bubble", cta="pill"),
            Layout(HIGH_PRODUCT, BOTTOM_TEXT, panel="boxes", hook_style="bubble", align="center"),
        ),
    ),
    AdStyle(
        id="feature_callout",
        name="Feature Callout",
        description="The product beside its key features: what it is made of, its colours, "
        "what it does.",
        voice="feature",
        scene="technical studio lighting, clean surface, detailed product photography",
        layouts=(
            Layout(SIDE_PRODUCT, SIDE_TEXT, panel="band", headline_scale=0.95),
            Layout(HIGH_PRODUCT, BOTTOM_TEXT, panel="band", headline_scale=0.95),
        ),
    ),
)

_BY_ID = {style.id: style for style in STYLES}


def style_ids() -> list[str]:
    return list(_BY_ID)


def get_style(style_id: str | None) -> AdStyle:
    """The style with this id (the default style for None); KeyError for an unknown id."""
    return _BY_ID[style_id or DEFAULT_STYLE]
