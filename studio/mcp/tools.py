"""The tool registry and what a tool sees of its call (see the package docstring for usage).

Tools are plain async functions `(call, args) -> dict`; the server (studio/mcp/server.py) lists
them with their schemas, authorizes each call through the REST API's own `authorize`, runs
them and turns their answer or their `StudioError` into an MCP result.
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from asgiref.sync import sync_to_async
from django.db import connection
from pydantic import BaseModel

from studio.accounts.models import Team, User
from studio.api.ratelimit import RateClass
from studio.vault.models import ApiKey

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
Schema = dict[str, Any]
Handler = Callable[["ToolCall", dict[str, Any]], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class StudioTool:
    name: str
    description: str
    handler: Handler
    scope: str | None
    method: str
    limit: RateClass
    schema: Schema | Callable[[Team], Schema]

    @property
    def reads_only(self) -> bool:
        return self.method in ("GET", "HEAD")

    def input_schema(self, team: Team) -> Schema:
        return self.schema(team) if callable(self.schema) else copy.deepcopy(self.schema)


TOOLS: dict[str, StudioTool] = {}


def register_tool(
    name: str,
    description: str,
    *,
    scope: str | None = None,
    method: str = "GET",
    limit: RateClass = RateClass.READ,
    schema: Schema | Callable[[Team], Schema] | None = None,
) -> Callable[[Handler], Handler]:
    """Serve the decorated function as the MCP tool `name` (see the package docstring)."""

    def register(handler: Handler) -> Handler:
        if name in TOOLS and TOOLS[name].handler.__qualname__ != handler.__qualname__:
            raise ValueError(f"MCP tool {name!r} is registered twice")
        TOOLS[name] = StudioTool(
            name=name,
            description=description,
            handler=handler,
            scope=scope,
            method=method,
            limit=limit,
            schema=schema if schema is not None else object_schema({}),
        )
        return handler

    return register


@dataclass(frozen=True)
class StudioResource:
    """A read-only view an agent can attach as context: the answer of a read tool, so it is
    authorized, limited and shaped exactly as that tool."""

    uri: str
    name: str
    description: str
    tool: str
    args: dict[str, Any]


RESOURCES: dict[str, StudioResource] = {}


def register_resource(
    uri: str, name: str, description: str, *, tool: str, args: dict[str, Any] | None = None
) -> None:
    RESOURCES[uri] = StudioResource(uri, name, description, tool, args or {})


def _closing(fn: Callable[..., T]) -> Callable[..., T]:
    def run(*args: Any, **kwargs: Any) -> T:
        try:
            return fn(*args, **kwargs)
        finally:
            # Outside Django's request cycle nobody else gives the thread's connection back
            # (to the pool, where there is one); a waiting tool must hold none.
            if not connection.in_atomic_block:
                connection.close()

    return run


async def in_thread(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run synchronous ORM code (the services) off the event loop."""
    return await sync_to_async(_closing(fn), thread_sensitive=False)(*args, **kwargs)


ProgressReporter = Callable[[float, float | None, str | None], Awaitable[None]]


@dataclass(frozen=True)
class ToolCall:
    """Who is calling (the authenticated key) and how to tell them about progress."""

    key: ApiKey
    ip: str
    report_progress: ProgressReporter | None = None

    @property
    def team(self) -> Team:
        return self.key.team

    @property
    def user(self) -> User:
        return self.key.user

    async def progress(self, done: float, total: float = 100, message: str | None = None) -> None:
        if self.report_progress is not None:
            await self.report_progress(done, total, message)

    async def sync(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await in_thread(fn, *args, **kwargs)


def validated(model: type[M], args: dict[str, Any]) -> M:
    """`args` through a REST input schema, rejected as the REST API rejects a body."""
    from pydantic import ValidationError

    from studio.api.errors import validation_error

    try:
        return model.model_validate(args)
    except ValidationError as exc:
        raise validation_error([dict(e) for e in exc.errors()]) from None


# --- JSON Schema helpers ------------------------------------------------------------------------


def object_schema(properties: dict[str, Schema], required: list[str] | None = None) -> Schema:
    schema: Schema = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = required
    return schema


def from_pydantic(model: Any, *, drop: tuple[str, ...] = ()) -> Schema:
    """The JSON Schema of a REST input schema (ninja/pydantic), flattened for MCP clients:
    optional fields are plain types (no `anyOf` with null), no titles, no `$defs`."""
    raw = model.model_json_schema()
    defs = raw.get("$defs", {})

    def clean(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return clean(defs[node["$ref"].rsplit("/", 1)[-1]])
            options = node.get("anyOf")
            if options and any(o.get("type") == "null" for o in options):
                kept = [o for o in options if o.get("type") != "null"]
                merged = {k: v for k, v in node.items() if k not in ("anyOf", "default")}
                if len(kept) == 1:
                    merged.update(kept[0])
                else:
                    merged["anyOf"] = kept
                node = merged
            return {k: clean(v) for k, v in node.items() if k not in ("title", "$defs")}
        if isinstance(node, list):
            return [clean(v) for v in node]
        return node

    schema = clean(raw)
    for name in drop:
        schema["properties"].pop(name, None)
        if name in schema.get("required", []):
            schema["required"].remove(name)
    schema.setdefault("required", [])
    if not schema["required"]:
        schema.pop("required")
    schema["additionalProperties"] = False
    return schema
