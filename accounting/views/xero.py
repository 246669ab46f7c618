"""Finance > Setup > Xero: connect the PSA to a Xero organisation through the OAuth 2.0
code flow. "Connect to Xero" sends the user to Xero's sign-in with a state kept in the
session; Xero's answer is taken only when it carries that state (once); the code is
traded for tokens, the user chooses the organisation, and the connection is stored
(secrets encrypted). While the flow runs, the session holds the client secret and the
refresh token encrypted, never in the page."""

import secrets
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.crypto import constant_time_compare

from accounting.models import XeroConnection
from accounting.secrets import decrypt, encrypt
from accounting.services import xero as xero_services
from core.errors import ApplicationError

SETUP = "accounting.change_accountingsetup"
FLOW = "xero_oauth"  # the session's key for the flow under way


def _connect_page(request: HttpRequest, status: int = 200, **context: Any) -> HttpResponse:
    connection = XeroConnection.objects.filter(pk=1).first()
    response = render(
        request,
        "accounting/xero_connect.html",
        {
            "connection": connection,
            "connected": connection is not None and bool(connection.tenant_id),
            "client_id": context.pop("client_id", connection.client_id if connection else ""),
            "callback_url": request.build_absolute_uri(reverse("accounting:xero-callback")),
            **context,
        },
        status=status,
    )
    # The form's answer redirects to Xero's sign-in: the page lets its form go there.
    sign_in = urlsplit(settings.XERO_AUTHORISE_URL)
    response._csp_update = {  # type: ignore[attr-defined]
        "form-action": [f"{sign_in.scheme}://{sign_in.netloc}"]
    }
    return response


def _start_again(request: HttpRequest, message: str) -> HttpResponse:
    request.session.pop(FLOW, None)
    messages.error(request, message)
    return redirect("accounting:xero-connect")


@login_required
@permission_required(SETUP, raise_exception=True)
def xero_connect(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _connect_page(request)
    client_id = request.POST.get("client_id", "").strip()
    secret = request.POST.get("client_secret", "").strip()
    stored = XeroConnection.objects.filter(pk=1).first()
    if not secret and stored is not None and stored.client_id == client_id:
        secret = decrypt(stored.client_secret)  # left blank: the stored one is kept
    if not client_id or not secret:
        messages.error(
            request,
            "Give the client id and the client secret of the PSA's app in Xero's developer "
            "portal; nothing was changed.",
        )
        return _connect_page(request, status=400, client_id=client_id)
    state = secrets.token_urlsafe(32)
    redirect_uri = request.build_absolute_uri(reverse("accounting:xero-callback"))
    try:
        url = xero_services.xero_authorise_url(
            client_id=client_id, redirect_uri=redirect_uri, state=state
        )
        request.session[FLOW] = {
            "state": state,
            "client_id": client_id,
            "client_secret": encrypt(secret),
            "redirect_uri": redirect_uri,
        }
    except ApplicationError as error:
        messages.error(request, error.message)
        return _connect_page(request, status=error.status_code, client_id=client_id)
    return redirect(url)


@login_required
@permission_required(SETUP, raise_exception=True)
def xero_callback(request: HttpRequest) -> HttpResponse:
    flow = request.session.get(FLOW) or {}
    expected = flow.get("state")
    if not expected or not constant_time_compare(request.GET.get("state", ""), expected):
        return _start_again(
            request,
            "Xero's answer does not belong to a sign-in started here, or it was used "
            "already; nothing was changed. Connect to Xero again.",
        )
    if request.GET.get("error"):
        return _start_again(
            request,
            "Xero did not give the PSA access (the sign-in was cancelled or refused); "
            "nothing was changed. Connect to Xero again to retry.",
        )
    try:
        refresh, tenants = xero_services.xero_exchange_code(
            client_id=flow["client_id"],
            client_secret=decrypt(flow["client_secret"]),
            code=request.GET.get("code", ""),
            redirect_uri=flow["redirect_uri"],
        )
    except ApplicationError as error:
        return _start_again(request, error.message)
    request.session[FLOW] = {
        "client_id": flow["client_id"],
        "client_secret": flow["client_secret"],
        "refresh_token": encrypt(refresh),
        "tenants": tenants,
    }
    return redirect("accounting:xero-tenant")


@login_required
@permission_required(SETUP, raise_exception=True)
def xero_tenant(request: HttpRequest) -> HttpResponse:
    flow = request.session.get(FLOW) or {}
    tenants = flow.get("tenants")
    if not tenants or not flow.get("refresh_token"):
        return _start_again(
            request,
            "There is no Xero sign-in to finish (it was finished, or never started); "
            "connect to Xero to choose an organisation.",
        )
    if request.method == "POST":
        chosen = next((t for t in tenants if t["tenant_id"] == request.POST.get("tenant_id")), None)
        if chosen is None:
            messages.error(request, "Choose one of the organisations listed.")
            return render(request, "accounting/xero_tenant.html", {"tenants": tenants}, status=400)
        connection = xero_services.xero_connect_oauth(
            actor=request.user,
            client_id=flow["client_id"],
            client_secret=decrypt(flow["client_secret"]),
            refresh_token=decrypt(flow["refresh_token"]),
            tenant_id=chosen["tenant_id"],
            organisation_name=chosen["name"],
        )
        request.session.pop(FLOW, None)
        messages.success(
            request, f"Connected to the Xero organisation {connection.organisation_name}."
        )
        return redirect("accounting:xero-connect")
    return render(request, "accounting/xero_tenant.html", {"tenants": tenants})
