from django import template
from django.urls import NoReverseMatch, reverse

register = template.Library()

# The sidebar, in order. Entries whose page is not installed are left out.
NAV = [
    ("studio", "Studio", "✦"),
    ("gallery", "Gallery", "▦"),
    ("creative_director", "Creative Director", "▤"),
    ("chat", "Chat", "✎"),
    ("ads", "Ads", "◩"),
    ("agent", "Agent", "◈"),
    ("catalog", "Catalog", "◫"),
    ("api_keys", "API keys", "⌘"),
    ("provider_credentials", "Providers", "⇄"),
    ("integrations", "Integrations", "↗"),
    ("credits", "Credits", "◎"),
    ("members", "Team", "☺"),
    ("team_settings", "Settings", "⚙"),
]


@register.simple_tag(takes_context=True)
def team_nav(context: template.Context, team: object) -> list[dict[str, object]]:
    request = context.get("request")
    current = request.resolver_match.url_name if request and request.resolver_match else ""
    items = []
    for name, label, icon in NAV:
        try:
            url = reverse(name, args=[team.uuid])  # type: ignore[attr-defined]
        except NoReverseMatch:
            continue
        active = current == name or (current or "").startswith(name + "_")
        items.append({"url": url, "label": label, "icon": icon, "active": active})
    return items


@register.filter
def credits(value: int | None) -> str:
    """1234567 -> '1,234,567'."""
    return f"{int(value or 0):,}"
