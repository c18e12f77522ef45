"""Shared response shapes and the success helpers of both dialects.

Kolbo-shaped endpoints put fields at the top level: `return kolbo(generation_id=..., ...)`
gives {"success": true, "generation_id": ...}. Krev-shaped endpoints wrap them:
`return krev(data)` gives {"success": true, "data": ...}; lists add `meta`:
`return krev(items, meta={"count": len(items)})`.

For the OpenAPI document, declare `response=` with the success schema and the errors the
endpoint can return: `response={200: ModelsOut, **errors(400, 401, 403, 429)}`, or
`response=with_errors(ModelsOut)` for the errors every key-authenticated endpoint has.
"""

from __future__ import annotations

from typing import Any, Generic, Literal, TypeVar

from ninja import Schema
from pydantic import Field

T = TypeVar("T")


class ErrorOut(Schema):
    success: Literal[False] = False
    error: str = Field(description="Human-readable message")
    code: str = Field(description="Machine-readable code, see the contract's table")


class RateLimitedOut(ErrorOut):
    status: Literal[False] = False
    message: str


class KrevMeta(Schema):
    count: int


class KrevResponse(Schema, Generic[T]):
    """{"success": true, "data": ...}: the Krev envelope."""

    success: Literal[True] = True
    data: T


class KrevListResponse(Schema, Generic[T]):
    success: Literal[True] = True
    data: list[T]
    meta: KrevMeta


class OkMessage(Schema):
    success: Literal[True] = True
    message: str


def kolbo(**fields: Any) -> dict[str, Any]:
    """A Kolbo-shaped success: the fields at the top level next to `success: true`."""
    return {"success": True, **fields}


def krev(data: Any, *, meta: dict[str, Any] | None = None) -> dict[str, Any]:
    """A Krev-shaped success: `data` wrapped, with optional `meta` (lists: {"count": n})."""
    body: dict[str, Any] = {"success": True, "data": data}
    if meta is not None:
        body["meta"] = meta
    return body


def krev_list(items: list[Any]) -> dict[str, Any]:
    return krev(items, meta={"count": len(items)})


def errors(*statuses: int) -> dict[int, type[Schema]]:
    """Error responses for `response=`; 429 uses the contract's rate-limit body."""
    return {status: RateLimitedOut if status == 429 else ErrorOut for status in statuses}


def with_errors(ok: Any, *extra: int, status: int = 200) -> dict[int, Any]:
    """`ok` plus the errors of any key-authenticated endpoint (400, 401, 403, 429) and `extra`."""
    return {status: ok, **errors(400, 401, 403, 429, *extra)}
