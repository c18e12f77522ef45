"""The apps' MCP tools, as `studio/api/root.py` gathers their routers: importing a tool module
registers its tools (studio/mcp/tools.py). Add a new module here."""

from __future__ import annotations

import functools


@functools.cache
def load_tools() -> None:
    # Products, Visual DNA and moodboards; chat; generations, status, cancel, models and
    # voices; credits.
    import catalog.mcp_tools  # noqa: F401
    import generations.chat.mcp_tools
    import generations.mcp_tools  # noqa: F401
    import studio.accounts.mcp_tools
    import studio.integrations.mcp_tools  # noqa: F401
