"""Requests refused before any view sees them, each with a clear answer: in the API's
error shape under /api/, as a page elsewhere."""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from core.api import error_body

API_PREFIX = "/api/"


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def _nul_fields(request: HttpRequest) -> list[str]:
    """The names of the query string's parameters that hold a NUL character."""
    names = []
    for name, values in request.GET.lists():
        if "\x00" in name or any("\x00" in value for value in values):
            names.append(name.replace("\x00", "\\x00"))
    return names


class RequestGuardMiddleware:
    """A NUL character in the query string (PostgreSQL stores and compares none) is bad
    input: 400 before a filter, a search or the admin's lookups reach the database.
    An API request whose body is larger than DATA_UPLOAD_MAX_MEMORY_SIZE answers 413
    `request_too_large` in the API's error shape before the body is read."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _is_api(request):
            # A file upload the API takes (settings.API_FILE_UPLOADS) has its own limit.
            limit = settings.API_FILE_UPLOADS.get(
                request.path, settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            )
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if limit is not None and length > limit:
                return JsonResponse(
                    error_body(
                        "request_too_large",
                        f"The request body is {length:,} bytes; the API accepts at most "
                        f"{limit:,}. Send fewer records (or a shorter period) at a time.",
                    ),
                    status=413,
                )
        names = _nul_fields(request)
        if names:
            sentence = (
                f"The query string's {', '.join(names)} contains a NUL character, which "
                "cannot be searched for. Remove it and try again."
            )
            if _is_api(request):
                fields = {name: ["Contains a NUL character."] for name in names}
                return JsonResponse(
                    error_body("validation_error", sentence, fields=fields), status=400
                )
            return render(request, "400.html", {"message": sentence}, status=400)
        return self.get_response(request)
