"""The user's own API keys page (the browser flow is tests/browser/test_api_keys.py):
bad input makes no key and says why, only one's own keys are listed and revocable, a
private key appears only on the answer that issued it, and every issue and revocation
is audited, from the page, the admin and the command line."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounting.models import AuditEvent
from cwapi import keys
from cwapi.models import ApiMemberKey

PAGE = "/account/api-keys/"


def _events(key) -> list[tuple[str, int | None]]:
    found = AuditEvent.objects.filter(record_type="api_member_key", record_id=key.pk)
    return [(e.action, e.actor_id) for e in found.order_by("at", "id")]


def test_signing_in_is_needed(client, db):
    response = client.get(PAGE)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize(
    ("name", "says"), [("  ", "Give the key a name"), ("x" * 101, "at most 100 characters")]
)
def test_a_bad_name_makes_no_key_and_says_why(client, finance, name, says):
    client.force_login(finance)
    response = client.post(PAGE + "new/", {"name": name})
    assert response.status_code == 400
    text = response.content.decode()
    assert "No key was made: " in text and says in text and 'aria-invalid="true"' in text
    assert not ApiMemberKey.objects.exists()
    assert not AuditEvent.objects.filter(record_type="api_member_key").exists()


def test_the_private_key_is_shown_once_and_the_page_lists_only_ones_own(client, finance, staff):
    theirs, _ = keys.api_key_issue(user=staff, description="Staff's tool")
    client.force_login(finance)
    made = client.post(PAGE + "new/", {"name": "Warehouse ETL"})
    assert made.status_code == 200 and made["Cache-Control"] == "no-store"
    key = ApiMemberKey.objects.get(user=finance)
    private_key = made.context["private_key"]
    assert private_key in made.content.decode()
    assert keys.api_key_check(key.public_key, private_key) == key
    assert _events(key) == [("api_key_issued", finance.pk)]

    page = client.get(PAGE).content.decode()
    assert "Warehouse ETL" in page and key.public_key in page
    assert private_key not in page and key.private_key_digest not in page
    assert theirs.public_key not in page and "Staff's tool" not in page


def test_anothers_key_cannot_be_revoked_here(client, finance, staff):
    theirs, _ = keys.api_key_issue(user=staff)
    client.force_login(finance)
    for method in (client.get, client.post):
        response = method(PAGE + f"{theirs.pk}/revoke/", follow=True)
        assert "is not one of your active API keys: nothing was revoked" in (
            response.content.decode()
        )
    theirs.refresh_from_db()
    assert not theirs.is_revoked
    assert _events(theirs) == [("api_key_issued", None)]


def test_revoking_asks_first_then_revokes_audited(client, finance):
    key, _ = keys.api_key_issue(user=finance, description="Sync")
    client.force_login(finance)
    asked = client.get(PAGE + f"{key.pk}/revoke/")
    assert "Revoke this API key?" in asked.content.decode()
    key.refresh_from_db()
    assert not key.is_revoked
    done = client.post(PAGE + f"{key.pk}/revoke/", follow=True)
    assert "is revoked" in done.content.decode()
    key.refresh_from_db()
    assert key.is_revoked
    assert _events(key) == [("api_key_issued", None), ("api_key_revoked", finance.pk)]
    again = client.post(PAGE + f"{key.pk}/revoke/", follow=True)
    assert "nothing was revoked" in again.content.decode()
    assert len(_events(key)) == 2


def test_the_admin_revocation_is_audited_with_its_actor(client, finance):
    from django.contrib.auth.models import User

    admin = User.objects.create_superuser("root", password="pw")
    key, _ = keys.api_key_issue(user=finance)
    client.force_login(admin)
    client.post("/admin/cwapi/apimemberkey/", {"action": "revoke", "_selected_action": [key.pk]})
    assert _events(key) == [("api_key_issued", None), ("api_key_revoked", admin.pk)]


def test_the_command_refuses_a_long_description(finance):
    with pytest.raises(CommandError, match="at most 100 characters"):
        call_command("cw_api_key", finance.username, description="x" * 101, stdout=StringIO())
    assert not ApiMemberKey.objects.exists()
