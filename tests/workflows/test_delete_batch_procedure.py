"""The reference page's delete-batch procedure, with our re-send safety."""

from decimal import Decimal

from accounting import selectors
from accounting import services as accounting
from accounting.gl import AccountBook, GLLine
from accounting.models import BatchStatus, GLBatch, TransferLog
from accounting.postables import get_kind
from invoicing import services as invoice_services
from invoicing.models import Invoice
from tests.helpers import fingerprint_over_line_objects, refused, send, status


def test_delete_batch_procedure_end_to_end(
    finance, make_invoice, make_expense, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    kept, edited, unbatched = make_invoice(), make_invoice(), make_invoice()
    expense = make_expense()
    batch = send(
        capture,
        finance,
        [
            {"type": "invoice", "id": kept.pk},
            {"type": "invoice", "id": edited.pk},
            {"type": "invoice", "id": unbatched.pk},
            {"type": "expense", "id": expense.pk},
        ],
    )
    pending = make_invoice()  # an unposted record waiting on the Accounting Interface

    # An item unbatched from the batch blocks the delete, and the refusal names it.
    accounting.record_unbatch(actor=finance, record_type="invoice", record_id=unbatched.pk)
    with refused("batch_has_unbatched_items") as refusal:
        accounting.batch_delete(actor=finance, batch_id=batch.pk)
    assert refusal.value.extra["items"] == [
        {"type": "invoice", "id": unbatched.pk, "reference": f"Invoice {unbatched.number}"}
    ]
    assert f"Invoice {unbatched.number}" in refusal.value.message
    assert GLBatch.objects.get(pk=batch.pk).status == BatchStatus.OPEN

    # Rebatch it, then delete: every record is unlocked, the batch keeps its history.
    accounting.record_rebatch(actor=finance, record_type="invoice", record_id=unbatched.pk)
    accounting.batch_delete(actor=finance, batch_id=batch.pk)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.DELETED
    assert not Invoice.objects.filter(gl_batch=batch).exists()
    expense.refresh_from_db()
    assert expense.gl_batch_id is None
    assert TransferLog.objects.filter(batch=batch).count() == 4
    pending.refresh_from_db()
    assert pending.gl_batch_id is None and pending.original_batch_id is None

    # Edit one record.
    edited.refresh_from_db()
    invoice = invoice_services.invoice_update(actor=finance, invoice=edited, status=status("New"))
    invoice = invoice_services.invoice_update(
        actor=finance,
        invoice=invoice,
        lines=[
            {"description": "Corrected", "quantity": Decimal("1"), "unit_price": Decimal("99.00")}
        ],
    )
    invoice_services.invoice_update(actor=finance, invoice=invoice, status=status("Closed"))

    # The system tells unchanged from changed.
    split = selectors.deleted_batch_changes(batch)
    unchanged = {(item["type"], item["id"]) for item in split["unchanged"]}
    assert unchanged == {("invoice", kept.pk), ("invoice", unbatched.pk), ("expense", expense.pk)}
    assert [(item["type"], item["id"]) for item in split["changed"]] == [("invoice", edited.pk)]
    assert split["not_sent"] == []

    # Re-record the unchanged ones under the original batch ID as a file-only batch.
    with capture(execute=True):
        rerecord = accounting.batch_rerecord(actor=finance, batch_id=batch.pk)
    rerecord.refresh_from_db()
    assert rerecord.batch_identifier == batch.batch_identifier
    assert rerecord.is_rerecord and rerecord.transfer_method == "file"
    assert rerecord.transfer_state == "done" and rerecord.file
    assert not TransferLog.objects.filter(batch=rerecord).exists()  # nothing sent
    for record in (kept, unbatched, expense):
        record.refresh_from_db()
        assert record.gl_batch_id == rerecord.pk
    # The pending record and the edited one stay unposted.
    pending.refresh_from_db()
    edited.refresh_from_db()
    assert pending.gl_batch_id is None and edited.gl_batch_id is None

    # The edited one goes out with the next batch, through the re-send guard.
    with refused("retransfer_unconfirmed") as refusal:
        accounting.batch_create(actor=finance, all_unposted=True, types=["invoice"])
    assert [item["id"] for item in refusal.value.extra["items"]] == [edited.pk]
    pending.refresh_from_db()
    assert pending.gl_batch_id is None  # the refusal changed nothing
    following = send(
        capture,
        finance,
        [{"type": "invoice", "id": edited.pk}, {"type": "invoice", "id": pending.pk}],
        confirm_resend=True,
    )
    checklist = selectors.batch_resend_checklist(following)
    assert [(c["id"], c["batch_identifier"]) for c in checklist] == [
        (edited.pk, batch.batch_identifier)
    ]
    live = TransferLog.objects.filter(
        record_type="invoice", record_id=edited.pk, removed_at__isnull=True
    )
    assert [log.batch_id for log in live] == [following.pk]


def test_deleted_batch_identifier_can_be_used_again(
    finance, make_invoice, django_capture_on_commit_callbacks
):
    invoice = make_invoice()
    batch = send(
        django_capture_on_commit_callbacks,
        finance,
        [{"type": "invoice", "id": invoice.pk}],
        batch_identifier="NOV-2026",
    )
    with refused("batch_identifier_in_use"):
        accounting.batch_create(
            actor=finance,
            items=[{"type": "invoice", "id": make_invoice().pk}],
            batch_identifier="NOV-2026",
        )
    accounting.batch_delete(actor=finance, batch_id=batch.pk)
    again = send(
        django_capture_on_commit_callbacks,
        finance,
        [{"type": "invoice", "id": invoice.pk}],
        batch_identifier="NOV-2026",
        confirm_resend=True,
    )
    assert again.batch_identifier == "NOV-2026" and again.pk != batch.pk


def test_records_logged_before_lines_were_arrays_still_count_as_unchanged(
    finance, make_invoice, django_capture_on_commit_callbacks
):
    """A log row written by an earlier release holds the lines as JSON objects and a
    fingerprint over them: the split after a delete still tells its record unchanged."""
    kept, edited = make_invoice(), make_invoice()
    batch = send(
        django_capture_on_commit_callbacks,
        finance,
        [{"type": "invoice", "id": kept.pk}, {"type": "invoice", "id": edited.pk}],
    )
    book = AccountBook()
    for log in TransferLog.objects.filter(batch=batch):
        kind = get_kind(log.record_type)
        posting = kind.posting(kind.queryset().get(pk=log.record_id), book)
        log.gl_lines = [dict(zip(GLLine._fields, line, strict=True)) for line in log.gl_lines]
        log.fingerprint = fingerprint_over_line_objects(posting)
        log.save(update_fields=["gl_lines", "fingerprint"])
    accounting.batch_delete(actor=finance, batch_id=batch.pk)
    edited.refresh_from_db()
    invoice = invoice_services.invoice_update(actor=finance, invoice=edited, status=status("New"))
    invoice_services.invoice_update(actor=finance, invoice=invoice, due_date=invoice.date)

    split = selectors.deleted_batch_changes(batch)
    assert [item["id"] for item in split["unchanged"]] == [kept.pk]
    assert [item["id"] for item in split["changed"]] == [edited.pk]
