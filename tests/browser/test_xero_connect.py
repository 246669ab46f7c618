"""Finance > Setup > Xero in the browser: Connect to Xero, Xero's sign-in (the local Xero
grants access at once and sends the browser back), choose the organisation, and the
page shows the connection with the organisation's name."""

import pytest
from cryptography.fernet import Fernet
from playwright.sync_api import Page, expect

from accounting.connectors import xero as xero_module
from accounting.models import AccountingSetup, AuditEvent, XeroConnection
from tests.connectors.xero_fake import FakeXero

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

OTHER_TENANT = "3f0c2b8e-7d4a-4f51-9a3e-2b6c1d0e9f77"


@pytest.fixture
def fake_xero(settings):
    fake = FakeXero(client_secret="app-secret-7f3a9c41d2").start()
    for name, value in fake.settings_env().items():
        setattr(settings, name, value)
    settings.SECRETS_ENCRYPTION_KEY = Fernet.generate_key().decode()
    xero_module._limits.clear()
    yield fake
    fake.stop()
    assert fake.violations == [], "\n".join(fake.violations)


def test_connect_to_xero_choose_the_organisation_and_see_it_connected(
    page: Page, signed_in, fake_xero, finance, shot
):
    fake_xero.tenants[OTHER_TENANT] = "Other Company Ltd"
    AccountingSetup.objects.filter(pk=1).update(package="xero", export_format="xero_csv")
    # From Finance > Accounting package setup, which the menu keeps current.
    page.goto("/finance/setup/")
    page.locator("#xero-connect").click()
    page.wait_for_url("**/finance/setup/xero/")
    menu = page.get_by_role("navigation", name="Main")
    expect(menu.get_by_role("link", name="Accounting package setup")).to_have_attribute(
        "aria-current", "page"
    )
    expect(menu.get_by_role("link", name="Accounting Interface")).not_to_have_attribute(
        "aria-current", "page"
    )
    expect(page.locator("#xero-state")).to_contain_text("Not connected")
    page.get_by_label("Client id").fill(fake_xero.client_id)
    page.get_by_label("Client secret").fill(fake_xero.client_secret)
    shot("xero-connect")
    page.get_by_role("button", name="Connect to Xero").click()

    # Xero's sign-in granted access and sent the browser back: choose the organisation.
    page.wait_for_url("**/finance/setup/xero/organisation/")
    assert len(fake_xero.authorisations) == 1
    expect(page.get_by_role("heading", name="Choose the Xero organisation")).to_be_visible()
    page.get_by_label("Other Company Ltd").check()
    shot("xero-choose-organisation")
    page.get_by_role("button", name="Use this organisation").click()

    page.wait_for_url("**/finance/setup/xero/")
    expect(page.locator(".messages")).to_contain_text(
        "Connected to the Xero organisation Other Company Ltd."
    )
    expect(page.locator("#xero-state")).to_contain_text("Connected")
    expect(page.locator("#xero-organisation")).to_have_text("Other Company Ltd")
    expect(page.get_by_label("Client secret")).to_have_value("")
    assert fake_xero.client_secret not in page.content()
    shot("xero-connected")
    stored = XeroConnection.objects.get()
    assert stored.tenant_id == OTHER_TENANT and stored.auth == XeroConnection.OAUTH
    assert AuditEvent.objects.filter(action="xero_connected", actor=finance).exists()
