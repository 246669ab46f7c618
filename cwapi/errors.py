"""ConnectWise's error shape: `{"code", "message", "errors": [{"code", "message",
"resource", "field"}]}` with its top-level codes (`InvalidObject`, `NotFound`,
`Unauthorized`, `Forbidden`) and the product's own code (`record_locked`, ...) in
`errors[].code`. Every error of this API goes through `exception_handler`."""

import decimal
import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import DataError
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response

from core.api import flatten_errors
from core.errors import ApplicationError

logger = logging.getLogger(__name__)

TOP_CODES = {400: "InvalidObject", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound"}


class CwError(Exception):
    """An error this API raises itself: `status`, a message and the errors' entries."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or TOP_CODES.get(status, "InvalidObject")
        self.errors = errors
        self.headers = headers or {}


def invalid(message: str, *, field: str = "", resource: str = "", code: str = "") -> CwError:
    """A 400 for bad input: a field, operator or value of a query, or of a body."""
    return CwError(
        400,
        message,
        errors=[
            {
                "code": code or "InvalidField",
                "message": message,
                "resource": resource,
                "field": field,
            }
        ],
    )


def body(status: int, message: str, code: str, errors: list[dict[str, Any]] | None) -> dict:
    result: dict[str, Any] = {"code": code, "message": message}
    if errors:
        result["errors"] = [
            {
                "code": error.get("code", ""),
                "message": error.get("message", ""),
                "resource": error.get("resource", ""),
                "field": error.get("field", ""),
            }
            for error in errors
        ]
    return result


def _from_application_error(exc: ApplicationError, resource: str) -> Response:
    # A refused workflow step (409 in the REST API) is ConnectWise's 400 InvalidObject,
    # with the product's code and the records it concerns inside.
    status = 404 if exc.status_code == 404 else (403 if exc.status_code == 403 else 400)
    errors = [
        {"code": exc.code, "message": messages[0], "resource": resource, "field": field}
        for field, messages in (exc.extra.get("fields") or {}).items()
        if messages
    ]
    for item in exc.extra.get("items") or []:
        errors.append(
            {
                "code": exc.code,
                "message": item.get("reference", ""),
                "resource": item.get("type", resource),
                "field": str(item.get("id", "")),
            }
        )
    if not errors:
        errors = [{"code": exc.code, "message": exc.message, "resource": resource, "field": ""}]
    return Response(body(status, exc.message, TOP_CODES[status], errors), status=status)


def exception_handler(exc: Exception, context: dict) -> Response:
    from rest_framework.views import set_rollback

    set_rollback()
    view = context.get("view")
    resource = getattr(view, "resource_name", "")
    if isinstance(exc, CwError):
        response = Response(body(exc.status, exc.message, exc.code, exc.errors), status=exc.status)
        for name, value in exc.headers.items():
            response[name] = value
        return response
    if isinstance(exc, ApplicationError):
        return _from_application_error(exc, resource)
    if isinstance(exc, DataError | decimal.InvalidOperation):
        logger.warning("Input the validation let through: %r", exc)
        return Response(
            body(400, "A value is too large, or not valid.", "InvalidObject", None), 400
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, exceptions.ValidationError):
        fields = flatten_errors(exc.detail)
        errors = [
            {"code": "InvalidField", "message": m[0], "resource": resource, "field": f}
            for f, m in fields.items()
        ]
        first = errors[0] if errors else {"field": "", "message": "The request is not valid."}
        message = f"{first['field']}: {first['message']}" if first["field"] else first["message"]
        return Response(body(400, message, "InvalidObject", errors), status=400)
    if isinstance(exc, exceptions.APIException):
        status = exc.status_code
        code = TOP_CODES.get(status) or {
            405: "MethodNotAllowed",
            406: "NotAcceptable",
            413: "RequestTooLarge",
            415: "UnsupportedMediaType",
            429: "TooManyRequests",
        }.get(status, "InvalidObject")
        response = Response(body(status, str(exc.detail), code, None), status=status)
        if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
            response["WWW-Authenticate"] = 'Basic realm="api"'
        return response
    raise exc
