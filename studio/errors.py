"""The one error type services raise; the API maps it to the contract's envelope in one place.

Each subclass carries the contract's code and HTTP status. Dashboard views turn the same
errors into form errors or messages, so a rule is enforced once, in the service.
"""

from __future__ import annotations

from collections.abc import Container, Mapping, Sequence
from typing import Self


class StudioError(Exception):
    code = "GENERATION_ERROR"
    status = 500
    default_message = "Something went wrong"
    # The request field the error is about, when there is one: forms put the message there.
    field: str | None = None
    # What is wrong with `field`, without its name ("must be between 1 and 10"), when the
    # message is the field's API name then this: a form says it with its own words.
    reason: str | None = None

    def __init__(
        self, message: str | None = None, *, status: int | None = None, field: str | None = None
    ) -> None:
        self.message = message or self.default_message
        if status is not None:
            self.status = status
        if field is not None:
            self.field = field
        super().__init__(self.message)

    @classmethod
    def about(cls, field: str, reason: str) -> Self:
        """`field` `reason` as the message ("duration must be between 1 and 10"), and both
        kept apart for the dashboard."""
        error = cls(f"{field} {reason}", field=field)
        error.reason = reason
        return error


class InvalidApiKey(StudioError):
    code, status, default_message = "INVALID_API_KEY", 401, "Invalid or missing API key"


class Forbidden(StudioError):
    code, status, default_message = "FORBIDDEN", 403, "You do not have permission to do this"


class MissingFields(StudioError):
    code, status, default_message = "MISSING_FIELDS", 400, "Required fields are missing"

    def __init__(
        self,
        message: str | None = None,
        *,
        status: int | None = None,
        field: str | None = None,
        fields: Sequence[str] = (),
    ) -> None:
        # The missing fields when the message only lists them (`of`), so a form can say it in
        # its own words; a message that says more ("images (1-4 files)") sets `field` alone.
        self.fields = tuple(fields)
        super().__init__(message, status=status, field=field or next(iter(self.fields), None))

    @classmethod
    def of(cls, *names: str) -> MissingFields:
        """The API's "Missing required field: prompt" ("fields: a, b" for several), knowing
        the names."""
        plural = "s" if len(names) > 1 else ""
        return cls(f"Missing required field{plural}: {', '.join(names)}", fields=names)


class InvalidFields(StudioError):
    code, status, default_message = "INVALID_FIELDS", 400, "Invalid request"


class ModelNotFound(StudioError):
    code, status, default_message = "MODEL_NOT_FOUND", 400, "Model not found"


class WrongModelType(StudioError):
    code, status, default_message = (
        "WRONG_MODEL_TYPE",
        400,
        "This model does not do this kind of generation",
    )


class InvalidModel(StudioError):
    """Chat paths only (Kolbo's docs): an unknown or unavailable chat model."""

    code, status, default_message = "INVALID_MODEL", 400, "Unknown or unavailable chat model"


class InsufficientCredits(StudioError):
    code, status, default_message = (
        "INSUFFICIENT_CREDITS",
        400,
        "Not enough credits for this generation",
    )


class NotFound(StudioError):
    code, status, default_message = "NOT_FOUND", 404, "Not found"


class Conflict(StudioError):
    code, status, default_message = "CONFLICT", 409, "Conflict"


class PayloadTooLarge(StudioError):
    code, status, default_message = "PAYLOAD_TOO_LARGE", 413, "Upload is too large"


class StorageFull(StudioError):
    """The team's plan has no room for more media (the UI offers deleting or a larger plan).

    Not raised itself: a new job refused for a full store is `NoStorageLeft` (403), an upload
    that does not fit is `UploadDoesNotFit` (413)."""

    default_message = "Your team's storage is full; delete old media or move to a larger plan"


class NoStorageLeft(StorageFull, Forbidden):
    pass


class UploadDoesNotFit(StorageFull, PayloadTooLarge):
    pass


class RateLimited(StudioError):
    code, status, default_message = (
        "RATE_LIMITED",
        429,
        "Too many requests, please try again later",
    )

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        self.retry_after = max(1, int(retry_after))
        super().__init__(message)


class ServiceUnavailable(StudioError):
    """The database (or another part the request needs) is out of reach for now: out of
    connections under load, a pool timeout, a locked SQLite file. Its work is transactional,
    so the request can be sent again."""

    code, status, default_message = (
        "SERVICE_UNAVAILABLE",
        503,
        "Studio is too busy to answer right now; please try again in a few seconds",
    )

    def __init__(self, retry_after: int = 2, message: str | None = None) -> None:
        self.retry_after = max(1, int(retry_after))
        super().__init__(message)


class GenerationError(StudioError):
    code, status, default_message = (
        "GENERATION_ERROR",
        500,
        "The generation could not be started",
    )


def form_field(
    exc: StudioError, fields: Container[str], renamed: Mapping[str, str] | None = None
) -> str | None:
    """The field of a form (`fields`) that `exc` is about, under the form's name for it
    (`renamed`: request name → form name); None puts the error above the form."""
    if exc.field is None:
        return None
    name = (renamed or {}).get(exc.field, exc.field)
    return name if name in fields else None
