"""The GL journal CSV transfer, end to end through the Celery task (inline here; the
worker tests run it on a real worker), and set-based batch work."""

import csv
import gc
import io
import re
import time
import traceback
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounting import selectors, tasks
from accounting import services as accounting
from accounting.exporters import ExportError
from accounting.gl import AccountBook
from accounting.models import AccountingSetup, AuditEvent, GLBatch, TransferLog, TransferState
from accounting.postables import get_kind
from accounting.transfer import body as transfer_body
from tests.helpers import refused, send


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
    # A file transfer writes the whole file again, and logs it anew with it.
    assert kept.pk not in {log.pk for log in logs}
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
    monkeypatch.setattr(transfer_body, "CHUNK", 2)
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
    monkeypatch.setattr(transfer_body, "CHUNK", 1)
    exporter = transfer_body.get_exporter("gl_journal_csv")

    class FailingExporter:
        extension = "csv"

        def write(self, postings, out, **options):
            for number, _posting in enumerate(postings):
                if number == 3:
                    raise ExportError("The package refuses the fourth record.")
            return exporter.write([], out, **options)

    monkeypatch.setattr(transfer_body, "get_exporter", lambda format: FailingExporter())
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


# --- what users read of a failure, progress, the lease, the sweep ----------------------


def test_an_unexpected_error_reaches_users_as_a_sentence_and_the_log_keeps_the_detail(
    monkeypatch, settings, client, caplog, finance, make_invoice, django_capture_on_commit_callbacks
):
    secret = f"{settings.MEDIA_ROOT}/batches/7/payroll-secret.csv"

    class BrokenDisk:
        extension = "csv"

        def write(self, postings, out, **options):
            raise PermissionError(13, "Permission denied", secret)

    monkeypatch.setattr(transfer_body, "get_exporter", lambda format: BrokenDisk())
    invoice = make_invoice()
    with django_capture_on_commit_callbacks(execute=True):
        batch = accounting.batch_create(
            actor=finance, items=[{"type": "invoice", "id": invoice.pk}]
        )
    batch.refresh_from_db()
    assert batch.transfer_state == TransferState.FAILED
    assert secret not in batch.transfer_error and "Permission" not in batch.transfer_error
    reference = re.search(
        r"^The transfer stopped on an unexpected error \(reference (\w+)\); the details are in "
        r"the server log\. Retry it, or ask your administrator\.$",
        batch.transfer_error,
    ).group(1)
    logged = [r for r in caplog.records if reference in r.getMessage()]
    assert logged and secret in "".join(traceback.format_exception(*logged[0].exc_info))

    client.force_login(finance)
    shown = client.get(f"/api/v1/accounting/batches/{batch.pk}/").json()
    assert shown["transfer"]["state"] == "failed"
    assert shown["transfer"]["error"] == batch.transfer_error
    page = client.get(reverse("accounting:batch_detail", args=[batch.pk])).content.decode()
    assert f"reference {reference}" in page
    assert secret not in page and str(settings.MEDIA_ROOT) not in page


def test_a_refusal_written_for_users_is_kept_as_it_is(
    monkeypatch, finance, make_invoice, django_capture_on_commit_callbacks
):
    class Refusing:
        extension = "csv"

        def write(self, postings, out, **options):
            raise ExportError("The package refuses a record without a GL account.")

    monkeypatch.setattr(transfer_body, "get_exporter", lambda format: Refusing())
    invoice = make_invoice()
    with django_capture_on_commit_callbacks(execute=True):
        batch = accounting.batch_create(
            actor=finance, items=[{"type": "invoice", "id": invoice.pk}]
        )
    batch.refresh_from_db()
    assert batch.transfer_error == "The package refuses a record without a GL account."


def test_progress_follows_the_records_written(
    monkeypatch, finance, make_invoice, django_capture_on_commit_callbacks
):
    """At every chunk the exporter begins, the batch shows the share of records it has
    written already: not a percentage left behind by a report skipped for time."""
    monkeypatch.setattr(transfer_body, "CHUNK", 2)
    exporter = transfer_body.get_exporter("gl_journal_csv")
    seen: list[tuple[int, int]] = []

    class Watching:
        extension = "csv"

        def write(self, postings, out, **options):
            def watched():
                for written, posting in enumerate(postings):
                    if written and written % 2 == 0:
                        shown = GLBatch.objects.values_list("transfer_progress", flat=True)
                        seen.append((written, shown.get(pk=batch_id)))
                    yield posting

            return exporter.write(watched(), out, **options)

    monkeypatch.setattr(transfer_body, "get_exporter", lambda format: Watching())
    invoices = [make_invoice() for _ in range(10)]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        batch = accounting.batch_create(
            actor=finance, items=[{"type": "invoice", "id": invoice.pk} for invoice in invoices]
        )
    batch_id = batch.pk
    for callback in callbacks:
        callback()
    batch.refresh_from_db()
    assert batch.transfer_state == TransferState.DONE and batch.transfer_progress == 100
    assert seen == [(written, written * 10) for written in (2, 4, 6, 8)]


def _interrupt(batch, *, seconds_ago=5, holder="web-1:4242:gone"):
    """What a process that died mid-transfer leaves: running, its lease run out."""
    GLBatch.objects.filter(pk=batch.pk).update(
        transfer_state=TransferState.RUNNING,
        transfer_lease_holder=holder,
        transfer_lease_until=timezone.now() - timedelta(seconds=seconds_ago),
        transfer_progress=40,
    )


def _queued_batch(finance, invoices):
    """A batch whose transfer was queued but not run."""
    return accounting.batch_create(
        actor=finance, items=[{"type": "invoice", "id": invoice.pk} for invoice in invoices]
    )


def test_a_transfer_whose_lease_expired_shows_interrupted_and_finance_can_retry_it(
    client, finance, make_invoice, django_capture_on_commit_callbacks
):
    invoice = make_invoice()
    batch = _queued_batch(finance, [invoice])
    _interrupt(batch)
    client.force_login(finance)

    shown = client.get(f"/api/v1/accounting/batches/{batch.pk}/").json()
    assert shown["transfer"]["state"] == "interrupted"
    listed = client.get("/api/v1/accounting/batches/", {"transfer_state": "interrupted"}).json()
    assert [row["id"] for row in listed["results"]] == [batch.pk]
    running = client.get("/api/v1/accounting/batches/", {"transfer_state": "running"}).json()
    assert running["results"] == []
    page = client.get(reverse("accounting:batch_detail", args=[batch.pk])).content.decode()
    assert "Interrupted" in page and "Retry the transfer" in page
    listing = client.get(reverse("accounting:batch_list")).content.decode()
    assert "Interrupted" in listing

    with django_capture_on_commit_callbacks(execute=True):
        accounting.batch_retry(actor=finance, batch_id=batch.pk)
    batch.refresh_from_db()
    assert batch.transfer_state == TransferState.DONE
    assert TransferLog.objects.filter(batch=batch).count() == 1
    assert batch.transfer_lease_until is None


def test_an_interrupted_transfer_locks_nothing_but_a_live_one_does(finance, make_invoice):
    first, second = make_invoice(), make_invoice()
    batch = _queued_batch(finance, [first, second])
    GLBatch.objects.filter(pk=batch.pk).update(
        transfer_state=TransferState.RUNNING,
        transfer_lease_holder="worker-1:77:alive",
        transfer_lease_until=timezone.now() + timedelta(minutes=2),
    )
    with refused("batch_not_open"):
        accounting.record_unbatch(actor=finance, record_type="invoice", record_id=first.pk)
    with refused("batch_not_open"):
        accounting.batch_delete(actor=finance, batch_id=batch.pk)
    with refused("invalid_transition"):
        accounting.batch_retry(actor=finance, batch_id=batch.pk)

    _interrupt(batch)
    accounting.record_unbatch(actor=finance, record_type="invoice", record_id=first.pk)
    accounting.record_rebatch(actor=finance, record_type="invoice", record_id=first.pk)
    deleted = accounting.batch_delete(actor=finance, batch_id=batch.pk)
    assert deleted.status == "deleted"


def test_the_sweep_takes_up_interrupted_and_long_queued_transfers_only(
    settings, finance, make_invoice, django_capture_on_commit_callbacks
):
    settings.TRANSFER_REQUEUE_AFTER_SECONDS = 300
    settings.TRANSFER_AUTO_RETRIES = 3
    interrupted = _queued_batch(finance, [make_invoice()])
    _interrupt(interrupted)
    lost = _queued_batch(finance, [make_invoice()])  # its message never reached a worker
    GLBatch.objects.filter(pk=lost.pk).update(
        transfer_queued_at=timezone.now() - timedelta(minutes=6)
    )
    never_handed = _queued_batch(finance, [make_invoice()])  # the broker was down
    GLBatch.objects.filter(pk=never_handed.pk).update(transfer_queued_at=None)
    alive = _queued_batch(finance, [make_invoice()])
    GLBatch.objects.filter(pk=alive.pk).update(
        transfer_state=TransferState.RUNNING,
        transfer_lease_holder="worker-1:77:alive",
        transfer_lease_until=timezone.now() + timedelta(minutes=2),
    )
    waiting = _queued_batch(finance, [make_invoice()])  # queued a moment ago
    given_up = _queued_batch(finance, [make_invoice()])  # interrupted run after run
    _interrupt(given_up)
    GLBatch.objects.filter(pk=given_up.pk).update(transfer_attempts=4)

    with django_capture_on_commit_callbacks(execute=True):
        counts = tasks.transfer_sweep()

    assert counts == {"interrupted": 2, "requeued": 1, "handed_over": 2}
    state = dict(GLBatch.objects.values_list("pk", "transfer_state"))
    assert state[interrupted.pk] == state[lost.pk] == state[never_handed.pk] == "done"
    assert state[alive.pk] == "running"
    assert state[waiting.pk] == "queued"
    assert state[given_up.pk] == "interrupted"  # left to Finance's Retry
    assert AuditEvent.objects.filter(batch=interrupted, action="transfer_interrupted").exists()
    assert AuditEvent.objects.filter(batch=interrupted, action="transfer_requeued").exists()


def test_log_rows_of_an_unfinished_file_transfer_do_not_count_as_sent(
    finance, make_invoice, django_capture_on_commit_callbacks
):
    """A file transfer stopped after storing log rows but before storing its file (cut
    off from the database, killed): nothing reached the package, so the re-send guard
    and a deleted batch's split must not believe those records were sent."""
    invoice = make_invoice()
    batch = send(
        django_capture_on_commit_callbacks, finance, [{"type": "invoice", "id": invoice.pk}]
    )
    # As if it failed before the end without clearing its rows: rows, and no file.
    GLBatch.objects.filter(pk=batch.pk).update(file="", transfer_state=TransferState.FAILED)
    assert TransferLog.objects.filter(batch=batch).exists()
    assert selectors.live_sends("invoice", [invoice.pk]) == {}

    accounting.batch_delete(actor=finance, batch_id=batch.pk)
    split = selectors.deleted_batch_changes(GLBatch.objects.get(pk=batch.pk))
    assert [item["id"] for item in split["not_sent"]] == [invoice.pk]
    assert split["unchanged"] == []
    # Sent in a new batch, nothing asks to confirm a re-send: it never went out.
    again = send(
        django_capture_on_commit_callbacks, finance, [{"type": "invoice", "id": invoice.pk}]
    )
    sends = selectors.live_sends("invoice", [invoice.pk])[invoice.pk]
    assert [sent["batch_id"] for sent in sends] == [again.pk]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_long_chunk_does_not_let_the_lease_lapse(monkeypatch, settings, finance, make_invoice):
    """The lease is renewed by time too, not only by progress: a package that takes
    longer than the lease over one chunk leaves the transfer running, not interrupted."""
    settings.TRANSFER_LEASE_SECONDS = 1
    exporter = transfer_body.get_exporter("gl_journal_csv")
    seen = []

    class Slow:
        extension = "csv"

        def write(self, postings, out, **options):
            postings = list(postings)
            time.sleep(2.5)  # over two lease lengths on one chunk
            batch = GLBatch.objects.get()  # the test's one batch
            seen.append((batch.current_transfer_state, batch.lease_expired()))
            return exporter.write(postings, out, **options)

    monkeypatch.setattr(transfer_body, "get_exporter", lambda format: Slow())
    batch = accounting.batch_create(
        actor=finance, items=[{"type": "invoice", "id": make_invoice().pk}]
    )
    batch.refresh_from_db()
    assert seen == [(TransferState.RUNNING, False)]
    assert batch.transfer_state == TransferState.DONE, batch.transfer_error


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_direct_transfer_stopped_between_the_ledger_and_its_log_sends_nothing_twice(
    monkeypatch, ledger_root, finance, make_invoice
):
    """The connector has written a chunk and the run stops before its log rows are
    stored: the retry logs the records the ledger holds already without writing them
    again, and sends the rest once."""
    from beancount import loader
    from beancount.core.data import Transaction

    AccountingSetup.objects.filter(pk=1).update(
        package="beancount", direct_transfer=True, options={"ledger_path": "books.beancount"}
    )
    monkeypatch.setattr(transfer_body, "CHUNK", 2)
    store_log = transfer_body._log_rows
    stored = []

    def dies_before_the_second_chunks_log(batch, postings, references, *, fresh):
        if len(stored) == 1:
            raise OSError("the process stopped")
        stored.append(len(postings))
        store_log(batch, postings, references, fresh=fresh)

    monkeypatch.setattr(transfer_body, "_log_rows", dies_before_the_second_chunks_log)
    invoices = [make_invoice() for _ in range(5)]
    batch = accounting.batch_create(
        actor=finance, items=[{"type": "invoice", "id": invoice.pk} for invoice in invoices]
    )
    batch.refresh_from_db()
    assert batch.transfer_state == TransferState.FAILED
    assert TransferLog.objects.filter(batch=batch).count() == 2  # the second chunk is not

    monkeypatch.setattr(transfer_body, "_log_rows", store_log)
    accounting.batch_retry(actor=finance, batch_id=batch.pk)
    batch.refresh_from_db()
    assert batch.transfer_state == TransferState.DONE, batch.transfer_error
    entries, errors, _options = loader.load_file(str(ledger_root / "books.beancount"))
    assert errors == []
    written = [e.meta["psa_record"] for e in entries if isinstance(e, Transaction)]
    assert sorted(written) == sorted(f"invoice:{invoice.pk}" for invoice in invoices)
    logged = list(TransferLog.objects.filter(batch=batch).values_list("record_id", flat=True))
    assert sorted(logged) == sorted(invoice.pk for invoice in invoices)
