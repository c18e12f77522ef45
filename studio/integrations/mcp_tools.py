"""MCP tools of the integrations app: Meta conversions, through the REST endpoint's service."""

from __future__ import annotations

from typing import Any

from studio.api.ratelimit import RateClass
from studio.integrations import meta
from studio.mcp.tools import ToolCall, register_tool

EVENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": (
        "One event: {event_name, event_time (unix seconds, at most 7 days old), event_id, "
        "action_source, event_source_url, user_data, custom_data}, or {data: [up to 1,000 "
        "events]}. user_data takes friendly keys (email, phone, first_name…) or Meta's own; "
        "Studio normalises and hashes them."
    ),
    "additionalProperties": True,
}


@register_tool(
    "send_meta_conversion",
    "Send conversion events to the team's connected Meta pixel (Conversions API); a repeated "
    "event_id within 48 hours is answered from the first delivery and not sent again.",
    scope="conversions",
    method="POST",
    limit=RateClass.READ,
    schema=EVENT_SCHEMA,
)
async def send_meta_conversion(call: ToolCall, args: dict[str, Any]) -> dict[str, Any]:
    return await call.sync(meta.forward, call.team, args)
