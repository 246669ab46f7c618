"""Connecting the PSA to its Xero organisation: a custom connection, or the OAuth 2.0
code flow (sign in to Xero, choose the organisation); the connection's secrets stored
encrypted, and "Test connection"."""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from accounting.audit import audit_record
from accounting.models import XeroConnection
from accounting.secrets import encrypt
from core.errors import ApplicationError


def xero_connect(*, client_id: str, client_secret: str) -> XeroConnection:
    """Store a custom connection (the client-credentials grant, one organisation): the
    client id, and the secret encrypted. The organisation is learnt on first use."""
    client_id, client_secret = (client_id or "").strip(), (client_secret or "").strip()
    if not client_id or not client_secret:
        raise ApplicationError(
            "Give the client id and the client secret of the custom connection made in "
            "Xero's developer portal.",
            code="validation_error",
            status_code=400,
        )
    with transaction.atomic():
        connection, _ = XeroConnection.objects.select_for_update().get_or_create(pk=1)
        connection.auth = XeroConnection.CUSTOM
        connection.client_id = client_id
        connection.client_secret = encrypt(client_secret)
        connection.refresh_token = ""
        connection.tenant_id = ""
        connection.organisation_name = ""
        connection.save()
    return connection


def xero_test_connection() -> str:
    """The name of the organisation the stored connection reaches (kept for display)."""
    from accounting.connectors.xero import XeroClient

    name = XeroClient().organisation_name()
    XeroConnection.objects.filter(pk=1).update(organisation_name=name)
    return name


def xero_authorise_url(*, client_id: str, redirect_uri: str, state: str) -> str:
    """Where the user signs in to Xero to grant the PSA access; `state` comes back with
    the answer, and only an answer carrying it is taken."""
    from accounting.connectors.xero import authorise_url

    client_id = (client_id or "").strip()
    if not client_id:
        raise ApplicationError(
            "Give the client id of the PSA's app in Xero's developer portal.",
            code="validation_error",
            status_code=400,
            extra={"fields": {"client_id": ["Give the client id."]}},
        )
    return authorise_url(client_id=client_id, redirect_uri=redirect_uri, state=state)


def xero_exchange_code(
    *, client_id: str, client_secret: str, code: str, redirect_uri: str
) -> tuple[str, list[dict[str, str]]]:
    """The refresh token and the organisations (tenant id, name) the granted access
    reaches; nothing is stored until one is chosen."""
    from accounting.connectors.xero import exchange_code

    if not code:
        raise ApplicationError(
            "Xero's answer carried no authorisation code; connect to Xero again.",
            code="validation_error",
            status_code=400,
        )
    refresh, tenants = exchange_code(
        client_id=client_id, client_secret=client_secret, code=code, redirect_uri=redirect_uri
    )
    if not tenants:
        raise ApplicationError(
            "The Xero user who signed in gave access to no organisation; connect to Xero "
            "again and tick the organisation to connect.",
            code="package_not_authorised",
            status_code=502,
        )
    return refresh, tenants


def xero_connect_oauth(
    *,
    actor: AbstractBaseUser | None,
    client_id: str,
    client_secret: str,
    refresh_token: str,
    tenant_id: str,
    organisation_name: str,
) -> XeroConnection:
    """Store the connection the code flow made, for the organisation chosen: the
    client secret and the refresh token encrypted. Audited."""
    with transaction.atomic():
        connection, _ = XeroConnection.objects.select_for_update().get_or_create(pk=1)
        connection.auth = XeroConnection.OAUTH
        connection.client_id = client_id
        connection.client_secret = encrypt(client_secret)
        connection.refresh_token = encrypt(refresh_token)
        connection.tenant_id = tenant_id
        connection.organisation_name = organisation_name
        connection.save()
        audit_record(
            actor=actor,
            action="xero_connected",
            record_type="",
            record_id=None,
            changes={"auth": XeroConnection.OAUTH, "organisation": organisation_name},
        )
    return connection
