"""Finance > Accounting package setup, by clicking as a finance clerk (not an
administrator): switching to GnuCash direct transfer with the book's typed fields and
testing the connection; clearing Direct Transfer and ticking it again in the
reference's order (steps 5-7 and 12 of its delete procedure); a ledger that does not
exist refused in the page, nothing saved; Xero's secret write-only, and its Test
connection against the local Xero."""

import os

import pytest
from cryptography.fernet import Fernet
from playwright.sync_api import Page, expect

from accounting.connectors import xero as xero_module
from accounting.connectors.gnucash import create_book
from accounting.models import AccountingSetup, AuditEvent, GLAccount
from accounting.services import setup as setup_services
from core.roles import FINANCE
from tests.browser.steps import nav, sign_in
from tests.connectors.xero_fake import ORGANISATION, FakeXero
from tests.helpers import make_user

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def held() -> AccountingSetup:
    return AccountingSetup.objects.get(pk=1)


def messages(page: Page):
    return page.locator("#messages")


def test_switch_to_gnucash_direct_transfer_and_test_the_connection(
    page: Page, book, ledger_root, shot
):
    accounts = list(GLAccount.objects.order_by("number").values_list("number", "name", "type"))
    create_book("books/main.gnucash", accounts, root=ledger_root)
    sign_in(page, make_user("fiona", FINANCE).username)

    nav(page, "Accounting package setup")
    expect(page.get_by_role("heading", name="Accounting package setup", level=1)).to_be_visible()
    shot("setup-screen-file-export")

    # Choosing GnuCash shows the book's own fields, typed, each with its help.
    page.get_by_label("Accounting package").select_option(label="GnuCash book")
    page.wait_for_url("**package=gnucash**")
    expect(page.locator("#unsaved-choice")).to_contain_text("not saved yet")
    book_kept_in = page.get_by_label("Book kept in")
    expect(book_kept_in.locator("option")).to_have_text(["Default (file)", "file", "postgresql"])
    expect(page.locator("#direct-options")).to_contain_text("The GnuCash book's (SQLite) name")
    expect(page.get_by_label("Ledger file")).to_have_count(0)
    page.get_by_label("Direct transfer", exact=True).check()
    book_kept_in.select_option("file")
    page.get_by_label("Book file").fill("books/main.gnucash")
    shot("setup-screen-gnucash-typed")
    page.get_by_role("button", name="Save").click()

    expect(messages(page)).to_contain_text("The accounting package setup is saved.")
    expect(page.get_by_label("Book file")).to_have_value("books/main.gnucash")
    expect(page.locator("#setup-trail")).to_contain_text("GnuCash book")
    setup = held()
    assert (setup.package, setup.direct_transfer) == ("gnucash", True)
    assert setup.options == {"book_database": "file", "ledger_path": "books/main.gnucash"}

    page.get_by_role("button", name="Test connection").click()
    expect(messages(page)).to_contain_text("Opened the GnuCash book books/main.gnucash:")
    expect(messages(page)).to_contain_text("Every GL account has its account there.")
    shot("setup-screen-gnucash-test-connection")


def test_clear_and_restore_direct_transfer_in_the_references_order(
    page: Page, book, ledger_root, shot
):
    (ledger_root / "books").mkdir()
    (ledger_root / "books" / "main.beancount").write_text("")
    setup_services.accounting_setup_update(
        actor=None,
        package="beancount",
        direct_transfer=True,
        export_format="xero_csv",
        options={
            "ledger_path": "books/main.beancount",
            "currency": "EUR",
            "xero_date_format": "us",
        },
    )
    sign_in(page, make_user("fiona", FINANCE).username)
    nav(page, "Accounting package setup")
    shot("setup-screen-direct-on")

    # 5-7. Temporarily clear the Direct Transfer checkbox, and save.
    page.get_by_label("Direct transfer", exact=True).uncheck()
    page.get_by_role("button", name="Save").click()
    expect(messages(page)).to_contain_text("Its options are set aside")
    saved = page.locator("#saved-options")
    expect(saved).to_contain_text("Ledger file: books/main.beancount")
    expect(saved).to_contain_text("Currency: EUR")
    expect(saved).not_to_contain_text("{")
    expect(page.get_by_label("Ledger file")).to_have_value("")
    shot("setup-screen-direct-cleared")

    # 12. Select the Direct Transfer checkbox again and restore the other settings
    # cleared in step 6 (here the export file's date format), in one save.
    page.get_by_label("Direct transfer", exact=True).check()
    page.get_by_label("Date format").select_option("us")
    page.get_by_role("button", name="Save").click()

    expect(page.locator(".message-error")).to_have_count(0)
    expect(messages(page)).to_contain_text("The accounting package setup is saved.")
    expect(page.get_by_label("Direct transfer", exact=True)).to_be_checked()
    expect(page.get_by_label("Ledger file")).to_have_value("books/main.beancount")
    expect(page.get_by_label("Currency")).to_have_value("EUR")
    expect(page.locator("#saved-options")).to_have_count(0)
    shot("setup-screen-direct-restored")
    setup = held()
    assert setup.direct_transfer
    assert setup.options == {
        "ledger_path": "books/main.beancount",
        "currency": "EUR",
        "xero_date_format": "us",
    }
    assert setup.saved_options == {}
    assert AuditEvent.objects.filter(record_type="setup", actor__username="fiona").count() == 2


def test_a_ledger_that_does_not_exist_is_refused_and_nothing_is_saved(
    page: Page, book, ledger_root, shot
):
    before = AccountingSetup.objects.values().get(pk=1)
    sign_in(page, make_user("fiona", FINANCE).username)
    nav(page, "Accounting package setup")
    page.get_by_label("Accounting package").select_option(label="Beancount ledger")
    page.wait_for_url("**package=beancount**")
    page.get_by_label("Direct transfer", exact=True).check()
    page.get_by_label("Ledger file").fill("books/mian.beancount")
    page.get_by_role("button", name="Save").click()

    expect(messages(page)).to_contain_text("Nothing was saved")
    field = page.locator(".field", has=page.get_by_label("Ledger file"))
    expect(field).to_contain_text("There is no ledger of that name in the ledger folder.")
    expect(field).to_contain_text('tick "Create a new empty ledger here"')
    expect(page.get_by_label("Ledger file")).to_have_value("books/mian.beancount")
    shot("setup-screen-missing-ledger-refused")
    assert AccountingSetup.objects.values().get(pk=1) == before
    assert os.listdir(ledger_root) == []

    # The way out the message names: start a new empty ledger there.
    page.get_by_label("Ledger file").fill("books/main.beancount")
    page.get_by_label("Create a new empty ledger here").check()
    page.get_by_role("button", name="Save").click()
    expect(messages(page)).to_contain_text("The accounting package setup is saved.")
    assert (ledger_root / "books" / "main.beancount").exists()
    assert held().options == {"ledger_path": "books/main.beancount"}


@pytest.fixture
def fake_xero(settings):
    """The local server that plays Xero (tests/connectors/xero_fake.py)."""
    fake = FakeXero().start()
    for name, value in fake.settings_env().items():
        setattr(settings, name, value)
    settings.SECRETS_ENCRYPTION_KEY = Fernet.generate_key().decode()
    xero_module._limits.clear()
    yield fake
    fake.stop()
    xero_module._limits.clear()
    assert fake.violations == [], "\n".join(fake.violations)


def test_xero_secret_is_write_only_and_test_connection_names_the_organisation(
    page: Page, book, fake_xero, shot
):
    sign_in(page, make_user("fiona", FINANCE).username)
    nav(page, "Accounting package setup")
    page.get_by_label("Accounting package").select_option(label="Xero")
    page.wait_for_url("**package=xero**")
    expect(page.locator("#xero-state")).to_contain_text("Not connected")
    expect(page.locator("#xero-secret-state")).to_have_text("not set")
    page.get_by_label("Direct transfer", exact=True).check()
    page.get_by_label("Status in Xero").select_option("DRAFT")
    page.get_by_label("Client id").fill(fake_xero.client_id)
    page.get_by_label("Client secret").fill(fake_xero.client_secret)
    page.get_by_role("button", name="Save").click()

    expect(messages(page)).to_contain_text("The accounting package setup is saved.")
    expect(page.locator("#xero-secret-state")).to_have_text("set")
    expect(page.get_by_label("Client secret")).to_have_value("")
    assert fake_xero.client_secret not in page.content()

    page.get_by_role("button", name="Test connection").click()
    expect(messages(page)).to_contain_text(f"Connected to the Xero organisation {ORGANISATION}.")
    expect(page.locator("#xero-state")).to_contain_text(ORGANISATION)
    expect(page.locator("#setup-trail")).to_contain_text("set (new)")
    shot("setup-screen-xero-connected")
