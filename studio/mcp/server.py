"""The MCP server: the SDK's low-level `Server` with Studio's tool registry behind it, served
over streamable HTTP at /mcp (`McpEndpoint`, mounted by studio/asgi.py) and over stdio.

Why the low-level server rather than `MCPServer`'s decorated functions: a tool's schema here
is built per call from the model registry and the caller's team (a new model appears
without code), and every call must go through Studio's key checks and error codes first.

HTTP requests pass, in order: the Host check (Django's ALLOWED_HOSTS semantics, wildcards
included; the SDK's own check knows only exact hosts), key authentication (`X-API-Key` or
`Authorization: Bearer`, the REST API's lookup; 401 with a JSON-RPC error otherwise), then the
SDK. The transport is stateless (no session kept in one process's memory), so any web
process behind a load balancer can answer any request; progress notifications still reach
the client on the call's own response stream.
"""

from __future__ import annotations

import json
import logging
from contextlib import AbstractAsyncContextManager
from contextvars import ContextVar
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.http.request import split_domain_port, validate_host
from mcp import types
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.server.transport_security import TransportSecuritySettings
from mcp.shared.exceptions import MCPError
from starlette.datastructures import Headers
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from studio.api.auth import authorize
from studio.api.ratelimit import ip_of
from studio.errors import InvalidApiKey, NotFound, RateLimited, StudioError
from studio.mcp.prompts import PROMPTS
from studio.mcp.tools import RESOURCES, TOOLS, StudioTool, ToolCall, in_thread
from studio.vault import services as keys
from studio.vault.models import ApiKey

log = logging.getLogger(__name__)

PATH = "/mcp"
SCOPE_KEY = "studio.api_key"
SCOPE_IP = "studio.client_ip"
INVALID_KEY_CODE = -32001  # JSON-RPC's server-error range: the key was refused
# The key of a stdio server (one client, one key, given when the process starts).
STDIO_KEY: ContextVar[str | None] = ContextVar("studio_mcp_stdio_key", default=None)

INSTRUCTIONS = (
    "Studio makes images, video, music, speech and sound effects, chats, and keeps a team's "
    "products, Visual DNA and moodboards. Generation tools wait for the result (up to a few "
    "minutes) and answer with signed media URLs; if the work takes longer they answer "
    '{"state": "processing", "generation_id", "_timed_out": true}: call '
    "get_generation_status with that id (wait=true) to continue. Every generation is paid in "
    "credits (check_credits); list_models gives each model's price and options."
)


# --- who is calling -----------------------------------------------------------------------------


async def caller(ctx: ServerRequestContext[Any, Any]) -> ToolCall:
    """The authenticated key of this request: from the HTTP layer, or the stdio key."""
    request = ctx.request
    if request is not None and getattr(request, "scope", None) is not None:
        key = request.scope.get(SCOPE_KEY)
        if not isinstance(key, ApiKey):
            raise InvalidApiKey()
        ip = str(request.scope.get(SCOPE_IP) or "unknown")
    else:
        # stdio: the key is looked up again on every call, so a revoked key stops working.
        key = await in_thread(keys.authenticate, STDIO_KEY.get() or "")
        ip = "stdio"

    async def report(done: float, total: float | None, message: str | None) -> None:
        try:
            await ctx.session.report_progress(done, total, message)
        except Exception:  # progress is a courtesy; the call goes on
            log.debug("could not send MCP progress", exc_info=True)

    return ToolCall(key=key, ip=ip, report_progress=report)


# --- results ------------------------------------------------------------------------------------


def _text(body: Any) -> types.TextContent:
    return types.TextContent(type="text", text=json.dumps(body, default=str))


def success(body: dict[str, Any]) -> types.CallToolResult:
    extra = body.pop("_content", [])
    return types.CallToolResult(content=[_text(body), *extra], structured_content=body)


def failure(exc: StudioError) -> types.CallToolResult:
    """The contract's error envelope, as an MCP tool error the model can read and act on."""
    body: dict[str, Any] = {"success": False, "error": exc.message, "code": exc.code}
    if isinstance(exc, RateLimited):
        body["retry_after"] = exc.retry_after
    return types.CallToolResult(content=[_text(body)], structured_content=body, is_error=True)


# --- the protocol's handlers --------------------------------------------------------------------


def _describe(tool: StudioTool, team: Any) -> types.Tool:
    return types.Tool(
        name=tool.name,
        description=tool.description,
        input_schema=tool.input_schema(team),
        annotations=types.ToolAnnotations(
            read_only_hint=tool.reads_only,
            destructive_hint=tool.method == "DELETE",
        ),
    )


def describe_tools(team: Any) -> list[types.Tool]:
    from studio.mcp import root

    root.load_tools()
    return [_describe(tool, team) for tool in TOOLS.values()]


async def list_tools(
    ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
) -> types.ListToolsResult:
    try:
        call = await caller(ctx)
    except StudioError as exc:
        raise MCPError(code=INVALID_KEY_CODE, message=exc.message) from None
    return types.ListToolsResult(tools=await in_thread(describe_tools, call.team))


async def run_tool(ctx: ServerRequestContext[Any, Any], name: str, args: dict[str, Any]) -> Any:
    """Authorize and run one tool; its answer, or the StudioError that refused it."""
    from studio.mcp import root

    root.load_tools()
    tool = TOOLS.get(name)
    if tool is None:
        raise StudioError(f"Unknown tool: {name}", status=404)
    call = await caller(ctx)
    # The REST API's own checks, in its order: scope, viewer rule, rate limit.
    await in_thread(
        authorize, call.key, tool.scope, method=tool.method, limit=tool.limit, ip=call.ip
    )
    return await tool.handler(call, args)


async def call_tool(
    ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams
) -> types.CallToolResult:
    try:
        return success(await run_tool(ctx, params.name, dict(params.arguments or {})))
    except StudioError as exc:
        return failure(exc)


async def list_resources(
    ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
) -> types.ListResourcesResult:
    from studio.mcp import root

    root.load_tools()
    return types.ListResourcesResult(
        resources=[
            types.Resource(
                uri=r.uri, name=r.name, description=r.description, mime_type="application/json"
            )
            for r in RESOURCES.values()
        ]
    )


async def read_resource(
    ctx: ServerRequestContext[Any, Any], params: types.ReadResourceRequestParams
) -> types.ReadResourceResult:
    from studio.mcp import root

    root.load_tools()
    uri = str(params.uri)
    resource = RESOURCES.get(uri)
    try:
        if resource is None:
            raise NotFound(f"Unknown resource: {uri}")
        body = await run_tool(ctx, resource.tool, dict(resource.args))
    except StudioError as exc:
        raise MCPError(
            code=INVALID_KEY_CODE if exc.status in (401, 403) else types.INVALID_PARAMS,
            message=exc.message,
            data={"code": exc.code, "uri": uri},
        ) from None
    body.pop("_content", None)
    text = json.dumps(body, default=str)
    return types.ReadResourceResult(
        contents=[types.TextResourceContents(uri=uri, text=text, mime_type="application/json")]
    )


async def list_prompts(
    ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
) -> types.ListPromptsResult:
    return types.ListPromptsResult(
        prompts=[
            types.Prompt(
                name=p.name,
                description=p.description,
                arguments=[
                    types.PromptArgument(name=a, description=d, required=r)
                    for a, d, r in p.arguments
                ],
            )
            for p in PROMPTS.values()
        ]
    )


async def get_prompt(
    ctx: ServerRequestContext[Any, Any], params: types.GetPromptRequestParams
) -> types.GetPromptResult:
    prompt = PROMPTS.get(params.name)
    if prompt is None:
        raise MCPError(code=types.INVALID_PARAMS, message=f"Unknown prompt: {params.name}")
    text = prompt.render(dict(params.arguments or {}))
    return types.GetPromptResult(
        description=prompt.description,
        messages=[
            types.PromptMessage(role="user", content=types.TextContent(type="text", text=text))
        ],
    )


def build_server() -> Server[Any]:
    return Server(
        "studio",
        version="1",
        title="Studio",
        instructions=INSTRUCTIONS,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        on_list_resources=list_resources,
        on_read_resource=read_resource,
        on_list_prompts=list_prompts,
        on_get_prompt=get_prompt,
    )


# --- HTTP: Host check and key authentication in front of the SDK's app --------------------------


def host_allowed(host: str) -> bool:
    """The Host header names Studio: ALLOWED_HOSTS (Django's patterns) or STUDIO_BASE_URL's."""
    domain, _port = split_domain_port(host)
    allowed = [*settings.ALLOWED_HOSTS, urlsplit(settings.BASE_URL).hostname or ""]
    return bool(domain) and validate_host(domain, allowed)


def origin_allowed(origin: str | None) -> bool:
    """Browsers send Origin; a page of another site may not drive a local Studio's tools."""
    if not origin:
        return True
    trusted = {settings.BASE_URL, *settings.CSRF_TRUSTED_ORIGINS}
    return origin.rstrip("/") in trusted or host_allowed(urlsplit(origin).netloc)


def raw_key(headers: Headers) -> str:
    if headers.get("x-api-key"):
        return headers["x-api-key"]
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def refused(status: int, message: str, code: str) -> Response:
    """A JSON-RPC error body (what MCP clients read) with the contract's code in `data`."""
    body = {
        "jsonrpc": "2.0",
        "id": None,
        "error": {"code": INVALID_KEY_CODE, "message": message, "data": {"code": code}},
    }
    headers = {"WWW-Authenticate": 'Bearer realm="studio"'} if status == 401 else None
    return JSONResponse(body, status_code=status, headers=headers)


class McpEndpoint:
    """The ASGI app of /mcp. `running()` must be entered (the ASGI lifespan) before serving."""

    def __init__(self) -> None:
        self.server = build_server()
        self.app = self.server.streamable_http_app(
            streamable_http_path=PATH,
            stateless_http=True,
            # Host and Origin are checked above with Django's rules; the SDK checks only
            # Content-Type and the body size then.
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        )

    def running(self) -> AbstractAsyncContextManager[None]:
        return self.server.session_manager.run()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope)
        if not host_allowed(headers.get("host", "")):
            message = "Invalid Host header: add the host to STUDIO_ALLOWED_HOSTS"
            return await refused(421, message, "BAD_HOST")(scope, receive, send)
        if not origin_allowed(headers.get("origin")):
            response = refused(403, "Invalid Origin header", "FORBIDDEN")
            return await response(scope, receive, send)
        try:
            key = await in_thread(keys.authenticate, raw_key(headers))
        except InvalidApiKey as exc:
            message = exc.message
            if message == InvalidApiKey.default_message:
                message += ": send it in X-API-Key or Authorization: Bearer"
            return await refused(401, message, exc.code)(scope, receive, send)
        scope[SCOPE_KEY] = key
        client = scope.get("client") or ("", 0)
        scope[SCOPE_IP] = ip_of(client[0], headers.get("x-forwarded-for"))
        await self.app(scope, receive, send)
