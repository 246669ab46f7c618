"""Finance > Accounting package setup: the typed form of each package built from the
option declarations, the setup services it saves through (Direct Transfer cleared and
ticked again, a ledger or book that does not exist, the Xero secret kept write-only),
and the page's refusals, which change nothing."""

import os

import pytest
from cryptography.fernet import Fernet
from django.urls import reverse

from accounting.connectors import xero as xero_module
from accounting.connectors.gnucash import create_book
from accounting.models import AccountingSetup, AuditEvent, GLAccount, XeroConnection
from accounting.services import setup as setup_services
from accounting.setup_forms import setup_form_class
from core.errors import InvalidInput
from core.roles import APPROVER, FINANCE, STAFF
from tests.connectors.xero_fake import ORGANISATION, FakeXero
from tests.helpers import make_user

pytestmark = pytest.mark.django_db

PAGE = "/finance/setup/"


def setup_row() -> dict:
    return AccountingSetup.objects.values(
        "package", "direct_transfer", "export_format", "options", "saved_options"
    ).get(pk=1)


@pytest.fixture
def clerk_client(client):
    client.force_login(make_user("fiona", FINANCE))
    return client


def post(client, **data):
    fields = {"package": "beancount", "export_format": "gl_journal_csv", **data}
    return client.post(PAGE, fields)


# The form, from the declarations -------------------------------------------------------


def test_each_package_has_a_typed_field_per_declared_option():
    beancount = setup_form_class("beancount", "quickbooks_online_csv").base_fields
    assert {"option_ledger_path", "option_currency", "option_qbo_items"} <= set(beancount)
    assert "options" not in beancount
    gnucash = setup_form_class("gnucash", "gl_journal_csv").base_fields
    assert [choice for choice, _ in gnucash["option_book_database"].choices] == [
        "",
        "file",
        "postgresql",
    ]
    assert gnucash["option_ledger_path"].label == "Book file"
    xero = setup_form_class("xero", "xero_csv").base_fields
    assert xero["xero_client_secret"].widget.input_type == "password"
    assert xero["xero_client_secret"].widget.render_value is False


def test_a_mapping_is_typed_one_pair_a_line(book, ledger_root):
    form_class = setup_form_class("other", "quickbooks_online_csv")
    setup = AccountingSetup.objects.get(pk=1)
    form = form_class(
        {
            "package": "other",
            "export_format": "quickbooks_online_csv",
            "option_qbo_items": "4000 = Consulting\n\n4100 = Hardware",
        },
        setup=setup,
    )
    assert form.is_valid(), form.errors
    assert form.options() == {"qbo_items": {"4000": "Consulting", "4100": "Hardware"}}

    form = form_class(
        {"package": "other", "export_format": "quickbooks_online_csv", "option_qbo_items": "4000"},
        setup=setup,
    )
    assert not form.is_valid()
    assert "Line 1 is not a pair" in form.errors["option_qbo_items"][0]


# Defect 5: ticking Direct Transfer again brings the set-aside options back ---------------


def test_ticking_direct_transfer_again_with_an_export_option_brings_the_options_back(
    book, ledger_root
):
    (ledger_root / "main.beancount").write_text("")
    setup_services.accounting_setup_update(
        actor=None,
        package="beancount",
        direct_transfer=True,
        export_format="xero_csv",
        options={"ledger_path": "main.beancount", "currency": "EUR"},
    )
    setup_services.accounting_setup_update(actor=None, direct_transfer=False)
    assert setup_row()["saved_options"] == {"ledger_path": "main.beancount", "currency": "EUR"}

    # Step 12: tick it again, with the export file's option set in the same save.
    setup_services.accounting_setup_update(
        actor=None, direct_transfer=True, options={"xero_date_format": "us"}
    )

    row = setup_row()
    assert row["direct_transfer"]
    assert row["options"] == {
        "ledger_path": "main.beancount",
        "currency": "EUR",
        "xero_date_format": "us",
    }
    assert row["saved_options"] == {}


def test_the_page_clears_and_ticks_direct_transfer_again_in_the_references_order(
    clerk_client, book, ledger_root
):
    (ledger_root / "main.beancount").write_text("")
    setup_services.accounting_setup_update(
        actor=None,
        package="beancount",
        direct_transfer=True,
        options={"ledger_path": "main.beancount", "currency": "EUR"},
    )
    fields = {"option_ledger_path": "main.beancount", "option_currency": "EUR"}
    response = post(clerk_client, **fields)  # the box cleared
    assert response.status_code == 302
    assert setup_row()["options"] == {}

    response = post(clerk_client, direct_transfer="on")  # the fields now empty
    assert response.status_code == 302, response.content.decode()
    row = setup_row()
    assert row["direct_transfer"]
    assert row["options"] == {"ledger_path": "main.beancount", "currency": "EUR"}
    actions = AuditEvent.objects.filter(record_type="setup", actor__username="fiona")
    assert actions.count() == 2


# A ledger or book that does not exist -----------------------------------------------------


def test_a_beancount_ledger_that_does_not_exist_is_refused_and_nothing_changes(
    clerk_client, book, ledger_root
):
    before = setup_row()
    events = AuditEvent.objects.count()

    response = post(clerk_client, direct_transfer="on", option_ledger_path="books/typo.beancount")

    assert response.status_code == 400
    page = response.content.decode()
    assert "There is no ledger of that name in the ledger folder" in page
    assert "Nothing was saved" in page
    assert setup_row() == before
    assert AuditEvent.objects.count() == events
    assert os.listdir(ledger_root) == []

    with pytest.raises(InvalidInput) as refused:
        setup_services.accounting_setup_update(
            actor=None,
            package="beancount",
            direct_transfer=True,
            options={"ledger_path": "books/typo.beancount"},
        )
    assert refused.value.extra["fields"]["options.ledger_path"] == [setup_services.MISSING_LEDGER]


def test_a_new_empty_ledger_is_made_when_asked(clerk_client, book, ledger_root):
    response = post(
        clerk_client,
        direct_transfer="on",
        option_ledger_path="books/new.beancount",
        create_ledger="on",
    )
    assert response.status_code == 302
    assert (ledger_root / "books" / "new.beancount").read_text() == ""
    assert setup_row()["options"] == {"ledger_path": "books/new.beancount"}


def test_a_gnucash_book_must_exist(clerk_client, book, ledger_root):
    before = setup_row()
    response = clerk_client.post(
        PAGE,
        {
            "package": "gnucash",
            "export_format": "gl_journal_csv",
            "direct_transfer": "on",
            "option_ledger_path": "books/none.gnucash",
            "create_ledger": "on",  # not a field of GnuCash's form: books are made in GnuCash
        },
    )
    assert response.status_code == 400
    assert "There is no GnuCash book of that name" in response.content.decode()
    assert setup_row() == before
    assert os.listdir(ledger_root) == []


def test_switching_to_gnucash_and_testing_the_connection(clerk_client, book, ledger_root):
    accounts = list(GLAccount.objects.order_by("number").values_list("number", "name", "type"))
    create_book("books/main.gnucash", accounts, root=ledger_root)
    response = clerk_client.post(
        PAGE,
        {
            "package": "gnucash",
            "export_format": "gl_journal_csv",
            "direct_transfer": "on",
            "option_book_database": "file",
            "option_ledger_path": "books/main.gnucash",
        },
    )
    assert response.status_code == 302
    assert setup_row()["options"] == {"book_database": "file", "ledger_path": "books/main.gnucash"}

    response = clerk_client.post(PAGE + "test-connection/", follow=True)
    page = response.content.decode()
    assert "Opened the GnuCash book books/main.gnucash:" in page
    assert "Every GL account has its account there." in page


# Xero: the secret is write-only ----------------------------------------------------------


def test_the_xero_secret_is_stored_encrypted_never_shown_and_audited_as_set(
    clerk_client, book, settings
):
    settings.SECRETS_ENCRYPTION_KEY = Fernet.generate_key().decode()
    response = clerk_client.post(
        PAGE,
        {
            "package": "xero",
            "export_format": "xero_csv",
            "xero_client_id": "CLIENT-1",
            "xero_client_secret": "s3cret-value",
        },
    )
    assert response.status_code == 302
    connection = XeroConnection.objects.get(pk=1)
    assert connection.client_id == "CLIENT-1"
    assert "s3cret-value" not in connection.client_secret

    page = clerk_client.get(PAGE).content.decode()
    assert "s3cret-value" not in page
    assert 'id="xero-secret-state">set<' in page
    event = AuditEvent.objects.filter(record_type="setup").latest("pk")
    assert event.changes["xero_client_secret"] == {"before": "not set", "after": "set (new)"}
    assert "s3cret-value" not in str(AuditEvent.objects.values_list("changes", flat=True))

    # A new client id without its secret is refused, and the stored one stays.
    response = clerk_client.post(
        PAGE, {"package": "xero", "export_format": "xero_csv", "xero_client_id": "CLIENT-2"}
    )
    assert response.status_code == 400
    assert "Give the client secret that goes with the new client id" in response.content.decode()
    assert XeroConnection.objects.get(pk=1).client_id == "CLIENT-1"


# Roles -----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [STAFF, APPROVER])
def test_only_finance_opens_the_setup(client, book, role):
    client.force_login(make_user("someone", role))
    assert client.get(PAGE).status_code == 403
    assert client.post(PAGE, {"package": "other"}).status_code == 403
    assert "Accounting package setup" not in client.get("/").content.decode()


def test_finance_finds_the_setup_in_the_finance_menu(clerk_client, book):
    home = clerk_client.get("/").content.decode()
    assert f'href="{reverse("accounting:setup:page")}"' in home


@pytest.fixture
def fake_xero(settings):
    """The local server that plays Xero (tests/connectors/xero_fake.py), every request
    and answer checked against Xero's published description."""
    fake = FakeXero().start()
    for name, value in fake.settings_env().items():
        setattr(settings, name, value)
    settings.SECRETS_ENCRYPTION_KEY = Fernet.generate_key().decode()
    xero_module._limits.clear()
    yield fake
    fake.stop()
    xero_module._limits.clear()
    assert fake.violations == [], "\n".join(fake.violations)


def test_xero_test_connection_names_the_organisation(clerk_client, book, fake_xero):
    page = clerk_client.get(PAGE + "?package=xero&export_format=xero_csv").content.decode()
    assert "Not connected" in page

    response = clerk_client.post(
        PAGE,
        {
            "package": "xero",
            "export_format": "xero_csv",
            "direct_transfer": "on",
            "option_xero_status": "DRAFT",
            "xero_client_id": fake_xero.client_id,
            "xero_client_secret": fake_xero.client_secret,
        },
    )
    assert response.status_code == 302
    assert setup_row()["options"] == {"xero_status": "DRAFT"}

    response = clerk_client.post(PAGE + "test-connection/", follow=True)
    page = response.content.decode()
    assert f"Connected to the Xero organisation {ORGANISATION}." in page
    assert f"Connected to the Xero organisation <strong>{ORGANISATION}</strong>" in page
    assert fake_xero.client_secret not in page


def test_xero_refused_credentials_are_a_message_in_the_page(clerk_client, book, fake_xero):
    clerk_client.post(
        PAGE,
        {
            "package": "xero",
            "export_format": "xero_csv",
            "direct_transfer": "on",
            "xero_client_id": fake_xero.client_id,
            "xero_client_secret": "not-the-secret",
        },
    )
    response = clerk_client.post(PAGE + "test-connection/", follow=True)
    page = response.content.decode()
    assert "message-refusal" in page
    assert "not-the-secret" not in page


def test_restore_options_puts_back_what_clearing_set_aside(clerk_client, book, ledger_root):
    (ledger_root / "main.beancount").write_text("")
    setup_services.accounting_setup_update(
        actor=None,
        package="beancount",
        direct_transfer=True,
        options={"ledger_path": "main.beancount"},
    )
    setup_services.accounting_setup_update(actor=None, direct_transfer=False)
    page = clerk_client.get(PAGE).content.decode()
    assert "Ledger file: <code>main.beancount</code>" in page

    response = clerk_client.post(PAGE + "restore-options/", follow=True)
    assert "The saved options are restored." in response.content.decode()
    assert setup_row()["options"] == {"ledger_path": "main.beancount"}
    assert AuditEvent.objects.filter(record_type="setup", actor__username="fiona").count() == 1

    # Nothing left to restore: said in the page, nothing changes.
    before = setup_row()
    response = clerk_client.post(PAGE + "restore-options/", follow=True)
    assert "There are no saved options to restore" in response.content.decode()
    assert setup_row() == before


# Payments back ----------------------------------------------------------------------


def test_the_status_for_fully_paid_invoices_is_set_on_the_screen_and_an_open_one_refused(
    clerk_client,
):
    page = clerk_client.get(PAGE).content.decode()
    assert 'name="paid_invoice_status"' in page and "Status for fully paid invoices" in page
    refused = post(clerk_client, paid_invoice_status="New")
    assert refused.status_code == 400
    assert AccountingSetup.objects.get(pk=1).paid_invoice_status == ""
    assert "New" in refused.content.decode()
    saved = post(clerk_client, paid_invoice_status="Closed")
    assert saved.status_code == 302
    assert AccountingSetup.objects.get(pk=1).paid_invoice_status == "Closed"
    assert 'value="Closed"' in clerk_client.get(PAGE).content.decode()
