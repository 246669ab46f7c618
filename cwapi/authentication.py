"""Basic authentication as ConnectWise does it: `Authorization: Basic
base64("<company>+<publicKey>:<privateKey>")` and a `clientId` header. The company is the
setting CW_COMPANY_ID. A wrong company or key counts as a failed sign-in for the public
key, in the same lockout as the other sign-ins (django-axes, core.lockout)."""

import base64
import binascii

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from rest_framework import authentication

from core import lockout
from cwapi import keys
from cwapi.errors import CwError


def _unauthorized(message: str) -> CwError:
    return CwError(401, message, headers={"WWW-Authenticate": 'Basic realm="api"'})


def _locked() -> CwError:
    """429 in ConnectWise's shape, the product's `login_locked` inside."""
    message = lockout.lockout_message()
    return CwError(
        429,
        message,
        code="TooManyRequests",
        errors=[{"code": lockout.LOCKED_CODE, "message": message, "resource": "", "field": ""}],
        headers={"Retry-After": str(int(settings.AXES_COOLOFF_TIME.total_seconds()))},
    )


class MemberKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        django_request = request._request
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic" or not encoded.strip():
            raise _unauthorized("Send Authorization: Basic base64(company+publicKey:privateKey).")
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise _unauthorized(
                "The Authorization header is not valid Basic credentials."
            ) from None
        username, colon, private_key = decoded.partition(":")
        company, plus, public_key = username.partition("+")
        if not colon or not plus or not public_key or not private_key:
            raise _unauthorized("Basic credentials are company+publicKey:privateKey.")
        if not request.META.get("HTTP_CLIENTID", "").strip():
            raise _unauthorized("The clientId header is required.")
        credentials = {"username": public_key[:150]}
        if AxesProxyHandler.is_locked(django_request, credentials):
            raise _locked()
        key = None
        if company.casefold() == settings.CW_COMPANY_ID.casefold():
            key = keys.api_key_check(public_key, private_key)
        if key is None or not key.user.is_active:
            user_login_failed.send(sender=__name__, credentials=credentials, request=django_request)
            if getattr(django_request, "axes_locked_out", False):
                raise _locked()
            raise _unauthorized("The company, public key or private key is not valid.")
        # A right pair clears this key's failures from this address, as a sign-in does.
        address = getattr(django_request, "axes_ip_address", None)
        if address is not None and AxesProxyHandler.get_failures(django_request, credentials):
            AxesProxyHandler.reset_attempts(ip_address=address, username=public_key[:150])
        return key.user, key

    def authenticate_header(self, request) -> str:
        return 'Basic realm="api"'
