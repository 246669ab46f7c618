"""A user's own API keys by clicking in Chromium: Finance opens "API keys" from the user
menu, makes a key (the private key shown once), a sync tool uses it against the finance
API over HTTP, the page shows it used, Finance revokes it after confirming, and the
tool is refused from then on."""

import base64

import pytest
import requests
from playwright.sync_api import Page, expect

from accounting.models import AuditEvent
from cwapi.models import ApiMemberKey

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def _unposted(live_server, public_key: str, private_key: str) -> requests.Response:
    credentials = base64.b64encode(f"psa+{public_key}:{private_key}".encode()).decode()
    return requests.get(
        live_server.url + "/apis/3.0/finance/accounting/unpostedinvoices",
        headers={"Authorization": f"Basic {credentials}", "clientId": "month-end-sync"},
        timeout=10,
    )


def test_make_use_and_revoke_an_api_key_by_clicking(
    signed_in: Page, finance, make_invoice, live_server, shot
):
    page = signed_in
    invoice = make_invoice()

    page.get_by_role("link", name="API keys").click()
    expect(page.get_by_role("heading", name="API keys", level=1)).to_be_visible()
    expect(page.locator("#no-keys")).to_be_visible()
    page.get_by_label("Name").fill("Month-end sync")
    page.get_by_role("button", name="Make a key").click()

    issued = page.locator("[data-issued-key]")
    expect(issued).to_contain_text("shown only this once")
    expect(issued.get_by_role("button", name="Copy")).to_be_visible()
    public_key = page.locator("[data-public-key]").input_value()
    private_key = page.locator("[data-private-key]").input_value()
    assert len(private_key) == 40
    row = page.locator(f'[data-key="{public_key}"]')
    expect(row.locator("[data-key-name]")).to_have_text("Month-end sync")
    expect(row.locator("[data-last-used]")).to_have_text("Never")
    shot("api-keys-made")

    # The sync tool uses the key against the finance API.
    answer = _unposted(live_server, public_key, private_key)
    assert answer.status_code == 200, answer.text
    assert [row["id"] for row in answer.json()] == [invoice.pk]

    # Back on the page the key shows as used, and the private key is nowhere on it.
    page.get_by_role("link", name="API keys").click()
    expect(row.locator("[data-last-used]")).not_to_have_text("Never")
    expect(page.locator("[data-issued-key]")).to_have_count(0)
    assert private_key not in page.content()
    shot("api-keys-used")

    row.get_by_role("link", name="Revoke Month-end sync").click()
    expect(page.get_by_role("alertdialog")).to_contain_text("stop working at once")
    shot("api-keys-revoke-confirm")
    page.get_by_role("button", name="OK").click()
    expect(page.get_by_role("status")).to_contain_text("is revoked")
    expect(row.locator("[data-key-state]")).to_contain_text("Revoked")
    expect(row.get_by_role("link", name="Revoke Month-end sync")).to_have_count(0)
    shot("api-keys-revoked")

    refused = _unposted(live_server, public_key, private_key)
    assert refused.status_code == 401
    assert refused.json()["code"] == "Unauthorized"
    key = ApiMemberKey.objects.get(public_key=public_key)
    assert key.user == finance and key.revoked_at is not None
    events = AuditEvent.objects.filter(record_type="api_member_key", record_id=key.pk)
    assert [(e.action, e.actor_id) for e in events.order_by("at", "id")] == [
        ("api_key_issued", finance.pk),
        ("api_key_revoked", finance.pk),
    ]
