"""The GL journal CSV transfer, end to end through the Celery task (inline here; the
worker tests run it on a real worker), and set-based batch work."""

import csv
import io
from decimal import Decimal

from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounting import services as accounting
from accounting import tasks
from accounting.models import TransferLog, TransferState
from tests.helpers import send


def read_csv(batch):
    batch.file.open("rb")
    try:
        return list(csv.DictReader(io.StringIO(batch.file.read().decode())))
    finally:
        batch.file.close()


def test_transfer_writes_gl_journal_csv_and_fills_the_transfer_log(
    finance, make_invoice, make_expense, make_purchase_order, django_capture_on_commit_callbacks
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

    rows = read_csv(batch)
    assert {row["batch"] for row in rows} == {batch.batch_identifier}
    assert {row["record_type"] for row in rows} == {"invoice", "expense", "freight", "product"}
    debit = sum(Decimal(row["debit"] or "0") for row in rows)
    credit = sum(Decimal(row["credit"] or "0") for row in rows)
    assert debit == credit
    invoice_rows = [row for row in rows if row["record_type"] == "invoice"]
    assert invoice_rows[0]["reference"] == f"Invoice {invoice.number}"
    assert sum(Decimal(row["debit"] or "0") for row in invoice_rows) == invoice.total
    logs = TransferLog.objects.filter(batch=batch)
    assert {(log.record_type, log.record_id) for log in logs} == {
        ("invoice", invoice.pk),
        ("expense", expense.pk),
        ("freight", po.pk),
        ("product", line.pk),
    }
    assert all(len(log.fingerprint) == 64 and log.gl_lines for log in logs)


def test_running_the_transfer_task_twice_sends_nothing_twice(
    finance, make_invoice, django_capture_on_commit_callbacks
):
    invoice = make_invoice()
    batch = send(
        django_capture_on_commit_callbacks, finance, [{"type": "invoice", "id": invoice.pk}]
    )
    first_file = batch.file.name
    tasks.batch_transfer.delay(batch.pk)
    # A redelivery of a task that died half way: the batch is marked running again.
    type(batch).objects.filter(pk=batch.pk).update(transfer_state=TransferState.RUNNING)
    tasks.batch_transfer.delay(batch.pk)
    batch.refresh_from_db()
    assert batch.transfer_state == TransferState.DONE
    assert batch.file.name == first_file
    assert len(read_csv(batch)) == 3  # receivable, income, sales tax
    assert TransferLog.objects.filter(batch=batch).count() == 1


def test_failed_transfer_keeps_the_error_and_can_be_retried(
    finance, make_invoice, django_capture_on_commit_callbacks
):
    from accounting.models import DefaultGLAccount

    invoice = make_invoice()
    receivable = DefaultGLAccount.objects.get(type="accounts_receivable")
    account = receivable.gl_account
    receivable.delete()
    with django_capture_on_commit_callbacks(execute=True):
        batch = accounting.batch_create(
            actor=finance, items=[{"type": "invoice", "id": invoice.pk}]
        )
    batch.refresh_from_db()
    assert batch.transfer_state == TransferState.FAILED
    assert "accounts receivable" in batch.transfer_error
    assert not TransferLog.objects.filter(batch=batch).exists()

    DefaultGLAccount.objects.create(type="accounts_receivable", gl_account=account)
    with django_capture_on_commit_callbacks(execute=True):
        accounting.batch_retry(actor=finance, batch_id=batch.pk)
    batch.refresh_from_db()
    assert batch.transfer_state == TransferState.DONE
    assert TransferLog.objects.filter(batch=batch).count() == 1


def test_batch_create_and_delete_are_set_based(finance, make_invoice):
    """Batching or deleting takes the same handful of statements for 3 or 43 records."""

    def statements_for(new_records):
        for _ in range(new_records):
            make_invoice()
        with CaptureQueriesContext(connection) as created:
            batch = accounting.batch_create(actor=finance, all_unposted=True)
        with CaptureQueriesContext(connection) as deleted:
            accounting.batch_delete(actor=finance, batch_id=batch.pk)
        return len(created), len(deleted)

    statements_for(1)  # the first batch also creates the batch-number counter row
    small = statements_for(3)  # with the deleted batch's record: 4 records
    large = statements_for(40)  # 44 records
    assert large == small
    assert small[0] < 40 and small[1] < 30
