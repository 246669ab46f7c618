"""A direct batch deleted after a crash left its records in the ledger without their
transfer-log rows: when the records go out in a new batch, the ledger holds them once."""

from beancount import loader
from beancount.core.data import Transaction

from accounting import selectors, transfer
from accounting import services as accounting
from accounting.connectors import get_connector
from accounting.models import AccountingSetup, AuditEvent, GLBatch, TransferLog, TransferState
from tests.helpers import send


def test_records_a_crash_left_in_the_ledger_are_there_once_after_their_batch_is_deleted(
    ledger_root, finance, make_invoice, django_capture_on_commit_callbacks
):
    AccountingSetup.objects.filter(pk=1).update(
        package="beancount", direct_transfer=True, options={"ledger_path": "books.beancount"}
    )
    ledger = ledger_root / "books.beancount"
    invoices = [make_invoice() for _ in range(3)]
    items = [{"type": "invoice", "id": invoice.pk} for invoice in invoices]
    # The batch is made, but its transfer is not run (the on-commit hand-over is not run).
    crashed = accounting.batch_create(actor=finance, items=items)
    # The run wrote its records to the ledger, then died before their log rows committed.
    counts, _ = selectors.batch_counts(crashed)
    setup = selectors.accounting_setup()
    get_connector("beancount", setup.options).send(
        list(transfer.batch_postings(crashed, counts)),
        batch_identifier=crashed.batch_identifier,
    )
    GLBatch.objects.filter(pk=crashed.pk).update(transfer_state=TransferState.INTERRUPTED)
    assert not TransferLog.objects.filter(batch=crashed).exists()

    accounting.batch_delete(actor=finance, batch_id=crashed.pk)
    again = send(django_capture_on_commit_callbacks, finance, items)

    entries, errors, _ = loader.load_file(str(ledger))
    assert errors == []
    written = [
        (entry.meta["psa_record"], entry.meta["psa_batch"])
        for entry in entries
        if isinstance(entry, Transaction)
    ]
    assert sorted(written) == sorted(
        (f"invoice:{invoice.pk}", again.batch_identifier) for invoice in invoices
    )
    assert TransferLog.objects.filter(batch=again).count() == 3
    event = AuditEvent.objects.get(batch=again, action="orphans_removed")
    assert event.actor is None
    assert sorted(event.changes["references"]) == sorted(
        f"^psa-invoice-{invoice.pk}@{crashed.batch_identifier}" for invoice in invoices
    )


def test_a_normal_direct_transfer_removes_nothing(
    ledger_root, finance, make_invoice, django_capture_on_commit_callbacks
):
    AccountingSetup.objects.filter(pk=1).update(
        package="beancount", direct_transfer=True, options={"ledger_path": "books.beancount"}
    )
    batch = send(
        django_capture_on_commit_callbacks, finance, [{"type": "invoice", "id": make_invoice().pk}]
    )
    assert not AuditEvent.objects.filter(batch=batch, action="orphans_removed").exists()
