"""Direct transfer into a real beancount ledger, checked with beancount's own loader."""

import logging
import os
import time
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
def ledger(ledger_root, db):
    """The setup sends to `books.beancount` inside the ledger folder."""
    AccountingSetup.objects.filter(pk=1).update(
        package="beancount", direct_transfer=True, options={"ledger_path": "books.beancount"}
    )
    return ledger_root / "books.beancount"


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


# --- the ledger stays inside the ledger folder, checked again when a transfer opens it ------


def failed_transfer(capture, actor, invoice, before_transfer=lambda: None):
    """Batch the invoice for direct transfer; `before_transfer` runs between the batch's
    creation and its transfer. Answer the batch, its transfer failed."""
    with capture(execute=False) as callbacks:
        batch = accounting.batch_create(actor=actor, items=[{"type": "invoice", "id": invoice.pk}])
    before_transfer()
    for callback in callbacks:
        callback()
    batch.refresh_from_db()
    assert batch.transfer_state == "failed", "the transfer should have been refused"
    return batch


def set_ledger(name):
    AccountingSetup.objects.filter(pk=1).update(
        package="beancount", direct_transfer=True, options={"ledger_path": name}
    )


def test_missing_folders_of_the_ledger_are_made_inside_the_ledger_folder(
    ledger_root, finance, make_invoice, django_capture_on_commit_callbacks
):
    set_ledger("books/2026/main.beancount")
    invoice = make_invoice()
    send(django_capture_on_commit_callbacks, finance, [{"type": "invoice", "id": invoice.pk}])
    ledger = ledger_root / "books" / "2026" / "main.beancount"
    assert len(load(ledger)[0]) == 1
    assert sorted(os.listdir(ledger.parent)) == ["main.beancount", "main.beancount.lock"]


@pytest.mark.parametrize("swap", ["file", "folder", "lock"])
def test_a_symlink_swapped_in_after_setup_is_refused_and_nothing_is_written_outside(
    ledger_root, tmp_path, finance, make_invoice, django_capture_on_commit_callbacks, swap
):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "main.beancount").write_text("")
    (outside / "main.beancount.lock").write_text("")
    books = ledger_root / "books"
    books.mkdir()
    (books / "main.beancount").write_text("")
    set_ledger("books/main.beancount")
    invoice = make_invoice()

    def swap_in_a_symlink():
        if swap == "file":
            (books / "main.beancount").unlink()
            (books / "main.beancount").symlink_to(outside / "main.beancount")
        elif swap == "folder":
            (books / "main.beancount").unlink()
            books.rmdir()
            books.symlink_to(outside)
        else:
            (books / "main.beancount.lock").symlink_to(outside / "main.beancount.lock")

    batch = failed_transfer(django_capture_on_commit_callbacks, finance, invoice, swap_in_a_symlink)

    assert "books/main.beancount" in batch.transfer_error
    assert "outside the ledger folder" in batch.transfer_error
    assert str(tmp_path) not in batch.transfer_error
    assert sorted(os.listdir(outside)) == ["main.beancount", "main.beancount.lock"]
    assert (outside / "main.beancount").read_text() == ""
    assert (outside / "main.beancount.lock").read_text() == ""
    assert not TransferLog.objects.filter(batch=batch).exists()


def test_a_fifo_swapped_in_after_setup_fails_the_transfer_without_waiting(
    ledger_root, finance, make_invoice, django_capture_on_commit_callbacks
):
    set_ledger("main.beancount")
    invoice = make_invoice()
    started = time.monotonic()
    batch = failed_transfer(
        django_capture_on_commit_callbacks,
        finance,
        invoice,
        lambda: os.mkfifo(ledger_root / "main.beancount"),
    )
    assert time.monotonic() - started < 10
    assert "main.beancount is not a regular file" in batch.transfer_error


def test_an_absolute_ledger_path_kept_from_before_is_refused_at_transfer(
    ledger_root, tmp_path, finance, make_invoice, django_capture_on_commit_callbacks
):
    target = tmp_path / "pwned.beancount"
    set_ledger("main.beancount")
    batch = failed_transfer(
        django_capture_on_commit_callbacks, finance, make_invoice(), lambda: set_ledger(str(target))
    )
    assert "ledger folder" in batch.transfer_error
    assert str(tmp_path) not in batch.transfer_error
    assert not target.exists() and not (tmp_path / "pwned.beancount.lock").exists()


def test_a_ledger_that_does_not_parse_is_named_without_its_content(
    ledger_root, finance, make_invoice, django_capture_on_commit_callbacks, caplog
):
    (ledger_root / "books").mkdir()
    secret = ledger_root / "books" / "main.beancount"
    secret.write_text("s3cr3t-P@ssw0rd!\n")
    set_ledger("books/main.beancount")
    with caplog.at_level(logging.WARNING, logger="accounting.connectors.beancount"):
        batch = failed_transfer(django_capture_on_commit_callbacks, finance, make_invoice())
    assert batch.transfer_error == (
        "The ledger books/main.beancount does not parse at line 1; fix that line in the "
        "ledger, then retry the transfer."
    )
    assert secret.read_text() == "s3cr3t-P@ssw0rd!\n"
    # The full detail is in the server log, for the operator.
    assert any("s3cr3t" in record.getMessage() for record in caplog.records)


def test_a_ledger_larger_than_the_limit_is_not_read(
    ledger, settings, finance, make_invoice, django_capture_on_commit_callbacks
):
    settings.LEDGER_MAX_BYTES = 1000
    ledger.write_text(";" + "x" * 2000 + "\n")
    batch = failed_transfer(django_capture_on_commit_callbacks, finance, make_invoice())
    assert "books.beancount is larger than" in batch.transfer_error
    assert ledger.read_text() == ";" + "x" * 2000 + "\n"


def test_a_direct_resend_removes_all_originals_in_one_pass_over_the_ledger(
    ledger, finance, make_invoice, django_capture_on_commit_callbacks, monkeypatch
):
    """Re-sending many records rewrites the ledger once for their originals, not once per
    record; also when the new batch reuses the deleted batch's identifier."""
    from accounting.connectors.beancount import BeancountConnector

    invoices = [make_invoice() for _ in range(25)]
    items = [{"type": "invoice", "id": invoice.pk} for invoice in invoices]
    first = send(django_capture_on_commit_callbacks, finance, items, batch_identifier="MONTH")
    accounting.batch_delete(actor=finance, batch_id=first.pk)
    rewrites = []
    replace = BeancountConnector._replace
    monkeypatch.setattr(
        BeancountConnector,
        "_replace",
        lambda self, text: rewrites.append(len(text)) or replace(self, text),
    )

    second = send(
        django_capture_on_commit_callbacks,
        finance,
        items,
        batch_identifier="MONTH",
        confirm_resend=True,
    )

    assert len(rewrites) == 1
    transactions, _balances = load(ledger)
    assert len(transactions) == 25
    assert {t.meta["psa_record"] for t in transactions} == {f"invoice:{i.pk}" for i in invoices}
    originals = TransferLog.objects.filter(batch=first)
    assert originals.count() == 25
    assert set(originals.values_list("removal", "replaced_by_id")) == {("connector", second.pk)}
    assert TransferLog.objects.filter(batch=second, removed_at__isnull=True).count() == 25
