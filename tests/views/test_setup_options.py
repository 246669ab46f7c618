"""The accounting package setup's options in the Django admin, and the pages and
transfers that read them: a bad ledger name or option is a field error of the form,
and what an old setup row holds never breaks a page."""

import os

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from accounting import services as accounting
from accounting.models import AccountingSetup, TransferState
from tests.helpers import send

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    user = User.objects.create_superuser("root", password="pw")
    client.force_login(user)
    return client


def post_setup(admin_client, fields: dict, **more):
    """The admin's setup form, as typed: one field per option."""
    url = reverse("admin:accounting_accountingsetup_change", args=[1])
    return admin_client.post(
        url,
        {
            "package": "beancount",
            "direct_transfer": "on",
            "export_format": "gl_journal_csv",
            **{f"option_{name}": value for name, value in fields.items()},
            **more,
        },
    )


def form_errors(response) -> dict:
    return response.context["adminform"].form.errors


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"ledger_path": "/tmp/pwned.beancount"}, "option_ledger_path"),
        ({"ledger_path": "../outside.beancount"}, "option_ledger_path"),
        ({"ledger_path": "main\x00.beancount"}, "option_ledger_path"),
        ({"ledger_path": "missing.beancount"}, "option_ledger_path"),
        ({"ledger_path": "main.beancount", "currency": "us$"}, "option_currency"),
        ({}, "option_ledger_path"),
    ],
)
def test_a_bad_option_is_a_field_error_of_the_admin_form(
    admin_client, book, ledger_root, fields, field
):
    (ledger_root / "main.beancount").write_text("")
    before = AccountingSetup.objects.values().get(pk=1)
    response = post_setup(admin_client, fields)
    assert response.status_code == 200
    assert list(form_errors(response)) == [field], form_errors(response)
    assert AccountingSetup.objects.values().get(pk=1) == before
    assert not (ledger_root.parent / "outside.beancount").exists()
    assert os.listdir(ledger_root) == ["main.beancount"]


def test_the_admin_form_shows_typed_fields_not_json(admin_client, book, ledger_root):
    url = reverse("admin:accounting_accountingsetup_change", args=[1])
    AccountingSetup.objects.filter(pk=1).update(
        package="gnucash", export_format="quickbooks_online_csv"
    )
    page = admin_client.get(url).content.decode()
    assert 'name="options"' not in page
    for name in ("option_book_database", "option_ledger_path", "option_qbo_items"):
        assert f'name="{name}"' in page
    assert "Book kept in" in page


def test_the_admin_form_names_the_option_at_fault(admin_client, book, ledger_root, tmp_path):
    (ledger_root / "out").symlink_to(tmp_path)
    response = post_setup(admin_client, {"ledger_path": "out/main.beancount"})
    [message] = form_errors(response)["option_ledger_path"]
    assert "outside the ledger folder" in message
    assert str(tmp_path) not in message


def test_the_admin_form_saves_a_ledger_name_inside_the_folder(admin_client, book, ledger_root):
    response = post_setup(admin_client, {"ledger_path": "books/main.beancount"}, create_ledger="on")
    assert response.status_code == 302
    setup = AccountingSetup.objects.get(pk=1)
    assert setup.direct_transfer and setup.options == {"ledger_path": "books/main.beancount"}
    assert (ledger_root / "books" / "main.beancount").exists()


@pytest.mark.parametrize(
    "options",
    [
        {"ledger_path": ["x"], "currency": 5},
        {"ledger_path": {"a": 1}},
        {"ledger_path": "/etc/hostname"},
        ["not", "an", "object"],
        "text",
    ],
)
def test_pages_render_whatever_the_setup_row_holds(
    finance_client, book, ledger_root, make_invoice, options
):
    make_invoice()
    AccountingSetup.objects.filter(pk=1).update(
        package="beancount", direct_transfer=True, options=options
    )
    for kind in ("invoice", "expense", "freight", "product"):
        response = finance_client.get(reverse("accounting:unposted", args=[kind]))
        assert response.status_code == 200
    assert finance_client.get(reverse("accounting:batch_list")).status_code == 200
    admin = User.objects.create_superuser("root", password="pw")
    finance_client.force_login(admin)
    url = reverse("admin:accounting_accountingsetup_change", args=[1])
    assert finance_client.get(url).status_code == 200
    assert finance_client.get(reverse("accounting:setup:page")).status_code == 200


def test_a_transfer_with_bad_export_options_in_the_row_fails_in_product_words(
    finance, book, make_invoice, django_capture_on_commit_callbacks
):
    AccountingSetup.objects.filter(pk=1).update(
        package="quickbooks_online",
        direct_transfer=False,
        export_format="quickbooks_online_csv",
        options={"qbo_invoices_as": "invoice"},
    )
    invoice = make_invoice()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        batch = accounting.batch_create(
            actor=finance, items=[{"type": "invoice", "id": invoice.pk}], transfer="file"
        )
    # The setup changes between the batch's creation and its transfer.
    AccountingSetup.objects.filter(pk=1).update(
        options={"qbo_invoices_as": "invoice", "qbo_items": "notadict"}
    )
    for callback in callbacks:
        callback()
    batch.refresh_from_db()
    assert batch.transfer_state == TransferState.FAILED
    assert "qbo_items" in batch.transfer_error
    assert "attribute" not in batch.transfer_error and "'str'" not in batch.transfer_error


def test_a_batch_is_refused_clearly_while_the_row_holds_bad_options(
    finance, book, make_invoice, django_capture_on_commit_callbacks
):
    AccountingSetup.objects.filter(pk=1).update(
        package="quickbooks_online",
        export_format="quickbooks_online_csv",
        options={"qbo_invoices_as": ["invoice"]},
    )
    invoice = make_invoice()
    with pytest.raises(Exception) as error:
        send(
            django_capture_on_commit_callbacks,
            finance,
            [{"type": "invoice", "id": invoice.pk}],
            transfer="file",
        )
    assert getattr(error.value, "code", None) == "export_not_possible", error.value
    assert "qbo_invoices_as" in str(error.value)
