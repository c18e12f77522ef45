"""A generation-class endpoint for tests only (mounted when settings.TESTING is on).

The rate-limit tests need a request that counts against the per-user generation limit
across processes before the engine's own generation endpoints exist; this one does no
work at all, so a test sees the limiter and nothing else. Hidden from the OpenAPI document.
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router

from studio.api.auth import api_key, caller_key
from studio.api.ratelimit import RateClass
from studio.api.schemas import kolbo

router = Router()


@router.post(
    "/generate",
    auth=api_key("images", limit=RateClass.GENERATION),
    include_in_schema=False,
)
def probe_generate(request: HttpRequest) -> dict:
    return kolbo(key=str(caller_key(request).uuid))
