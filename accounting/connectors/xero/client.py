"""The Xero connector's client: Xero's SDK for the organisation of the stored
connection, its tokens (obtained, refreshed and stored again), the calls it
makes, and the limits it keeps per organisation (waiting out Xero's 429s); what
goes wrong, in the product's words."""

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import urllib3
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from xero_python.accounting import AccountingApi
from xero_python.api_client import ApiClient, Configuration
from xero_python.api_client.oauth2 import OAuth2Token, TokenApi
from xero_python.exceptions import ApiException, RateLimitException
from xero_python.identity import IdentityApi

from accounting.connectors.xero.limits import OrganisationLimits
from accounting.models import XeroConnection
from accounting.secrets import decrypt, encrypt
from core.errors import ApplicationError

logger = logging.getLogger(__name__)

SCOPES = "accounting.transactions accounting.contacts accounting.settings.read offline_access"


def _unreachable(error: Exception) -> ApplicationError:
    return ApplicationError(
        f"Xero could not be reached ({type(error).__name__}); retry the transfer: what "
        "Xero has already is not sent twice.",
        code="package_unreachable",
        status_code=502,
    )


_limits: dict[str, OrganisationLimits] = {}
_limits_lock = threading.Lock()


def limits_of(tenant: str) -> OrganisationLimits:
    with _limits_lock:
        return _limits.setdefault(tenant, OrganisationLimits(tenant))


class _Token(OAuth2Token):
    """The SDK's token, sent to the identity server the settings name."""

    def _token_api(self, api_client) -> TokenApi:
        api = TokenApi(api_client, self.client_id, self.client_secret)
        url = settings.XERO_IDENTITY_URL.rstrip("/")
        api.client_credentials_token_url = api.refresh_token_url = f"{url}/connect/token"
        api.revoke_token_url = f"{url}/connect/revocation"
        return api

    def get_client_credentials_access_token(self, api_client, app_store_billing=False):
        new_token = self._token_api(api_client).get_client_credentials_token(app_store_billing)
        self.update_token(**new_token)
        api_client.set_oauth2_token(new_token)
        return True

    def refresh_access_token(self, api_client):
        if not self.can_refresh_access_token():
            return False
        new_token = self.fetch_access_token(self._token_api(api_client))
        self.update_token(**new_token)
        api_client.set_oauth2_token(new_token)
        return True


class XeroClient:
    """The SDK's client for the organisation of the stored connection: tokens (the
    client-credentials grant, or the refresh token, which rotates and is stored again
    at once), the tenant, and every call under the organisation's limits."""

    def __init__(self, connection: XeroConnection | None = None) -> None:
        found = connection or XeroConnection.objects.filter(pk=1).first()
        if found is None or not found.client_id:
            raise ApplicationError(
                "Xero is not connected: enter the client id and secret of the PSA's Xero "
                'app in the accounting package setup (README, "How to connect Xero").',
                code="validation_error",
                status_code=400,
            )
        self.connection: XeroConnection = found
        self.on_wait: Callable[[datetime | None], None] = lambda until: None
        self._waited = False
        self._token: dict[str, Any] = {}
        self.oauth2 = _Token(
            client_id=self.connection.client_id,
            client_secret=decrypt(self.connection.client_secret),
        )
        self.api_client = ApiClient(
            Configuration(oauth2_token=self.oauth2),
            oauth2_token_getter=lambda: self._token,
            oauth2_token_saver=self._save_token,
            pool_threads=1,
        )
        # A 429 is the connector's to wait out (and report): urllib3 would sleep through
        # Retry-After by itself, for as long as Xero says, however long that is.
        self.api_client.rest_client.pool_manager.connection_pool_kw["retries"] = urllib3.Retry(
            total=2, read=0, status=0, redirect=0, respect_retry_after_header=False
        )
        self.accounting = AccountingApi(self.api_client, base_url=settings.XERO_API_URL)
        self.identity = IdentityApi(self.api_client, base_url=settings.XERO_CONNECTIONS_API_URL)

    # Tokens and tenant ---------------------------------------------------------------

    def _save_token(self, token: dict[str, Any]) -> None:
        self._token = dict(token)
        if self.connection.auth == XeroConnection.OAUTH and token.get("refresh_token"):
            # Xero's refresh tokens rotate: the old one is spent, so the new one is
            # stored before anything else happens.
            self.connection.refresh_token = encrypt(token["refresh_token"])
            XeroConnection.objects.filter(pk=self.connection.pk).update(
                refresh_token=self.connection.refresh_token, updated_at=timezone.now()
            )

    def _authorise(self) -> None:
        expires_at = self._token.get("expires_at")
        if self._token and (expires_at is None or expires_at > time.time() + 60):
            return
        try:
            if self.connection.auth == XeroConnection.OAUTH:
                self._refresh()
            else:
                self.oauth2.get_client_credentials_access_token(self.api_client)
        except ApplicationError:
            raise
        except urllib3.exceptions.HTTPError as error:
            raise _unreachable(error) from None
        except Exception:
            # The SDK's error quotes Xero's answer; Xero refused the credentials.
            raise _not_authorised() from None

    def _refresh(self) -> None:
        """A new access token for the stored refresh token, which Xero spends and
        replaces: one process at a time (the connection's row locked), each reading the
        token the last one stored, and the new one stored in the same transaction."""
        with transaction.atomic():
            row = XeroConnection.objects.select_for_update().get(pk=self.connection.pk)
            refresh = decrypt(row.refresh_token)
            if not refresh:
                raise _not_authorised()
            self.connection.refresh_token = row.refresh_token
            self.oauth2.update_token(
                access_token=None,
                scope=SCOPES.split(),
                expires_in=0,
                token_type="Bearer",
                expires_at=0,
                refresh_token=refresh,
            )
            self.oauth2.refresh_access_token(self.api_client)

    @property
    def tenant(self) -> str:
        if not self.connection.tenant_id:
            tenants = self.connections()
            if not tenants:
                raise _not_authorised()
            # A custom connection reaches exactly one organisation.
            self.connection.tenant_id = tenants[0]["tenant_id"]
            XeroConnection.objects.filter(pk=self.connection.pk).update(
                tenant_id=self.connection.tenant_id
            )
        return self.connection.tenant_id

    def connections(self) -> list[dict[str, str]]:
        """The organisations the token reaches: tenant id and name."""
        found = self.call(self.identity.get_connections, tenant=False)
        return [
            {"tenant_id": str(item.tenant_id), "name": item.tenant_name or ""}
            for item in found
            if (item.tenant_type or "ORGANISATION") == "ORGANISATION"
        ]

    def organisation_name(self) -> str:
        found = self.call(self.accounting.get_organisations)
        return found.organisations[0].name if found.organisations else ""

    # Calls ----------------------------------------------------------------------------

    def call(self, method: Callable, *args: Any, tenant: bool = True, **kwargs: Any) -> Any:
        """One call of the SDK, under the organisation's limits; a 429 is waited out
        for its Retry-After and the same call made again."""
        self._authorise()
        if tenant:
            args = (self.tenant, *args)
        limits = limits_of(self.connection.tenant_id or "-")
        while True:
            self._waited = limits.wait_turn(self.on_wait) or self._waited
            try:
                with limits.in_flight():
                    return method(*args, **kwargs)
            except RateLimitException as error:
                self._wait_out(error)
            except ApiException as error:
                if error.status == 401:
                    self._token = {}
                    raise _not_authorised() from None
                raise
            except urllib3.exceptions.HTTPError as error:
                raise _unreachable(error) from None
            finally:
                if self._waited:
                    self._waited = False
                    self.on_wait(None)

    def _wait_out(self, error: RateLimitException) -> None:
        headers = error.headers or {}
        try:
            seconds = max(float(headers.get("Retry-After", "60")), 0.0)
        except ValueError:
            seconds = 60.0
        problem = headers.get("X-Rate-Limit-Problem", "minute")
        until = timezone.now() + timedelta(seconds=seconds)
        if seconds > settings.XERO_MAX_WAIT_SECONDS:
            raise ApplicationError(
                f"Xero's {problem} limit of calls is reached until "
                f"{timezone.localtime(until):%d %b %Y %H:%M}; retry the transfer then: what "
                "Xero has already is not sent twice.",
                code="package_rate_limited",
                status_code=429,
            )
        logger.info("Xero's %s limit: waiting %.1f s", problem, seconds)
        self._waited = True
        self.on_wait(until)
        time.sleep(seconds)


def authorise_url(*, client_id: str, redirect_uri: str, state: str) -> str:
    """Where the user signs in to Xero and grants the PSA access (the code flow)."""
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": f"openid profile email {SCOPES}",
            "state": state,
        }
    )
    return f"{settings.XERO_AUTHORISE_URL}?{query}"


def exchange_code(
    *, client_id: str, client_secret: str, code: str, redirect_uri: str
) -> tuple[str, list[dict[str, str]]]:
    """Trade the authorisation code Xero sent back for tokens; answer the refresh token
    and the organisations the access reaches (tenant id and name). Xero's words are not
    quoted (they may carry the secrets sent)."""
    token = _Token(client_id=client_id, client_secret=client_secret)
    held: dict[str, Any] = {}
    api_client = ApiClient(
        Configuration(oauth2_token=token),
        oauth2_token_getter=lambda: held,
        oauth2_token_saver=held.update,
        pool_threads=1,
    )
    api = token._token_api(api_client)
    try:
        response, _status, _headers = api_client.call_api(
            api.refresh_token_url,
            "POST",
            header_params={
                "Accept": "application/json",
                "Content-Type": "application/x-www-form-urlencoded",
            },
            post_params={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "client_id": client_id,
                "client_secret": client_secret,
            },
            auth_settings=None,
            _preload_content=False,
        )
        new_token = api.parse_token_response(response)
        token.update_token(**new_token)
        api_client.set_oauth2_token(new_token)
        identity = IdentityApi(api_client, base_url=settings.XERO_CONNECTIONS_API_URL)
        found = identity.get_connections()
    except urllib3.exceptions.HTTPError as error:
        raise _unreachable(error) from None
    except Exception:
        raise ApplicationError(
            "Xero did not accept the sign-in (the client id or secret is wrong, or the "
            "answer came too late); connect to Xero again.",
            code="package_not_authorised",
            status_code=502,
        ) from None
    if not new_token.get("refresh_token"):
        raise ApplicationError(
            "Xero gave no refresh token: the PSA's Xero app must ask for offline access. "
            "Connect to Xero again.",
            code="package_not_authorised",
            status_code=502,
        )
    tenants = [
        {"tenant_id": str(item.tenant_id), "name": item.tenant_name or ""}
        for item in found
        if (item.tenant_type or "ORGANISATION") == "ORGANISATION"
    ]
    return new_token["refresh_token"], tenants


def _not_authorised() -> ApplicationError:
    return ApplicationError(
        "Xero did not accept the PSA's connection (the client id or secret is wrong, or "
        "the access was revoked); connect Xero again in the accounting package setup.",
        code="package_not_authorised",
        status_code=502,
    )
