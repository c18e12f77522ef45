"""The NinjaAPI instance mounted at /api/ and the routers each app contributes.

Paths: the public API lives under /api/v1 (both dialects); Kolbo's key management and
token endpoints sit beside it at /api/api-keys and /api/auth/token, as Kolbo has them.
"""

from __future__ import annotations

from ninja import NinjaAPI
from ninja.errors import ValidationError, ValidationErrorContext

from catalog.api import router as catalog_router
from generations.api import router as generations_router
from studio.accounts.api import router as accounts_router
from studio.api import errors
from studio.integrations.api import router as integrations_router
from studio.vault.api import kolbo_keys_router, krev_keys_router, token_router


class StudioAPI(NinjaAPI):
    def validation_error_from_error_contexts(
        self, error_contexts: list[ValidationErrorContext]
    ) -> ValidationError:
        """An empty body reports the schema's required fields, not the parameter's name."""
        error = super().validation_error_from_error_contexts(error_contexts)
        for context in error_contexts:
            for name, field in context.model.model_fields.items():
                schema = field.annotation
                missing_whole = any(
                    e.get("type") == "missing" and tuple(e["loc"][1:]) == (name,)
                    for e in error.errors
                )
                if missing_whole and hasattr(schema, "model_fields"):
                    required = [n for n, f in schema.model_fields.items() if f.is_required()]
                    error.errors = [e for e in error.errors if tuple(e["loc"][1:]) != (name,)] + [
                        {"type": "missing", "loc": ("body", n), "msg": "Field required"}
                        for n in required
                    ]
        return error


api = StudioAPI(
    title="Studio API",
    version="1",
    description=(
        "Studio's public API. It speaks the Kolbo Developer API (fields at the top level, "
        "`X-API-Key`) and the Krev API (`{success, data}`, `Authorization: Bearer`); both "
        "headers are accepted everywhere. Errors are `{success: false, error, code}`."
    ),
    openapi_url="/v1/openapi.json",
    docs_url="/v1/docs",
    urls_namespace="api",
    parser=errors.JsonObjectParser(),
)
errors.install(api)

api.add_router("/v1", generations_router)
api.add_router("/v1", accounts_router)
api.add_router("/v1", catalog_router)  # products (Krev), Visual DNA and moodboards (Kolbo)
api.add_router("/v1", integrations_router)  # Meta conversions, webhooks
api.add_router("/v1", krev_keys_router)
api.add_router("/api-keys", kolbo_keys_router)
api.add_router("/auth", token_router)
