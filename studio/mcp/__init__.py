"""Studio's MCP server: every feature as tools for AI agents (`/mcp`, `manage.py mcp_stdio`).

The official MCP SDK speaks the protocol (streamable HTTP, mounted by `studio/asgi.py`, and
stdio); Studio supplies the tools. A tool is one registration in the app that owns the
feature, next to its REST endpoint and calling the same services and presenters:

    # generations/mcp_tools.py (or the module of the app that owns the feature)
    from studio.mcp.tools import ToolCall, register_tool

    @register_tool(
        "generate_image_edit",
        "Edit 1-4 source images with a prompt; waits for the result.",
        scope="images",                # the key scope it needs, as the REST endpoint's api_key()
        method="POST",                 # POST/DELETE change things: viewers are refused
        limit=RateClass.GENERATION,    # the REST endpoint's rate class: one shared counter
        schema=lambda team: generation_schema(team, "image_edit", kolbo_api.ImageEditIn),
    )
    async def generate_image_edit(call: ToolCall, args: dict) -> dict:
        generation = await call.sync(
            start_kolbo_generation, call, "image_edit", kolbo_api.ImageEditIn, args, {}
        )
        return await finished_or_processing(call, generation)

A plain generation type is one `_register_generation_tool(name, description, type, RestIn)`
line in generations/mcp_tools.py (`generate_image_edit` is one). Parent jobs start through
their own service and answer with `finished_or_processing(..., present=...)`
(`generate_creative_director`, `generate_ad`); `send_meta_conversion` lives with its app
(studio/integrations/mcp_tools.py).

Before the function runs, `studio.api.auth.authorize` checks the key's scope, the member's
role and the rate limit, exactly as for REST. A `studio.errors` error raised inside becomes an
MCP tool error carrying the contract's `code` and message. `schema` is a JSON Schema, or a
function of the caller's team that builds one (so registry models and voices appear without
code). The module must be imported by `studio/mcp/root.py` to be served.

Resources are views onto read tools (`register_resource("studio://products", ...,
tool="list_products")`: the same checks and shape); prompts are text in studio/mcp/prompts.py.
Generation tools wait with `generations.mcp_tools.finished_or_processing` (the inline-wait
mechanism of generations/notify.py, progress notifications every few seconds) up to
STUDIO_MCP_WAIT_SECONDS.
"""
