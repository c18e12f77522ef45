"""Studio as an ASGI application: Django for everything, the MCP server at /mcp.

The MCP server's session manager runs inside the ASGI lifespan of this top-level app (a
mounted app's own lifespan never runs), so serve it with the lifespan on: `make run` does
(uvicorn), and so do gunicorn's uvicorn workers and `uvicorn --lifespan on`.
"""

from __future__ import annotations

import os
from typing import Any

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
django_application = get_asgi_application()


class StudioApplication:
    def __init__(self, django_app: Any) -> None:
        self.django_app = django_app
        self.mcp: Any = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self.lifespan(receive, send)
        elif scope["type"] == "http" and scope["path"].rstrip("/") == "/mcp":
            await self.serve_mcp(scope, receive, send)
        else:
            await self.django_app(scope, receive, send)

    async def serve_mcp(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if self.mcp is None:
            from starlette.responses import PlainTextResponse

            response = PlainTextResponse(
                "The MCP server starts with the ASGI lifespan; run the server with it on "
                "(uvicorn --lifespan on).",
                status_code=503,
            )
            await response(scope, receive, send)
            return
        if scope["path"] != "/mcp":
            scope = {**scope, "path": "/mcp", "raw_path": b"/mcp"}
        await self.mcp(scope, receive, send)

    async def lifespan(self, receive: Any, send: Any) -> None:
        from studio.mcp.server import McpEndpoint

        await receive()  # lifespan.startup
        started = False
        try:
            endpoint = McpEndpoint()
            async with endpoint.running():
                self.mcp, started = endpoint, True
                await send({"type": "lifespan.startup.complete"})
                await receive()  # lifespan.shutdown
                self.mcp = None
        except Exception as exc:
            self.mcp = None
            phase = "shutdown" if started else "startup"
            await send({"type": f"lifespan.{phase}.failed", "message": str(exc)})
            return
        await send({"type": "lifespan.shutdown.complete"})


application = StudioApplication(django_application)
