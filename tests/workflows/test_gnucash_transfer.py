"""Direct transfer into a GnuCash book through the product's own steps, the book read back
by GnuCash's own engine: the demo switched to GnuCash, and a re-send."""

from decimal import Decimal

import pytest
from django.core.management import call_command

from accounting import services as accounting
from accounting.models import AccountingSetup, AuditEvent, GLBatch, TransferLog
from invoicing.models import Invoice
from tests.connectors.test_gnucash import read_with_gnucash
from tests.helpers import send

pytestmark = pytest.mark.django_db


def test_the_demo_switched_to_gnucash_sends_a_batch_into_the_book(
    ledger_root, settings, tmp_path, finance, django_capture_on_commit_callbacks, capsys
):
    settings.MEDIA_ROOT = tmp_path / "media"
    with django_capture_on_commit_callbacks(execute=True):
        call_command("demo")

    call_command("demo_gnucash")

    said = capsys.readouterr().out
    assert "Made the GnuCash book books/demo.gnucash" in said
    assert "Every GL account has its account there." in said
    setup = AccountingSetup.objects.get(pk=1)
    assert (setup.package, setup.direct_transfer, setup.options) == (
        "gnucash",
        True,
        {"ledger_path": "books/demo.gnucash"},
    )
    assert AuditEvent.objects.filter(action="setup_changed").exists()
    book = ledger_root / "books" / "demo.gnucash"
    assert read_with_gnucash(book) == {"balances": {}, "transactions": 0}

    batch = send(django_capture_on_commit_callbacks, finance, [], all_unposted=True)

    assert batch.transfer_method == "direct"
    sent = TransferLog.objects.filter(batch=batch)
    read = read_with_gnucash(book)
    assert read["transactions"] == sent.count() > 0
    assert sum(read["balances"].values()) == 0
    invoices = Invoice.objects.filter(pk__in=sent.filter(record_type="invoice").values("record_id"))
    assert read["balances"]["1100"] == sum(invoice.total for invoice in invoices)
    assert all(len(row.external_reference) == 32 for row in sent)  # GnuCash's guid

    call_command("demo_gnucash")  # again: the book is kept as it is
    assert "exists already" in capsys.readouterr().out
    assert read_with_gnucash(book)["transactions"] == sent.count()


def test_a_resent_batch_replaces_its_originals_in_the_book(
    ledger_root, finance, make_invoice, django_capture_on_commit_callbacks
):
    from accounting.connectors.gnucash import create_book
    from accounting.models import GLAccount

    accounts = GLAccount.objects.values_list("number", "name", "type")
    create_book("books.gnucash", list(accounts), root=ledger_root)
    AccountingSetup.objects.filter(pk=1).update(
        package="gnucash", direct_transfer=True, options={"ledger_path": "books.gnucash"}
    )
    invoices = [make_invoice() for _ in range(3)]
    items = [{"type": "invoice", "id": invoice.pk} for invoice in invoices]
    first = send(django_capture_on_commit_callbacks, finance, items, batch_identifier="MONTH")
    total = sum(invoice.total for invoice in invoices)
    book = ledger_root / "books.gnucash"
    before = read_with_gnucash(book)
    assert before["transactions"] == 3
    assert before["balances"]["1200"] == total > Decimal(0)

    accounting.batch_delete(actor=finance, batch_id=first.pk)
    second = send(
        django_capture_on_commit_callbacks,
        finance,
        items,
        batch_identifier="MONTH",
        confirm_resend=True,
    )

    assert read_with_gnucash(book) == before  # the same records, once each
    originals = TransferLog.objects.filter(batch=first)
    assert set(originals.values_list("removal", "replaced_by_id")) == {("connector", second.pk)}
    assert not set(originals.values_list("external_reference", flat=True)) & set(
        TransferLog.objects.filter(batch=second).values_list("external_reference", flat=True)
    )
    assert GLBatch.objects.get(pk=second.pk).transfer_error == ""
