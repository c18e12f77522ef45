"""Rules that need no model: refusing Meta account changes, picking `auto`'s mode, and the
offline planner (message → tool calls) with its reply writer.

Refusal: a message is refused when a changing verb acts on a Meta object (campaign, ad set,
budget, bid, ad account, billing…), e.g. "pause the summer campaign", "raise the daily
budget to $50", or when the object is given a new value ("budget to $80"). A creative ask
that mentions a campaign ("make images for our summer campaign") is not: the object comes
after "for/about/from/of/in", or an asset noun sits between the verb and the object.

`auto` mode: `asset` when the message asks to make something (a making verb, or an asset
noun such as image, video, ad, concept), else `discover`.
"""

from __future__ import annotations

import re
from typing import Any

VERBS = (
    r"change|update|edit|modify|pause|unpause|resume|stop|start|restart|turn\s+(?:on|off)|"
    r"switch\s+(?:on|off)|enable|disable|activate|deactivate|reactivate|increase|decrease|"
    r"raise|lower|bump|scale(?:\s+up|\s+down)?|set|reset|delete|remove|create|launch|"
    r"relaunch|duplicate|cap|adjust|boost|cut|double|halve|triple|reallocate|shift|move|"
    r"rename|archive|unarchive|publish|kill|end|extend|connect|disconnect|add|close|"
    r"top\s+up|reduce|optimi[sz]e|change\s+over|transfer|assign|swap|split|merge"
)
OBJECTS = (
    r"campaigns?|ad\s*sets?|adsets?|budgets?|bids?|bidding|bid\s+caps?|cost\s+caps?|"
    r"ad\s+accounts?|business\s+accounts?|(?:meta|facebook|fb)\s+accounts?|billing|"
    r"payment\s+methods?|spend(?:ing)?\s+limits?|spend\s+caps?|targeting|audiences?|placements?"
)
# Between the verb and the object: a few words, none of them a preposition that makes the
# object a purpose or a topic, nor an asset noun that makes the ask creative.
_FILLER = r"(?:(?!for\b|about\b|from\b|of\b|in\b|like\b|on\b)" + r"[\w'$%.,-]+\s+){0,5}?"
ASSET_NOUNS = (
    r"images?|pictures?|photos?|visuals?|videos?|clips?|ads?\b(?!\s*(?:sets?|accounts?))|creatives?|"
    r"concepts?|copy|headlines?|banners?|mockups?|renders?|shots?|reels?|stories|posts?"
)
_MUTATION = re.compile(rf"\b(?:{VERBS})\b\s+{_FILLER}(?:{OBJECTS})\b", re.IGNORECASE)
_NEW_VALUE = re.compile(
    rf"\b(?:{OBJECTS})\b\s+(?:to|by|at)\s+(?:\$|€|£)?\d|\b(?:{OBJECTS})\b\s+(?:should|must|"
    r"needs?\s+to)\s+(?:be|go|stop|end|pause|run)",
    re.IGNORECASE,
)
_PAUSE_ADS = re.compile(
    r"\b(?:pause|unpause|turn\s+off|switch\s+off|stop|kill|deactivate|activate|delete)\s+"
    r"(?:all\s+|my\s+|our\s+|the\s+)*(?:running\s+|live\s+|active\s+)?ads\b",
    re.IGNORECASE,
)
_ASSET_BETWEEN = re.compile(rf"\b(?:{ASSET_NOUNS})", re.IGNORECASE)


def changes_meta_account(message: str) -> bool:
    """Whether `message` asks to change Meta campaigns, ad sets, budgets or accounts."""
    text = " ".join(message.split())
    if _NEW_VALUE.search(text) or _PAUSE_ADS.search(text):
        return True
    return any(not _ASSET_BETWEEN.search(found.group(0)) for found in _MUTATION.finditer(text))


_MAKING = re.compile(
    r"\b(?:make|create|generate|design|render|produce|draft|write|shoot|animate|build|give me)\b",
    re.IGNORECASE,
)
_ASSET = re.compile(rf"\b(?:{ASSET_NOUNS})", re.IGNORECASE)


def auto_mode(message: str) -> str:
    return "asset" if _MAKING.search(message) or _ASSET.search(message) else "discover"


# --- the offline planner -------------------------------------------------------------------------

_NUMBERS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "single": 1,
    "two": 2,
    "pair": 2,
    "couple": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
}
_COUNTED = re.compile(
    r"\b(\d+|a|an|one|single|two|pair|couple|three|four|five|six)"
    r"(?!\s*-?\s*(?:s\b|secs?\b|seconds?\b))\s+(?:of\s+)?"
    r"(?:\w+\s+){0,3}?(ad\s+concepts?|ads?\b|concepts?|images?|pictures?|photos?|visuals?|"
    r"shots?|videos?|clips?|reels?)",
    re.IGNORECASE,
)


def _kind(noun: str) -> str:
    noun = noun.lower()
    if noun.startswith(("ad", "concept")):
        return "ad"
    if noun.startswith(("video", "clip", "reel")):
        return "video"
    return "image"


def asks(message: str) -> list[tuple[str, int]]:
    """[(kind, count)] the message asks for, in order ("three ad concepts" → [("ad", 3)])."""
    found: list[tuple[str, int]] = []
    for number, noun in _COUNTED.findall(message):
        count = int(number) if number.isdigit() else _NUMBERS[number.lower()]
        found.append((_kind(noun), max(1, min(count, 4))))
    if not found:
        lowered = message.lower()
        for kind, pattern in (("ad", r"\bads?\b|concept"), ("video", r"video|clip|reel"),
                              ("image", r"image|picture|photo|visual|shot")):  # fmt: skip
            if re.search(pattern, lowered):
                found.append((kind, 1))
    return found


def _scene(message: str) -> str:
    text = " ".join(message.split())
    scene = re.search(r"\b(?:on|in|at|with)\s+(?:a|an|the)?\s*([\w\s-]{3,60})$", text)
    return scene.group(0) if scene else ""


def plan(message: str, mode: str, context: dict[str, Any]) -> list[dict[str, Any]]:
    """The tool calls for `message`: [{name, arguments}]. Products come from the request,
    else from list_products matched by name (`"product_ids": "$matched"`)."""
    calls: list[dict[str, Any]] = []
    has_products = bool(context.get("product_ids"))
    lowered = message.lower()
    if mode == "discover":
        if re.search(r"credit|balance", lowered):
            calls.append({"name": "get_credits", "arguments": {}})
        if re.search(r"product|catalog", lowered) or not calls:
            calls.append({"name": "list_products", "arguments": {}})
        if re.search(r"\bads?\b|competitor|research|library", lowered):
            calls.append({"name": "research_ads", "arguments": {"query": _topic(message)}})
        if re.search(r"generation|made|history|recent", lowered):
            calls.append({"name": "list_generations", "arguments": {}})
        return calls
    wanted = asks(message) or [("image", 1)]
    if not has_products:
        calls.append({"name": "list_products", "arguments": {}})
    scene = _scene(message)
    for kind, count in wanted:
        if kind == "ad":
            for number in range(count):  # one call per concept: each its own angle
                angle = ANGLES[number % len(ANGLES)]
                calls.append(
                    {
                        "name": "generate_ad",
                        "arguments": {
                            "brief": f"{message.strip()} — concept {number + 1}: {angle}",
                            "product_ids": "$matched",
                            "image_count": 1,
                        },
                        "title": f"Ad concept {number + 1}: {angle}",
                    }
                )
        elif kind == "video":
            for number in range(count):
                calls.append(
                    {
                        "name": "generate_video",
                        "arguments": {
                            "prompt": _prompt(message, scene),
                            "duration": _seconds(message),
                        },
                        "title": f"Video {number + 1}",
                    }
                )
        else:
            calls.append(
                {
                    "name": "generate_image",
                    "arguments": {
                        "prompt": _prompt(message, scene),
                        "product_ids": "$matched",
                        "image_count": count if count in (1, 2, 4) else 4 if count > 2 else 2,
                    },
                    "title": f"{count} image{'s' if count > 1 else ''}",
                }
            )
    return calls


ANGLES = ["the problem it solves", "social proof", "the offer", "lifestyle", "the detail"]


def _seconds(message: str) -> int:
    found = re.search(r"\b(\d+)\s*-?\s*(?:s|secs?|seconds?)\b", message, re.IGNORECASE)
    return max(2, min(15, int(found.group(1)))) if found else 5


def _topic(message: str) -> str:
    words = re.findall(r"[a-zA-Z]{4,}", message.lower())
    stop = {"research", "find", "show", "what", "which", "their", "about", "with", "that", "ads"}
    return " ".join(w for w in words if w not in stop)[:80]


def _prompt(message: str, scene: str) -> str:
    text = re.sub(
        r"^\s*(?:please\s+)?(?:make|create|generate|render|produce|give me|design)\s+", "", message,
        flags=re.IGNORECASE,
    )  # fmt: skip
    return (text.strip() or scene or message)[:500]


def match_products(message: str, products: list[dict[str, Any]]) -> list[str]:
    """The listed products the message names (by a word of their name), else the first."""
    words = set(re.findall(r"[a-z0-9]{3,}", message.lower()))
    words |= {w.rstrip("s") for w in words}
    named = [
        p["id"]
        for p in products
        if words & {w.rstrip("s") for w in re.findall(r"[a-z0-9]{3,}", str(p["name"]).lower())}
    ]
    return (named or [p["id"] for p in products[:1]])[:4]


def reply(message: str, steps: list[dict[str, Any]], failed: str = "") -> str:
    """The assistant's summary, written from the real results."""
    lines: list[str] = []
    made = [s for s in steps if s.get("generation_id")]
    for step in steps:
        result = step.get("result") or {}
        if step["name"] == "list_products":
            names = [p["name"] for p in result.get("products", [])]
            if names:
                lines.append(f"Your products: {', '.join(names[:8])}.")
            else:
                lines.append("Your catalog has no products yet.")
        elif step["name"] == "get_credits" and "credits" in result:
            lines.append(f"You have {result['credits']} credits.")
        elif step["name"] == "research_ads":
            ads = result.get("team_ads", [])
            lines.append(
                f"I found {len(ads)} of your own ads"
                + (f", e.g. “{ads[0]['copy'].get('headline', '')}”." if ads else ".")
            )
            library = result.get("meta_ad_library", {})
            lines.append(library.get("note", ""))
            if library.get("ads"):
                first = library["ads"][0]
                lines.append(
                    f"The first is from {first['page_name']}"
                    + (f": “{first['bodies'][0][:120]}”." if first["bodies"] else ".")
                )
        elif step["name"] == "list_generations":
            lines.append(f"You have {len(result.get('generations', []))} recent generations.")
    for step in made:
        result = step.get("result") or {}
        title = step.get("title") or step["name"].replace("_", " ")
        if not result.get("error"):
            count = len(result.get("media_urls") or [])
            headline = (result.get("ad_copy") or {}).get("headline")
            extra = f" — “{headline}”" if headline else ""
            lines.append(f"{title}: done ({count} file{'s' if count != 1 else ''}){extra}.")
        else:
            lines.append(f"{title}: {result.get('error') or 'it did not finish'}.")
    for step in steps:
        if step.get("error") and not step.get("generation_id"):
            lines.append(f"{step['name']} could not run: {step['error']}")
    if failed:
        lines.append(f"I stopped: {failed}")
    if not lines:
        lines.append("There was nothing for me to do with that message.")
    return "\n".join(line for line in lines if line)
