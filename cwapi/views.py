"""The user's own API keys page: list their ConnectWise-compatible API keys (name,
public key, created, last used; never a private key after it was issued), issue one
(the private key shown once, on the answer to that request only) and revoke one after a
confirmation. Every step goes through cwapi.keys, audited."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from core.errors import ApplicationError
from cwapi import keys


def _page(request: HttpRequest, *, issued=None, private_key: str = "", name: str = "", error=""):
    response = render(
        request,
        "cwapi/api_keys.html",
        {
            "keys": keys.api_keys_of(request.user),
            "issued": issued,
            "private_key": private_key,
            "name": name,
            "name_error": error,
            "company": settings.CW_COMPANY_ID,
        },
        status=400 if error else 200,
    )
    # The answer that shows a private key is never kept by a browser or a proxy.
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_http_methods(["GET"])
def api_keys(request: HttpRequest) -> HttpResponse:
    return _page(request)


@login_required
@require_POST
def api_key_create(request: HttpRequest) -> HttpResponse:
    name = request.POST.get("name", "").strip()
    if not name:
        error = "Give the key a name, such as the tool that will use it."
    elif len(name) > 100:
        error = "A key's name is at most 100 characters."
    else:
        try:
            key, private_key = keys.api_key_issue(
                user=request.user, description=name, actor=request.user
            )
        except ApplicationError as refusal:
            error = refusal.message
        else:
            return _page(request, issued=key, private_key=private_key)
    messages.error(request, f"No key was made: {error}")
    return _page(request, name=name, error=error)


@login_required
@require_http_methods(["GET", "POST"])
def api_key_revoke(request: HttpRequest, key_id: int) -> HttpResponse:
    page = reverse("api_keys:list")
    key = keys.api_key_of(request.user, key_id)
    if key is None or key.is_revoked:
        messages.error(
            request,
            f"Key {key_id} is not one of your active API keys: nothing was revoked. "
            "Your keys are listed below.",
        )
        return redirect(page)
    label = f"“{key.description}” ({key.public_key})" if key.description else key.public_key
    if request.method == "POST":
        try:
            keys.api_key_revoke(key_id=key.pk, user=request.user, actor=request.user)
        except ApplicationError as refusal:
            messages.error(request, f"Key {label} was not revoked: {refusal.message}")
        else:
            messages.success(
                request, f"Key {label} is revoked: a tool that sends it is refused from now on."
            )
        return redirect(page)
    confirm = {
        "title": "Revoke this API key?",
        "text": f"Key {label} will stop working at once: a tool that sends it is refused.",
        "note": "This cannot be undone; the key stays listed as revoked. "
        "Make a new key for the tool if it still needs one.",
        "action": reverse("api_keys:revoke", args=[key.pk]),
        "next": page,
        "danger": True,
        "hidden": [],
    }
    return render(request, "confirm_page.html", {"confirm": confirm})
