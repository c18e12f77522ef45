"""The one error type services raise; the API maps it to the contract's envelope in one place.

Each subclass carries the contract's code and HTTP status. Dashboard views turn the same
errors into form errors or messages, so a rule is enforced once, in the service.
"""

from __future__ import annotations


class StudioError(Exception):
    code = "GENERATION_ERROR"
    status = 500
    default_message = "Something went wrong"

    def __init__(self, message: str | None = None, *, status: int | None = None) -> None:
        self.message = message or self.default_message
        if status is not None:
            self.status = status
        super().__init__(self.message)


class InvalidApiKey(StudioError):
    code, status, default_message = "INVALID_API_KEY", 401, "Invalid or missing API key"


class Forbidden(StudioError):
    code, status, default_message = "FORBIDDEN", 403, "You do not have permission to do this"


class MissingFields(StudioError):
    code, status, default_message = "MISSING_FIELDS", 400, "Required fields are missing"


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


class RateLimited(StudioError):
    code, status, default_message = (
        "RATE_LIMITED",
        429,
        "Too many requests, please try again later",
    )

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        self.retry_after = max(1, int(retry_after))
        super().__init__(message)


class GenerationError(StudioError):
    code, status, default_message = (
        "GENERATION_ERROR",
        500,
        "The generation could not be started",
    )
