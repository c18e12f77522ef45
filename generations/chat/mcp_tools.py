"""MCP chat tools: send a message (and wait for the answer), list conversations, read one.

The same service as `POST /api/v1/chat` (session form) and the same readers as the Kolbo
conversation endpoints; the answer waits like a generation tool.
"""

from __future__ import annotations

from typing import Any

from generations.chat import services
from generations.chat.api import ChatIn, MessagePage, Page, conversations_page, messages_page
from generations.mcp_tools import finished_or_processing
from generations.models import Source
from studio.api.ratelimit import RateClass
from studio.mcp.tools import ToolCall, from_pydantic, object_schema, register_tool, validated

SEND_SCHEMA = from_pydantic(ChatIn, drop=("messages", "project_id"))


@register_tool(
    "chat_send_message",
    "Send a chat message (a new conversation, or session_id to continue one) and wait for "
    "the answer; priced per 1K tokens.",
    scope="chat",
    method="POST",
    limit=RateClass.GENERATION,
    schema=SEND_SCHEMA,
)
async def chat_send_message(call: ToolCall, args: dict[str, Any]) -> dict[str, Any]:
    def start() -> services.ChatStarted:
        raw = validated(ChatIn, args).dict(exclude_none=True)
        raw.pop("messages", None)
        return services.start_message(
            call.team, call.user, raw, source=Source.API, api_key_id=call.key.uuid
        )

    started = await call.sync(start)
    body = await finished_or_processing(call, started.generation)
    body.update(message_id=str(started.generation.uuid), session_id=str(started.conversation.uuid))
    return body


@register_tool(
    "chat_list_conversations",
    "The team's chat conversations, latest activity first.",
    limit=RateClass.READ,
    schema=from_pydantic(Page),
)
async def chat_list_conversations(call: ToolCall, args: dict[str, Any]) -> dict[str, Any]:
    query = validated(Page, args)
    return await call.sync(conversations_page, call.team, query.page, query.limit)


@register_tool(
    "chat_get_messages",
    "The messages of one conversation (session_id), oldest first.",
    limit=RateClass.READ,
    schema=object_schema(
        {"session_id": {"type": "string"}, **from_pydantic(MessagePage)["properties"]},
        ["session_id"],
    ),
)
async def chat_get_messages(call: ToolCall, args: dict[str, Any]) -> dict[str, Any]:
    session_id = args.pop("session_id", None)
    query = validated(MessagePage, args)
    return await call.sync(messages_page, call.team, session_id, query.page, query.limit)
