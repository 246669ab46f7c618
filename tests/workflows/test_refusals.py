"""Every refused batch workflow step: the stable code, a sentence naming the record
and the way out, and nothing changed (records, batches, logs and audit trail)."""

import pytest

from accounting import services as accounting
from accounting.models import (
    AuditEvent,
    AuditEventRecord,
    AuditRecordSet,
    FormerCount,
    FormerRecord,
    GLBatch,
    TransferLog,
)
from core.errors import ApplicationError
from expenses.models import ExpenseEntry
from invoicing.models import Invoice
from procurement.models import PurchaseOrder, PurchaseOrderLine
from tests.helpers import send

TABLES = [
    Invoice,
    ExpenseEntry,
    PurchaseOrder,
    PurchaseOrderLine,
    GLBatch,
    TransferLog,
    AuditEvent,
    AuditEventRecord,
    AuditRecordSet,
    FormerRecord,
    FormerCount,
]


def snapshot():
    return {model.__name__: list(model.objects.order_by("pk").values()) for model in TABLES}


def assert_refused(code, step, *, mentions=()):
    before = snapshot()
    with pytest.raises(ApplicationError) as refusal:
        step()
    assert refusal.value.code == code, refusal.value.message
    for text in mentions:
        assert text in refusal.value.message
    assert snapshot() == before
    return refusal.value


@pytest.fixture
def sent_invoice(finance, make_invoice, django_capture_on_commit_callbacks):
    invoice = make_invoice()
    batch = send(
        django_capture_on_commit_callbacks,
        finance,
        [{"type": "invoice", "id": invoice.pk}],
        batch_identifier="GL-SENT",
    )
    invoice.refresh_from_db()
    return invoice, batch


def test_unbatch_refused_when_record_is_not_batched(finance, make_invoice):
    invoice = make_invoice()
    assert_refused(
        "not_batched",
        lambda: accounting.record_unbatch(
            actor=finance, record_type="invoice", record_id=invoice.pk
        ),
        mentions=[f"Invoice {invoice.number}"],
    )


def test_unbatch_refused_when_batch_is_closed(finance, sent_invoice):
    invoice, batch = sent_invoice
    accounting.batch_close(actor=finance, batch_id=batch.pk)
    assert_refused(
        "batch_not_open",
        lambda: accounting.record_unbatch(
            actor=finance, record_type="invoice", record_id=invoice.pk
        ),
        mentions=[f"Invoice {invoice.number}", "GL-SENT", "reopen"],
    )


def test_rebatch_refused_without_original_batch(finance, make_invoice):
    invoice = make_invoice()
    assert_refused(
        "no_original_batch",
        lambda: accounting.record_rebatch(
            actor=finance, record_type="invoice", record_id=invoice.pk
        ),
        mentions=[f"Invoice {invoice.number}", "new batch"],
    )


def test_rebatch_refused_when_already_batched(finance, sent_invoice):
    invoice, _batch = sent_invoice
    assert_refused(
        "already_batched",
        lambda: accounting.record_rebatch(
            actor=finance, record_type="invoice", record_id=invoice.pk
        ),
    )


def test_rebatch_refused_when_record_is_not_ready_again(finance, sent_invoice):
    from invoicing import services as invoice_services
    from tests.helpers import status

    invoice, _batch = sent_invoice
    accounting.record_unbatch(actor=finance, record_type="invoice", record_id=invoice.pk)
    invoice.refresh_from_db()
    invoice_services.invoice_update(actor=finance, invoice=invoice, status=status("New"))
    assert_refused(
        "record_not_ready",
        lambda: accounting.record_rebatch(
            actor=finance, record_type="invoice", record_id=invoice.pk
        ),
        mentions=[f"Invoice {invoice.number}", "closed status"],
    )


def test_rebatch_refused_when_original_batch_is_closed(
    finance, make_invoice, django_capture_on_commit_callbacks
):
    moved, stays = make_invoice(), make_invoice()
    batch = send(
        django_capture_on_commit_callbacks,
        finance,
        [{"type": "invoice", "id": moved.pk}, {"type": "invoice", "id": stays.pk}],
    )
    accounting.record_unbatch(actor=finance, record_type="invoice", record_id=moved.pk)
    # A batch with an item outside it cannot be closed; its deletion... neither.
    assert_refused(
        "batch_has_unbatched_items",
        lambda: accounting.batch_close(actor=finance, batch_id=batch.pk),
    )
    # Once another path closes the batch (an administrator), rebatch is refused.
    GLBatch.objects.filter(pk=batch.pk).update(status="closed")
    assert_refused(
        "original_batch_not_open",
        lambda: accounting.record_rebatch(actor=finance, record_type="invoice", record_id=moved.pk),
        mentions=[f"Invoice {moved.number}", "new batch"],
    )


def test_batch_create_refused_for_a_record_already_batched(finance, sent_invoice):
    invoice, _batch = sent_invoice
    assert_refused(
        "already_batched",
        lambda: accounting.batch_create(
            actor=finance, items=[{"type": "invoice", "id": invoice.pk}]
        ),
        mentions=[f"Invoice {invoice.number}"],
    )


def test_batch_create_refused_for_a_record_not_ready(finance, make_invoice, make_expense):
    open_invoice = make_invoice(closed=False)
    assert_refused(
        "record_not_ready",
        lambda: accounting.batch_create(
            actor=finance, items=[{"type": "invoice", "id": open_invoice.pk}]
        ),
        mentions=[f"Invoice {open_invoice.number}"],
    )
    unapproved = make_expense(approved=False)
    assert_refused(
        "record_not_ready",
        lambda: accounting.batch_create(
            actor=finance, items=[{"type": "expense", "id": unapproved.pk}]
        ),
        mentions=["approve"],
    )


def test_batch_create_refused_for_identifier_in_use(finance, sent_invoice, make_invoice):
    other = make_invoice()
    assert_refused(
        "batch_identifier_in_use",
        lambda: accounting.batch_create(
            actor=finance, items=[{"type": "invoice", "id": other.pk}], batch_identifier="GL-SENT"
        ),
        mentions=["GL-SENT"],
    )


def test_resend_refused_without_confirmation(finance, sent_invoice):
    invoice, _batch = sent_invoice
    accounting.record_unbatch(actor=finance, record_type="invoice", record_id=invoice.pk)
    error = assert_refused(
        "retransfer_unconfirmed",
        lambda: accounting.batch_create(
            actor=finance, items=[{"type": "invoice", "id": invoice.pk}]
        ),
        mentions=[f"Invoice {invoice.number}", "GL-SENT", "Remove the originals"],
    )
    assert error.extra["items"][0]["previously_sent"][0]["batch_identifier"] == "GL-SENT"


def test_delete_refused_for_a_closed_batch(finance, sent_invoice):
    _invoice, batch = sent_invoice
    accounting.batch_close(actor=finance, batch_id=batch.pk)
    assert_refused(
        "batch_not_open",
        lambda: accounting.batch_delete(actor=finance, batch_id=batch.pk),
        mentions=["GL-SENT", "closed"],
    )


def test_close_refused_before_the_transfer_is_done(finance, make_invoice):
    invoice = make_invoice()
    batch = accounting.batch_create(actor=finance, items=[{"type": "invoice", "id": invoice.pk}])
    assert_refused(
        "invalid_transition",
        lambda: accounting.batch_close(actor=finance, batch_id=batch.pk),
        mentions=[batch.batch_identifier, "retry"],
    )


def test_reopen_is_for_administrators_only(finance, sent_invoice, django_user_model):
    _invoice, batch = sent_invoice
    accounting.batch_close(actor=finance, batch_id=batch.pk)
    assert_refused(
        "permission_denied", lambda: accounting.batch_reopen(actor=finance, batch_id=batch.pk)
    )
    admin = django_user_model.objects.create_superuser("root", password="pw")
    accounting.batch_reopen(actor=admin, batch_id=batch.pk)
    batch.refresh_from_db()
    assert batch.status == "open"
    assert AuditEvent.objects.filter(batch=batch, action="batch_reopened", actor=admin).exists()


def test_batch_create_refused_when_the_export_format_cannot_carry_the_mix(
    finance, make_invoice, make_expense
):
    from accounting.models import AccountingSetup

    AccountingSetup.objects.filter(pk=1).update(package="xero", export_format="xero_csv")
    invoice, expense = make_invoice(), make_expense()
    error = assert_refused(
        "validation_error",
        lambda: accounting.batch_create(
            actor=finance,
            items=[{"type": "invoice", "id": invoice.pk}, {"type": "expense", "id": expense.pk}],
        ),
        mentions=["Xero CSV", "one batch of invoices and another"],
    )
    assert error.status_code == 400
    batch = accounting.batch_create(actor=finance, items=[{"type": "invoice", "id": invoice.pk}])
    assert batch.export_format == "xero_csv"
