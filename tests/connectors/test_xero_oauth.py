"""Connecting Xero through the OAuth 2.0 code flow, against the local Xero: Connect sends
the user to Xero's sign-in with a state; only Xero's answer carrying that state is taken
(once); the code becomes tokens; the organisation chosen is stored, the secrets
encrypted and never shown; the refresh token rotates and is stored at each refresh."""

import logging
from urllib.parse import parse_qs, urlsplit

import pytest
import urllib3
from django.urls import reverse

from accounting.connectors.xero import XeroClient
from accounting.models import AuditEvent, XeroConnection
from accounting.secrets import decrypt, encrypt
from tests.connectors.xero_fake import ORGANISATION, TENANT_ID

pytestmark = pytest.mark.django_db

OTHER_TENANT = "3f0c2b8e-7d4a-4f51-9a3e-2b6c1d0e9f77"


@pytest.fixture
def signed_in(client, finance, fake_xero):
    fake_xero.client_secret = "app-secret-7f3a9c41d2"  # a secret no page has by chance
    client.force_login(finance)
    return client


def start(client, fake, secret=None) -> dict:
    """Connect to Xero: answers the sign-in's query (where the browser is sent)."""
    response = client.post(
        reverse("accounting:xero-connect"),
        {"client_id": fake.client_id, "client_secret": secret or fake.client_secret},
    )
    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith(fake.url + "/identity/connect/authorize?")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def consent(fake, query: dict) -> str:
    """The browser at Xero's sign-in: Xero sends it back to the callback; answers the
    callback's path and query."""
    answer = urllib3.PoolManager().request(
        "GET", fake.url + "/identity/connect/authorize", fields=query, redirect=False
    )
    assert answer.status == 302
    back = urlsplit(answer.headers["Location"])
    return f"{back.path}?{back.query}"


def test_connect_sign_in_choose_the_organisation_and_it_is_stored_encrypted(
    fake_xero, signed_in, finance, caplog
):
    fake_xero.tenants[OTHER_TENANT] = "Other Company Ltd"
    query = start(signed_in, fake_xero)
    assert query["response_type"] == "code" and query["client_id"] == fake_xero.client_id
    assert query["redirect_uri"].endswith(reverse("accounting:xero-callback"))
    assert "offline_access" in query["scope"].split()
    assert len(query["state"]) >= 32

    with caplog.at_level(logging.DEBUG):
        back = signed_in.get(consent(fake_xero, query))
    assert back.status_code == 302 and back["Location"] == reverse("accounting:xero-tenant")
    assert not XeroConnection.objects.exists()  # nothing stored before the choice

    choice = signed_in.get(reverse("accounting:xero-tenant")).content.decode()
    assert ORGANISATION in choice and "Other Company Ltd" in choice
    done = signed_in.post(reverse("accounting:xero-tenant"), {"tenant_id": OTHER_TENANT})
    assert done.status_code == 302

    stored = XeroConnection.objects.get()
    assert stored.auth == XeroConnection.OAUTH and stored.tenant_id == OTHER_TENANT
    assert stored.organisation_name == "Other Company Ltd"
    assert decrypt(stored.refresh_token) in fake_xero.refresh_tokens
    assert fake_xero.client_secret not in stored.client_secret
    assert decrypt(stored.refresh_token) not in stored.refresh_token
    assert AuditEvent.objects.filter(action="xero_connected", actor=finance).exists()
    page = signed_in.get(reverse("accounting:xero-connect")).content.decode()
    assert "Connected" in page and "Other Company Ltd" in page
    assert fake_xero.client_secret not in page
    assert decrypt(stored.refresh_token) not in page
    assert fake_xero.client_secret not in caplog.text
    # The connection works: the organisation chosen answers.
    assert XeroClient().organisation_name() == "Other Company Ltd"


def test_an_answer_without_the_state_of_a_sign_in_started_here_is_refused(fake_xero, signed_in):
    query = start(signed_in, fake_xero)
    forged = consent(fake_xero, {**query, "state": "someone-elses-state"})
    refused = signed_in.get(forged, follow=True)
    assert "does not belong to a sign-in started here" in refused.content.decode()
    assert not XeroConnection.objects.exists()
    # The real answer after a refusal is refused too: the flow starts again.
    late = signed_in.get(consent(fake_xero, query), follow=True)
    assert "does not belong to a sign-in started here" in late.content.decode()
    # An answer is taken once.
    query = start(signed_in, fake_xero)
    answer = consent(fake_xero, query)
    assert signed_in.get(answer).status_code == 302
    again = signed_in.get(answer, follow=True)
    assert "does not belong to a sign-in started here" in again.content.decode()


def test_consent_declined_or_a_wrong_secret_changes_nothing_and_says_so(fake_xero, signed_in):
    fake_xero.refuse_consent = True
    refused = signed_in.get(consent(fake_xero, start(signed_in, fake_xero)), follow=True)
    assert "Xero did not give the PSA access" in refused.content.decode()
    fake_xero.refuse_consent = False
    wrong = signed_in.get(
        consent(fake_xero, start(signed_in, fake_xero, secret="not-the-secret")), follow=True
    )
    text = wrong.content.decode()
    assert "Xero did not accept the sign-in" in text and "not-the-secret" not in text
    assert not XeroConnection.objects.exists()
    blank = signed_in.post(
        reverse("accounting:xero-connect"), {"client_id": "", "client_secret": ""}
    )
    assert blank.status_code == 400 and "nothing was changed" in blank.content.decode()


def test_the_refresh_token_rotates_and_processes_take_turns_with_it(fake_xero):
    first_refresh = "r-" + "1" * 30
    fake_xero.refresh_tokens.add(first_refresh)
    XeroConnection.objects.create(
        pk=1,
        auth=XeroConnection.OAUTH,
        client_id=fake_xero.client_id,
        client_secret=encrypt(fake_xero.client_secret),
        refresh_token=encrypt(first_refresh),
        tenant_id=TENANT_ID,
    )
    # Two processes opened the connection while the same refresh token was stored.
    one, two = XeroClient(), XeroClient()
    assert one.organisation_name() == ORGANISATION
    rotated = decrypt(XeroConnection.objects.get().refresh_token)
    assert rotated != first_refresh and first_refresh not in fake_xero.refresh_tokens
    # The second reads the token the first stored (the one it held is spent).
    assert two.organisation_name() == ORGANISATION
    latest = decrypt(XeroConnection.objects.get().refresh_token)
    assert latest not in (rotated, first_refresh) and latest in fake_xero.refresh_tokens
