"""A big file transfer fanned out over a real Celery worker's processes on Redis: the
parts written side by side, joined into the file a single process writes."""

import io
import os
import signal
import threading
from collections import Counter

import pytest
from django.db import connection

from accounting import selectors
from accounting import services as accounting
from accounting.exporters import get_exporter
from accounting.models import (
    AccountingSetup,
    AuditEvent,
    GLBatch,
    TransferLog,
    TransferPart,
    TransferState,
)
from accounting.transfer import batch_postings
from invoicing.models import Invoice
from tests.factories import approved_expense, closed_po_with_freight, received_product
from tests.helpers import wait_for
from tests.tasks.test_worker_transfers import closed_invoices

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

FANOUT = {"TRANSFER_FANOUT_MIN": "100", "TRANSFER_PART_RECORDS": "40"}


def single_process_file(batch: GLBatch) -> bytes:
    """The bytes a transfer in one process writes: the exporter over all the batch's
    postings in order, into a text stream as the transfer opens it."""
    counts, _total = selectors.batch_counts(batch)
    out = io.StringIO(newline="")
    get_exporter(batch.export_format).write(
        batch_postings(batch, counts),
        out,
        batch_identifier=batch.batch_identifier,
        options=selectors.accounting_setup().options,
    )
    return out.getvalue().encode("utf-8")


def stored_file(batch: GLBatch) -> bytes:
    with batch.file.open("rb") as handle:
        return handle.read()


def wait_done(batch: GLBatch, timeout: float = 120) -> GLBatch:
    wait_for(
        lambda: (
            GLBatch.objects.get(pk=batch.pk).transfer_state
            in (TransferState.DONE, TransferState.FAILED)
        ),
        timeout=timeout,
        what="the workers to finish the transfer",
    )
    batch.refresh_from_db()
    assert batch.transfer_state == TransferState.DONE, batch.transfer_error
    return batch


@pytest.mark.parametrize(
    "export_format", ["gl_journal_csv", "iif", "quickbooks_online_csv", "xero_csv"]
)
def test_a_fanned_out_file_is_the_single_process_file_in_every_format(
    workers, book, finance, export_format
):
    AccountingSetup.objects.filter(pk=1).update(export_format=export_format)
    invoices = closed_invoices(book["client"], 230)
    others = []
    if export_format != "xero_csv":  # Xero takes invoices apart from bills
        others = [approved_expense().pk for _ in range(3)]
        others += [closed_po_with_freight().pk for _ in range(2)]
        others += [received_product().pk for _ in range(3)]
    # Two worker processes, the setup's threshold and part size low.
    workers(processes=2, **FANOUT)
    batch = accounting.batch_create(actor=finance, all_unposted=True)
    assert batch.export_format == export_format

    batch = wait_done(batch)

    assert AuditEvent.objects.filter(batch=batch, action="transfer_done").count() == 1
    assert stored_file(batch) == single_process_file(batch)
    logged = TransferLog.objects.filter(batch=batch)
    assert logged.count() == len(invoices) + len(others)
    assert sorted(logged.filter(record_type="invoice").values_list("record_id", flat=True)) == (
        sorted(invoices)
    )
    assert batch.transfer_progress == 100
    # Cut into parts by kind, then by ids, each written once; their files are gone
    # once the file is joined.
    parts = list(TransferPart.objects.filter(batch=batch).order_by("number"))
    assert len(parts) == 6 + (3 if others else 0)
    assert all(part.finished and part.attempts == 1 for part in parts)
    assert sum(part.records for part in parts) == len(invoices) + len(others)
    assert not any(batch_parts_folder(batch).iterdir())


def batch_parts_folder(batch: GLBatch):
    from django.conf import settings

    return settings.MEDIA_ROOT / "batches" / str(batch.pk) / "parts"


def test_below_the_threshold_a_file_transfer_runs_in_one_process(workers, book, finance):
    closed_invoices(book["client"], 60)
    workers(processes=2, **FANOUT)
    batch = accounting.batch_create(actor=finance, all_unposted=True)

    batch = wait_done(batch)

    assert stored_file(batch) == single_process_file(batch)
    assert not batch_parts_folder(batch).exists()
    assert TransferLog.objects.filter(batch=batch).count() == 60


def progress_and_parts_sum(batch_id: int):
    """The batch's progress and the sum of its parts' written records as a
    percentage, read in one statement (one snapshot)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT b.transfer_progress, LEAST(99, sum(p.written) * 100 / sum(p.records)), "
            "count(p.id) FROM accounting_glbatch AS b "
            "JOIN accounting_transferpart AS p ON p.batch_id = b.id AND "
            "p.holder = b.transfer_lease_holder "
            "WHERE b.id = %s AND b.transfer_state = 'running' GROUP BY b.id",
            [batch_id],
        )
        return cursor.fetchone()


def test_a_part_whose_process_is_killed_is_the_only_part_written_again(workers, book, finance):
    ids = closed_invoices(book["client"], 24000)
    workers(processes=2, TRANSFER_FANOUT_MIN="1000", TRANSFER_PART_RECORDS="8000")
    batch = accounting.batch_create(actor=finance, all_unposted=True)

    # Progress is watched all along: it is the sum of the parts' records written.
    seen: list[tuple] = []
    stop = threading.Event()

    def watch() -> None:
        try:
            while not stop.is_set():
                row = progress_and_parts_sum(batch.pk)
                if row is not None:
                    seen.append(row)
                stop.wait(0.01)
        finally:
            connection.close()

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        # A part well under way (a chunk written, not finished): its process is killed.
        part = wait_for(
            lambda: TransferPart.objects.filter(
                batch=batch, written__gt=0, finished=False, attempts=1
            ).first(),
            timeout=120,
            interval=0.01,
            what="a part to be under way",
        )
        os.kill(int(part.worker.rsplit(":", 1)[1]), signal.SIGKILL)
        batch = wait_done(batch, timeout=180)
    finally:
        stop.set()
        watcher.join()

    runs = dict(TransferPart.objects.filter(batch=batch).values_list("number", "attempts"))
    assert runs[part.number] == 2  # the killed part, delivered again
    assert [n for number, n in runs.items() if number != part.number] == [1, 1]
    logged = Counter(TransferLog.objects.filter(batch=batch).values_list("record_id", flat=True))
    assert sorted(logged) == sorted(ids) and set(logged.values()) == {1}
    assert stored_file(batch) == single_process_file(batch)
    assert seen and all(progress == parts_sum for progress, parts_sum, _count in seen)
    assert len({progress for progress, _sum, _count in seen if 0 < progress < 100}) >= 2


def test_a_fanned_out_transfer_whose_worker_dies_is_interrupted_and_taken_up_by_the_sweep(
    workers, book, finance
):
    ids = closed_invoices(book["client"], 16000)
    # The broker would deliver the killed worker's parts again only after an hour:
    # what brings the transfer back is the parts' lease and the sweep.
    settings = {
        "CELERY_VISIBILITY_TIMEOUT": "3600",
        "TRANSFER_FANOUT_MIN": "1000",
        "TRANSFER_PART_RECORDS": "4000",
    }
    first = workers(processes=2, **settings)
    batch = accounting.batch_create(actor=finance, all_unposted=True)
    wait_for(
        lambda: TransferPart.objects.filter(batch=batch, written__gt=0, finished=False).exists(),
        timeout=120,
        interval=0.01,
        what="a part to be under way",
    )
    first.kill()
    cut_by = GLBatch.objects.get(pk=batch.pk).transfer_lease_holder
    wait_for(
        lambda: (
            GLBatch.objects.get(pk=batch.pk).current_transfer_state == TransferState.INTERRUPTED
        ),
        timeout=30,
        what="the parts' lease to expire",
    )

    workers(processes=2, **settings)
    workers(beat=True)
    batch = wait_done(batch, timeout=240)

    # Cut afresh by the run the sweep queued, and written once.
    parts = TransferPart.objects.filter(batch=batch)
    assert parts.count() == 4 and not parts.filter(holder=cut_by).exists()
    assert set(parts.values_list("attempts", flat=True)) == {1}
    logged = Counter(TransferLog.objects.filter(batch=batch).values_list("record_id", flat=True))
    assert sorted(logged) == sorted(ids) and set(logged.values()) == {1}
    assert stored_file(batch) == single_process_file(batch)
    actions = set(AuditEvent.objects.filter(batch=batch).values_list("action", flat=True))
    assert {"transfer_interrupted", "transfer_requeued", "transfer_done"} <= actions


def test_a_part_that_cannot_be_written_fails_the_transfer_with_the_record_named(
    workers, book, finance
):
    ids = closed_invoices(book["client"], 230)
    broken = Invoice.objects.get(pk=ids[150])  # in the fourth part of 40
    # Its lines say 100.00.
    Invoice.objects.filter(pk=broken.pk).update(subtotal="99.00", total="99.00")
    workers(processes=2, **FANOUT)
    batch = accounting.batch_create(actor=finance, all_unposted=True)

    wait_for(
        lambda: GLBatch.objects.get(pk=batch.pk).transfer_state == TransferState.FAILED,
        timeout=120,
        what="the transfer to fail",
    )
    batch.refresh_from_db()
    assert broken.number in batch.transfer_error and "does not balance" in batch.transfer_error
    assert not batch.file

    # Corrected, and retried by Finance: cut afresh, and the whole file written.
    Invoice.objects.filter(pk=broken.pk).update(subtotal="100.00", total="100.00")
    accounting.batch_retry(actor=finance, batch_id=batch.pk)
    batch = wait_done(batch)
    assert stored_file(batch) == single_process_file(batch)
    logged = Counter(TransferLog.objects.filter(batch=batch).values_list("record_id", flat=True))
    assert sorted(logged) == sorted(ids) and set(logged.values()) == {1}
