"""Transfers on a real Celery worker with a real Redis broker."""

import csv
import io
from collections import Counter
from decimal import Decimal

import pytest

from accounting import services as accounting
from accounting.models import GLBatch, TransferLog, TransferState
from core.models import Company
from invoicing.models import Invoice, InvoiceLine
from tests.helpers import DAY, status, wait_for

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def closed_invoices(company: Company, count: int) -> list[int]:
    """A month of closed invoices to the client, inserted in bulk."""
    closed = status("Closed")
    invoices = Invoice.objects.bulk_create(
        Invoice(
            number=f"INV-{n}",
            company=company,
            date=DAY,
            status=closed,
            is_closed=True,
            subtotal=Decimal("100.00"),
            tax=Decimal("0"),
            total=Decimal("100.00"),
        )
        for n in range(count)
    )
    InvoiceLine.objects.bulk_create(
        InvoiceLine(
            invoice=invoice,
            description="Managed services",
            quantity=Decimal("1"),
            unit_price=Decimal("100.00"),
            amount=Decimal("100.00"),
            taxable=False,
        )
        for invoice in invoices
    )
    return [invoice.pk for invoice in invoices]


def file_rows(batch: GLBatch) -> list[dict]:
    with batch.file.open("rb") as handle:
        return list(csv.DictReader(io.StringIO(handle.read().decode())))


def test_transfer_end_to_end_on_a_worker(workers, book, finance):
    ids = closed_invoices(book["client"], 50)
    workers()
    batch = accounting.batch_create(actor=finance, all_unposted=True)

    wait_for(
        lambda: GLBatch.objects.get(pk=batch.pk).transfer_state == TransferState.DONE,
        timeout=60,
        what="the worker to finish the transfer",
    )
    batch.refresh_from_db()
    assert batch.transfer_progress == 100
    rows = file_rows(batch)
    assert len(rows) == 2 * len(ids)
    assert TransferLog.objects.filter(batch=batch).count() == len(ids)


def test_worker_killed_mid_transfer_a_new_worker_finishes_it_exactly_once(workers, book, finance):
    ids = closed_invoices(book["client"], 16000)
    first = workers()
    batch = accounting.batch_create(actor=finance, all_unposted=True)

    # Kill the worker once the transfer is well under way (some records already logged).
    wait_for(
        lambda: TransferLog.objects.filter(batch=batch).exists(),
        timeout=120,
        what="the transfer to start logging records",
        interval=0.05,
    )
    first.kill()
    interrupted = GLBatch.objects.get(pk=batch.pk)
    assert interrupted.transfer_state == TransferState.RUNNING
    assert 0 < TransferLog.objects.filter(batch=batch).count() < len(ids)

    workers()  # the task is delivered again once its visibility timeout has passed
    wait_for(
        lambda: GLBatch.objects.get(pk=batch.pk).transfer_state == TransferState.DONE,
        timeout=240,
        what="the new worker to finish the transfer",
        interval=0.5,
    )
    batch.refresh_from_db()
    per_invoice = Counter(row["reference"] for row in file_rows(batch))
    assert len(per_invoice) == len(ids)
    assert set(per_invoice.values()) == {2}  # receivable and income: each record once
    logged = Counter(TransferLog.objects.filter(batch=batch).values_list("record_id", flat=True))
    assert set(logged) == set(ids) and set(logged.values()) == {1}
