"""The sign-in lockout's pieces that are the product's own (django-axes does the
counting, in the database): which client address a request comes from, and what a
locked-out sign-in answers — the sign-in page with the reason, or the API's error shape.
"""

import math
from typing import Any

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

LOCKED_CODE = "login_locked"


def client_ip(request: HttpRequest) -> str | None:
    """REMOTE_ADDR; behind TRUSTED_PROXY_COUNT proxies, the address the outermost proxy
    saw, which is the TRUSTED_PROXY_COUNT-th of X-Forwarded-For counted from the right
    (each proxy appends its peer's address; what stands further left is the client's
    own claim, and is ignored)."""
    proxies = settings.TRUSTED_PROXY_COUNT
    remote = request.META.get("REMOTE_ADDR")
    if proxies <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [part for part in forwarded if part]
    if len(forwarded) < proxies:
        return remote  # the request did not pass through every proxy
    return forwarded[-proxies]


def cool_off_minutes() -> int:
    return max(1, math.ceil(settings.AXES_COOLOFF_TIME.total_seconds() / 60))


def lockout_message() -> str:
    minutes = cool_off_minutes()
    return (
        f"Too many failed sign-ins for this username from your address. Try again in "
        f"{minutes} minute{'s' if minutes != 1 else ''}, or ask an administrator to unlock "
        "the account."
    )


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: Any
) -> HttpResponse:
    """What a sign-in refused for a lockout answers (AXES_LOCKOUT_CALLABLE): 429 with a
    Retry-After, in the API's error shape under /api/, else the sign-in page with the
    reason above its form."""
    status = 429
    retry_after = str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    if (
        original_response is not None
        and original_response.status_code == status
        and original_response.has_header("Retry-After")
    ):
        # The view answered the lockout itself, in its own API's error shape (the
        # ConnectWise-compatible API).
        return original_response
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse(
            {"code": LOCKED_CODE, "detail": lockout_message()}, status=status
        )
    else:
        username = (credentials or {}).get("username") or request.POST.get("username", "")
        form = AuthenticationForm(request, initial={"username": username})
        next_url = request.POST.get("next") or request.GET.get("next") or ""
        if not next_url and request.path.startswith("/admin/"):
            next_url = "/admin/"
        response = render(
            request,
            "registration/login.html",
            {"form": form, "next": next_url, "locked_out_message": lockout_message()},
            status=status,
        )
    response["Retry-After"] = retry_after
    return response
