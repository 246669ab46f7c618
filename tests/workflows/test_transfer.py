"""The GL journal CSV transfer, end to end through the Celery task (inline here; the
worker tests run it on a real worker), and set-based batch work."""

import csv
import gc
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounting import services as accounting
from accounting import tasks, transfer
from accounting.exporters import ExportError
from accounting.gl import AccountBook
from accounting.models import TransferLog, TransferState
from accounting.postables import get_kind
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


def test_the_log_keeps_each_records_gl_lines_and_the_fingerprint_of_its_posting(
    finance, make_invoice, django_capture_on_commit_callbacks
):
    invoice = make_invoice()
    # Text that the log's COPY must escape, and text it must not touch.
    invoice.lines.update(description='Back\\slash\tand tab\r\nnew line, "quoted", café \\N')
    batch = send(
        django_capture_on_commit_callbacks, finance, [{"type": "invoice", "id": invoice.pk}]
    )
    log = TransferLog.objects.get(batch=batch)
    assert log.gl_lines[1][5] == 'Back\\slash\tand tab\r\nnew line, "quoted", café \\N'

    posting = get_kind("invoice").posting(
        get_kind("invoice").queryset().get(pk=invoice.pk), AccountBook()
    )
    assert log.gl_lines == posting.lines_json()
    assert [line[:5] for line in log.gl_lines] == [
        [
            line.account_number,
            line.account_name,
            line.account_type,
            f"{line.debit:.2f}",
            f"{line.credit:.2f}",
        ]
        for line in posting.lines
    ]
    assert log.fingerprint == posting.fingerprint()


def test_a_rerun_that_finds_part_of_the_batch_logged_logs_the_rest_once(
    finance, make_invoice, make_expense, django_capture_on_commit_callbacks
):
    first, second, expense = make_invoice(), make_invoice(), make_expense()
    batch = send(
        django_capture_on_commit_callbacks,
        finance,
        [
            {"type": "invoice", "id": first.pk},
            {"type": "invoice", "id": second.pk},
            {"type": "expense", "id": expense.pk},
        ],
    )
    # A task that died half way: the first record was logged, the others not.
    kept = TransferLog.objects.get(batch=batch, record_type="invoice", record_id=first.pk)
    TransferLog.objects.filter(batch=batch).exclude(pk=kept.pk).delete()
    type(batch).objects.filter(pk=batch.pk).update(transfer_state=TransferState.RUNNING)
    tasks.batch_transfer.delay(batch.pk)

    batch.refresh_from_db()
    assert batch.transfer_state == TransferState.DONE
    logs = TransferLog.objects.filter(batch=batch)
    assert sorted((log.record_type, log.record_id) for log in logs) == sorted(
        [("invoice", first.pk), ("invoice", second.pk), ("expense", expense.pk)]
    )
    assert logs.get(record_type="invoice", record_id=first.pk).pk == kept.pk
    assert all(isinstance(log.gl_lines, list) and log.gl_lines for log in logs)
    references = [row["reference"] for row in read_csv(batch)]
    assert references.count(f"Invoice {first.number}") == 3  # receivable, income, tax
    assert references.count(f"Invoice {second.number}") == 3


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


# Outside a transaction, as on a worker, the log is stored from a thread of its own a
# chunk behind the export: every record of every kind must still be sent and logged
# once, in order, and a failed export must still leave no log rows.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_transfer_outside_a_transaction_sends_and_logs_every_record_once(
    monkeypatch, finance, make_invoice, make_expense, make_purchase_order
):
    monkeypatch.setattr(transfer, "CHUNK", 2)
    invoices = [make_invoice() for _ in range(3)]
    expenses = [make_expense() for _ in range(2)]
    po, line = make_purchase_order()
    items = [
        *({"type": "invoice", "id": invoice.pk} for invoice in invoices),
        *({"type": "expense", "id": expense.pk} for expense in expenses),
        {"type": "freight", "id": po.pk},
        {"type": "product", "id": line.pk},
    ]
    batch = accounting.batch_create(actor=finance, items=items)
    batch.refresh_from_db()
    assert batch.transfer_state == TransferState.DONE, batch.transfer_error
    keys = [(item["type"], item["id"]) for item in items]  # in the export's order
    rows = list(
        TransferLog.objects.filter(batch=batch).values_list("record_type", "record_id", "reference")
    )
    assert sorted((kind, pk) for kind, pk, _reference in rows) == sorted(keys)
    logged = {(kind, pk): reference for kind, pk, reference in rows}
    sent = [row["reference"] for row in read_csv(batch)]
    assert list(dict.fromkeys(sent)) == [logged[key] for key in keys]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_export_that_fails_part_way_leaves_no_log_rows(monkeypatch, finance, make_invoice):
    monkeypatch.setattr(transfer, "CHUNK", 1)
    exporter = transfer.get_exporter("gl_journal_csv")

    class FailingExporter:
        extension = "csv"

        def write(self, postings, out, **options):
            for number, _posting in enumerate(postings):
                if number == 3:
                    raise ExportError("The package refuses the fourth record.")
            return exporter.write([], out, **options)

    monkeypatch.setattr(transfer, "get_exporter", lambda format: FailingExporter())
    invoices = [make_invoice() for _ in range(5)]
    threshold = gc.get_threshold()
    batch = accounting.batch_create(
        actor=finance, items=[{"type": "invoice", "id": invoice.pk} for invoice in invoices]
    )
    batch.refresh_from_db()
    assert batch.transfer_state == TransferState.FAILED
    assert "fourth record" in batch.transfer_error
    assert not TransferLog.objects.filter(batch=batch).exists()
    # The cycle collector's pace, slowed while the transfer ran, is the process's again.
    assert gc.get_threshold() == threshold
