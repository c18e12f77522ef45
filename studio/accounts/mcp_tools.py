"""MCP tool of the accounts app: the credit balance (as `GET /api/v1/account/credits`)."""

from __future__ import annotations

from typing import Any

from studio.accounts.api import kolbo_credits
from studio.accounts.models import Team
from studio.mcp.tools import ToolCall, register_tool


@register_tool("check_credits", "The team's credit balance, by bucket.", scope="credits")
async def check_credits(call: ToolCall, args: dict[str, Any]) -> dict[str, Any]:
    def read() -> dict[str, Any]:
        # The current row: the key's team may come from the key cache, seconds old.
        return kolbo_credits(Team.objects.select_related("plan").get(pk=call.team.pk))

    return await call.sync(read)
