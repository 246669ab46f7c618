"""Direct transfer into a real beancount ledger, checked with beancount's own loader."""

from collections import defaultdict
from decimal import Decimal

import pytest
from beancount import loader
from beancount.core.data import Transaction

from accounting import selectors
from accounting import services as accounting
from accounting.models import AccountingSetup, TransferLog
from invoicing import services as invoice_services
from tests.helpers import refused, send, status


@pytest.fixture
def ledger(tmp_path, db):
    path = tmp_path / "books.beancount"
    AccountingSetup.objects.filter(pk=1).update(
        package="beancount", direct_transfer=True, options={"ledger_path": str(path)}
    )
    return path


def load(path):
    entries, errors, _options = loader.load_file(str(path))
    assert errors == []
    transactions = [entry for entry in entries if isinstance(entry, Transaction)]
    balances = defaultdict(Decimal)
    for transaction in transactions:
        for posting in transaction.postings:
            balances[posting.account] += posting.units.number
    return transactions, balances


def receivable(balances):
    return sum(amount for account, amount in balances.items() if "Receivable" in account)


def test_direct_transfer_writes_one_balanced_transaction_per_record(
    ledger,
    finance,
    make_invoice,
    make_expense,
    make_purchase_order,
    django_capture_on_commit_callbacks,
):
    invoice, expense = make_invoice(), make_expense()
    po, line = make_purchase_order()
    batch = send(
        django_capture_on_commit_callbacks,
        finance,
        [
            {"type": "invoice", "id": invoice.pk},
            {"type": "expense", "id": expense.pk},
            {"type": "freight", "id": po.pk},
            {"type": "product", "id": line.pk},
        ],
    )
    assert batch.transfer_method == "direct" and not batch.file

    transactions, balances = load(ledger)
    assert len(transactions) == 4
    assert sum(balances.values()) == 0
    assert receivable(balances) == invoice.total
    logs = TransferLog.objects.filter(batch=batch)
    assert all(log.external_reference for log in logs)
    assert {log.record_type for log in logs} == {"invoice", "expense", "freight", "product"}


def test_resending_an_edited_record_replaces_the_original_in_the_ledger(
    ledger, finance, make_invoice, django_capture_on_commit_callbacks
):
    invoice = make_invoice()
    first = send(
        django_capture_on_commit_callbacks, finance, [{"type": "invoice", "id": invoice.pk}]
    )
    accounting.record_unbatch(actor=finance, record_type="invoice", record_id=invoice.pk)
    invoice.refresh_from_db()
    invoice = invoice_services.invoice_update(actor=finance, invoice=invoice, status=status("New"))
    invoice = invoice_services.invoice_update(
        actor=finance,
        invoice=invoice,
        lines=[
            {"description": "Corrected", "quantity": Decimal("3"), "unit_price": Decimal("100.00")}
        ],
    )
    invoice = invoice_services.invoice_update(
        actor=finance, invoice=invoice, status=status("Closed")
    )

    with refused("retransfer_unconfirmed") as refusal:
        accounting.batch_create(actor=finance, items=[{"type": "invoice", "id": invoice.pk}])
    assert "removes the originals" in refusal.value.message
    second = send(
        django_capture_on_commit_callbacks,
        finance,
        [{"type": "invoice", "id": invoice.pk}],
        confirm_resend=True,
    )

    transactions, balances = load(ledger)
    assert len(transactions) == 1  # the original is gone, the corrected one is in
    assert receivable(balances) == invoice.total == Decimal("324.75")
    original = TransferLog.objects.get(batch=first)
    assert original.removal == "connector" and original.replaced_by_id == second.pk
    assert TransferLog.objects.get(batch=second).removed_at is None
    [checked] = selectors.batch_resend_checklist(second)
    assert checked["batch_identifier"] == first.batch_identifier
    assert checked["removal"] == "connector"


def test_a_batch_can_choose_a_file_while_the_setup_transfers_directly(
    ledger, finance, make_invoice, django_capture_on_commit_callbacks
):
    invoice = make_invoice()
    batch = send(
        django_capture_on_commit_callbacks,
        finance,
        [{"type": "invoice", "id": invoice.pk}],
        transfer="file",
    )
    assert batch.transfer_method == "file" and batch.file
    assert not ledger.exists() or load(ledger)[0] == []
