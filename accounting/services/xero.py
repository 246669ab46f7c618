"""Connecting the PSA to its Xero organisation: the connection's secrets stored
encrypted, and "Test connection"."""

from django.db import transaction

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
