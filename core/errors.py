"""The one application error every interface turns into a clear message."""

from typing import Any


class ApplicationError(Exception):
    """A refused step: a stable `code` (docs/api.md, "Errors"), a sentence for a person,
    and extra data (for example the `items` a conflict concerns)."""

    status_code = 409

    def __init__(
        self,
        message: str,
        *,
        code: str,
        extra: dict[str, Any] | None = None,
        status_code: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.extra = extra or {}
        if status_code is not None:
            self.status_code = status_code

    def __str__(self) -> str:
        return self.message


class NotFound(ApplicationError):
    def __init__(self, message: str) -> None:
        super().__init__(message, code="not_found", status_code=404)


class InvalidInput(ApplicationError):
    def __init__(self, message: str, *, fields: dict[str, list[str]] | None = None) -> None:
        super().__init__(
            message,
            code="validation_error",
            status_code=400,
            extra={"fields": fields} if fields else None,
        )
