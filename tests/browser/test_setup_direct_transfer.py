"""Steps 5-7 and 12 of the reference's delete procedure, by clicking in System > Setup
Tables: clear Direct Transfer and save, then tick it again and save. Ticking it again
brings the options clearing set aside back, as the reference expects; the saved options
read as labels and values."""

import pytest
from playwright.sync_api import Page, expect

from accounting.models import AccountingSetup
from accounting.services import setup as setup_services
from core.roles import FINANCE
from tests.browser.steps import sign_in
from tests.helpers import make_user

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def open_setup(page: Page) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Setup Tables").click()
    page.get_by_role("link", name="Accounting package setup", exact=True).click()
    page.get_by_role("link", name="Beancount ledger (direct)").click()


def test_direct_transfer_clear_and_restore_in_the_references_order(
    page: Page, book, ledger_root, shot
):
    setup_services.accounting_setup_update(
        actor=None,
        package="beancount",
        direct_transfer=True,
        options={"ledger_path": "books/main.beancount", "currency": "EUR"},
        create_ledger=True,
    )
    clerk = make_user("fiona", FINANCE, is_staff=True)
    sign_in(page, clerk.username)

    # 5-7. System > Setup Tables, Accounting Package: clear Direct Transfer, save.
    open_setup(page)
    shot("setup-direct-transfer-on")
    page.get_by_label("Direct transfer").uncheck()
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("Its options are kept")
    saved = page.locator(".field-saved_options_display")
    expect(saved).to_contain_text("Ledger file: books/main.beancount")
    expect(saved).to_contain_text("Currency: EUR")
    expect(saved).not_to_contain_text("{")
    shot("setup-direct-transfer-cleared")

    # 12. Back in the setup table, tick Direct Transfer again and save: the options
    # come back with it.
    page.get_by_label("Direct transfer").check()
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".errornote")).to_have_count(0)
    expect(page.locator(".messagelist")).to_contain_text("The accounting package setup is saved")
    expect(page.get_by_label("Direct transfer")).to_be_checked()
    expect(page.locator(".field-saved_options_display")).to_contain_text("None saved")
    shot("setup-direct-transfer-restored")

    setup = AccountingSetup.objects.get(pk=1)
    assert setup.direct_transfer
    assert setup.options == {"ledger_path": "books/main.beancount", "currency": "EUR"}
    assert setup.saved_options == {}
