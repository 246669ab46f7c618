"""The setup tables in the Django admin, and the accounting package setup's
clear-and-restore of Direct Transfer."""

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from accounting.models import AccountingSetup
from accounting.services import setup as setup_services

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    user = User.objects.create_superuser("root", password="pw")
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    "model",
    [
        "accounting/glaccount",
        "accounting/taxcode",
        "accounting/defaultglaccount",
        "accounting/accountingsetup",
        "accounting/glbatch",
        "accounting/transferlog",
        "accounting/auditevent",
        "invoicing/invoicestatus",
        "expenses/expensetype",
        "psa/company",
        "auth/group",
        "auth/user",
    ],
)
def test_every_setup_table_has_an_admin_page(admin_client, book, model):
    response = admin_client.get(f"/admin/{model}/")
    assert response.status_code == 200


def test_records_are_not_edited_in_the_admin(admin_client):
    for model in ("invoicing/invoice", "expenses/expenseentry", "procurement/purchaseorder"):
        assert admin_client.get(f"/admin/{model}/").status_code == 404
    assert admin_client.get("/admin/accounting/glbatch/add/").status_code == 403


def test_clearing_direct_transfer_keeps_the_options_and_one_click_restores_them(
    admin_client, book, ledger_root
):
    ledger = "books.beancount"
    (ledger_root / ledger).write_text("")
    setup_services.accounting_setup_update(
        actor=None, package="beancount", direct_transfer=True, options={"ledger_path": ledger}
    )
    url = reverse("admin:accounting_accountingsetup_change", args=[1])
    assert "restore-options-form" not in admin_client.get(url).content.decode()

    response = admin_client.post(
        url,
        {
            "package": "beancount",
            "export_format": "gl_journal_csv",
            "option_ledger_path": ledger,
        },
        follow=True,
    )
    assert response.status_code == 200
    setup = AccountingSetup.objects.get(pk=1)
    assert setup.direct_transfer is False
    assert setup.options == {}
    assert setup.saved_options == {"ledger_path": ledger}
    assert "restore-options-form" in response.content.decode()

    response = admin_client.post(
        reverse("admin:accounting_accountingsetup_restore_options", args=[1]), follow=True
    )
    assert "The saved options are restored." in response.content.decode()
    setup.refresh_from_db()
    assert setup.options == {"ledger_path": ledger} and setup.saved_options == {}


def test_direct_transfer_without_a_connector_is_a_form_error(admin_client, book):
    url = reverse("admin:accounting_accountingsetup_change", args=[1])
    response = admin_client.post(
        url,
        {
            "package": "other",
            "direct_transfer": "on",
            "export_format": "gl_journal_csv",
        },
    )
    assert response.status_code == 200
    assert "This package has no direct transfer" in response.content.decode()
    assert AccountingSetup.objects.get(pk=1).direct_transfer is False


def test_the_closed_flag_of_a_status_in_use_is_read_only(admin_client, make_invoice):
    make_invoice()
    from invoicing.models import InvoiceStatus

    closed = InvoiceStatus.objects.get(name="Closed")
    html = admin_client.get(
        reverse("admin:invoicing_invoicestatus_change", args=[closed.pk])
    ).content.decode()
    assert 'name="is_closed"' not in html


def test_test_connection_on_the_setup_page_reports_the_gnucash_book(
    admin_client, book, ledger_root
):
    from accounting.connectors.gnucash import create_book
    from accounting.models import GLAccount

    url = reverse("admin:accounting_accountingsetup_change", args=[1])
    assert "test-connection-form" not in admin_client.get(url).content.decode()
    accounts = list(GLAccount.objects.order_by("number").values_list("number", "name", "type"))
    create_book("books/main.gnucash", accounts[1:], root=ledger_root)
    setup_services.accounting_setup_update(
        actor=None,
        package="gnucash",
        direct_transfer=True,
        options={"ledger_path": "books/main.gnucash"},
    )
    assert "test-connection-form" in admin_client.get(url).content.decode()

    response = admin_client.post(
        reverse("admin:accounting_accountingsetup_test_connection", args=[1]), follow=True
    )

    page = response.content.decode()
    assert "Opened the GnuCash book books/main.gnucash:" in page
    number, name, _type = accounts[0]
    assert f"GL account {number} {name} has no account in the book" in page


def test_test_connection_of_a_missing_book_says_so_on_the_setup_page(
    admin_client, book, ledger_root
):
    # Saved when the book was there; it is gone since.
    AccountingSetup.objects.filter(pk=1).update(
        package="gnucash", direct_transfer=True, options={"ledger_path": "books/none.gnucash"}
    )
    response = admin_client.post(
        reverse("admin:accounting_accountingsetup_test_connection", args=[1]), follow=True
    )
    assert "The GnuCash book books/none.gnucash does not exist" in response.content.decode()
