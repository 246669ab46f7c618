"""The reference page's four fix-up procedures, step by step, with both endings:
rebatch into the original batch (sends nothing), or send in a new batch."""

from decimal import Decimal

import pytest

from accounting import selectors
from accounting import services as accounting
from accounting.models import TransferLog
from accounting.postables import get_kind
from expenses import services as expense_services
from invoicing import services as invoice_services
from procurement import services as po_services
from tests.helpers import refused, send, status


class Fix:
    """A record of one kind and the reference page's steps to fix it; where its batch
    fields are comes from the kind's adapter."""

    type: str
    record: object

    def refresh(self):
        self.record.refresh_from_db()
        return self.record

    def batch_id(self):
        return getattr(self.refresh(), f"{get_kind(self.type).batch_field}_id")

    def original_batch_id(self):
        return getattr(self.refresh(), f"{get_kind(self.type).original_batch_field}_id")


class InvoiceFix(Fix):
    type = "invoice"

    def __init__(self, make_invoice, finance, **_):
        self.finance = finance
        self.record = make_invoice()

    def try_edit_while_locked(self):
        invoice_services.invoice_update(
            actor=self.finance, invoice=self.refresh(), status=status("New")
        )

    def fix(self):
        # 4. set an open status; 5. edit, then set a closed status.
        invoice = invoice_services.invoice_update(
            actor=self.finance, invoice=self.refresh(), status=status("New")
        )
        invoice = invoice_services.invoice_update(
            actor=self.finance,
            invoice=invoice,
            lines=[
                {
                    "description": "Managed services (corrected)",
                    "quantity": Decimal("12"),
                    "unit_price": Decimal("150.00"),
                }
            ],
        )
        invoice_services.invoice_update(
            actor=self.finance, invoice=invoice, status=status("Closed")
        )


class ExpenseFix(Fix):
    type = "expense"

    def __init__(self, make_expense, staff, approver, **_):
        self.staff, self.approver = staff, approver
        self.record = make_expense()

    def try_edit_while_locked(self):
        expense_services.expense_entry_update(
            actor=self.staff, entry=self.refresh(), amount=Decimal("1.00")
        )

    def fix(self):
        # 4. reverse the sheet; 5. edit, then submit and approve the sheet.
        entry = self.refresh()
        expense_services.expense_sheet_reverse(actor=self.approver, sheet=entry.sheet)
        expense_services.expense_entry_update(
            actor=self.staff, entry=self.refresh(), amount=Decimal("47.25")
        )
        entry = self.refresh()
        expense_services.expense_sheet_submit(actor=self.staff, sheet=entry.sheet)
        expense_services.expense_sheet_approve(actor=self.approver, sheet=entry.sheet)


class FreightFix(Fix):
    type = "freight"

    def __init__(self, make_purchase_order, finance, **_):
        self.finance = finance
        self.record, self.line = make_purchase_order()

    def try_edit_while_locked(self):
        po_services.purchase_order_update(
            actor=self.finance, purchase_order=self.refresh(), status="open"
        )

    def fix(self):
        # 3. set the PO to an open status; 4. edit the freight; 5. close the PO.
        po = po_services.purchase_order_update(
            actor=self.finance, purchase_order=self.refresh(), status="open"
        )
        po = po_services.purchase_order_update(
            actor=self.finance, purchase_order=po, freight_amount=Decimal("31.40")
        )
        po_services.purchase_order_update(actor=self.finance, purchase_order=po, status="closed")


class ProductFix(Fix):
    type = "product"

    def __init__(self, make_purchase_order, finance, **_):
        self.finance = finance
        _po, self.record = make_purchase_order(freight="0.00")

    def try_edit_while_locked(self):
        po_services.purchase_order_line_update(
            actor=self.finance, line=self.refresh(), closed=False
        )

    def fix(self):
        # 4. clear Closed; 5. unreceive; 6. adjust; then receive (and close) again.
        line = po_services.purchase_order_line_update(
            actor=self.finance, line=self.refresh(), closed=False
        )
        line = po_services.purchase_order_line_unreceive(actor=self.finance, line=line)
        line = po_services.purchase_order_line_update(
            actor=self.finance, line=line, unit_cost=Decimal("380.00")
        )
        po_services.purchase_order_line_receive(actor=self.finance, line=line)


FIXES = [InvoiceFix, ExpenseFix, FreightFix, ProductFix]


@pytest.fixture(params=FIXES, ids=lambda fix: fix.type)
def fix(request, make_invoice, make_expense, make_purchase_order, finance, staff, approver):
    return request.param(
        make_invoice=make_invoice,
        make_expense=make_expense,
        make_purchase_order=make_purchase_order,
        finance=finance,
        staff=staff,
        approver=approver,
    )


def unbatch_and_fix(fix, finance, batch):
    with refused("record_locked"):
        fix.try_edit_while_locked()
    # MORE > Unbatch, OK.
    accounting.record_unbatch(actor=finance, record_type=fix.type, record_id=fix.record.pk)
    assert fix.batch_id() is None
    assert fix.original_batch_id() == batch.pk
    fix.fix()


def test_fix_up_then_rebatch_into_original_batch_sends_nothing(
    fix, finance, make_invoice, django_capture_on_commit_callbacks
):
    neighbour = make_invoice()
    batch = send(
        django_capture_on_commit_callbacks,
        finance,
        [{"type": fix.type, "id": fix.record.pk}, {"type": "invoice", "id": neighbour.pk}],
    )
    assert fix.batch_id() == batch.pk
    sent = TransferLog.objects.get(record_type=fix.type, record_id=fix.record.pk)

    unbatch_and_fix(fix, finance, batch)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        accounting.record_rebatch(actor=finance, record_type=fix.type, record_id=fix.record.pk)

    assert callbacks == []  # nothing queued: rebatch pushes nothing
    assert fix.batch_id() == batch.pk
    assert fix.original_batch_id() is None
    assert list(TransferLog.objects.filter(record_type=fix.type, record_id=fix.record.pk)) == [sent]
    neighbour.refresh_from_db()
    assert neighbour.gl_batch_id == batch.pk
    actions = [
        e.action for e in selectors.audit_trail(record_type=fix.type, record_id=fix.record.pk)
    ]
    assert actions.index("batched") < actions.index("unbatched") < actions.index("rebatched")


def test_fix_up_then_send_in_new_batch_after_confirming_the_original_is_removed(
    fix, finance, django_capture_on_commit_callbacks
):
    first = send(
        django_capture_on_commit_callbacks, finance, [{"type": fix.type, "id": fix.record.pk}]
    )
    original = TransferLog.objects.get(record_type=fix.type, record_id=fix.record.pk)
    unbatch_and_fix(fix, finance, first)

    unposted = selectors.unposted_list(record_type=fix.type)
    assert fix.record.pk in {record.pk for record in unposted}
    item = [{"type": fix.type, "id": fix.record.pk}]
    with refused("retransfer_unconfirmed") as refusal:
        accounting.batch_create(actor=finance, items=item)
    [listed] = refusal.value.extra["items"]
    assert listed["previously_sent"][0]["batch_identifier"] == first.batch_identifier
    assert first.batch_identifier in refusal.value.message

    second = send(django_capture_on_commit_callbacks, finance, item, confirm_resend=True)
    assert fix.batch_id() == second.pk
    assert fix.original_batch_id() is None
    original.refresh_from_db()
    assert original.removal == "confirmed" and original.replaced_by_id == second.pk
    resent = TransferLog.objects.get(batch=second)
    assert resent.fingerprint != original.fingerprint  # the edit went out
    checklist = selectors.batch_resend_checklist(second)
    assert [(c["reference"], c["batch_identifier"]) for c in checklist] == [
        (original.reference, first.batch_identifier)
    ]
