from decimal import Decimal

import pytest

from accounting.models import AuditEvent, GLBatch
from core.errors import InvalidInput
from invoicing.models import Invoice, InvoiceLine
from invoicing.services import invoice_create, invoice_set_status, invoice_update
from tests.factories import (
    TODAY,
    CompanyFactory,
    GLAccountFactory,
    InvoiceFactory,
    TaxCodeFactory,
    assert_refused,
    audit_count,
    closed_invoice,
    finance_user,
    put_in_batch,
)
from tests.helpers import status

pytestmark = pytest.mark.django_db

LINES = [
    {"description": "Managed services", "quantity": "1", "unit_price": "1200.00"},
    {
        "description": "Hardware, not taxed",
        "quantity": "2",
        "unit_price": "50.00",
        "taxable": False,
    },
]


def _unbatch(invoice: Invoice, batch: GLBatch) -> Invoice:
    """What the unbatch workflow leaves behind, without calling it."""
    Invoice.objects.filter(pk=invoice.pk).update(gl_batch=None, original_batch=batch)
    invoice.refresh_from_db()
    return invoice


# Creating ---------------------------------------------------------------------------


def test_create_invoice_starts_new_numbered_with_line_amounts_and_totals():
    user = finance_user()
    company = CompanyFactory()
    tax_code = TaxCodeFactory(rate=Decimal("8.25"))

    invoice = invoice_create(
        actor=user, company=company, date=TODAY, tax_code=tax_code, lines=LINES
    )

    invoice.refresh_from_db()
    assert invoice.number.startswith("INV-")
    assert invoice.status.name == "New"
    assert invoice.is_closed is False
    assert invoice.created_by == user
    assert [line.amount for line in invoice.lines.all()] == [Decimal("1200.00"), Decimal("100.00")]
    assert invoice.subtotal == Decimal("1300.00")
    assert invoice.tax == Decimal("99.00")  # 8.25 % of the taxable 1200.00 only
    assert invoice.total == Decimal("1399.00")
    event = AuditEvent.objects.get(record_type="invoice", record_id=invoice.pk)
    assert (event.action, event.actor) == ("created", user)
    assert event.changes["total"] == {"before": None, "after": "1399.00"}


def test_invoice_numbers_come_from_the_counter_one_after_another():
    first = InvoiceFactory()
    second = InvoiceFactory()
    assert int(second.number.removeprefix("INV-")) == int(first.number.removeprefix("INV-")) + 1


def test_line_amount_is_quantity_times_price_rounded_to_cents():
    invoice = InvoiceFactory(
        lines=[{"description": "Part hour", "quantity": "1.50", "unit_price": "0.33"}]
    )
    assert invoice.lines.get().amount == Decimal("0.50")  # 0.495 rounds half up
    assert invoice.total == Decimal("0.50")


def test_tax_is_rounded_once_on_the_taxable_subtotal():
    tax_code = TaxCodeFactory(rate=Decimal("7.5"))
    lines = [{"description": f"Item {n}", "quantity": "1", "unit_price": "0.10"} for n in range(3)]
    invoice = InvoiceFactory(tax_code=tax_code, lines=lines)
    # 7.5 % of 0.30 is 0.0225 -> 0.02; rounding per line would give 3 x 0.01 = 0.03.
    assert (invoice.subtotal, invoice.tax, invoice.total) == (
        Decimal("0.30"),
        Decimal("0.02"),
        Decimal("0.32"),
    )


def test_line_may_name_its_own_income_account():
    account = GLAccountFactory()
    invoice = InvoiceFactory(
        lines=[
            {"description": "Project", "quantity": "1", "unit_price": "10", "gl_account": account}
        ]
    )
    assert invoice.lines.get().gl_account == account


def test_create_invoice_refused_without_lines():
    before = Invoice.objects.count()
    with pytest.raises(InvalidInput) as caught:
        invoice_create(actor=finance_user(), company=CompanyFactory(), date=TODAY, lines=[])
    assert caught.value.code == "validation_error"
    assert "lines" in caught.value.extra["fields"]
    assert Invoice.objects.count() == before


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ({"description": "x", "quantity": "0", "unit_price": "10"}, "lines[0].quantity"),
        ({"description": "x", "quantity": "-1", "unit_price": "10"}, "lines[0].quantity"),
        ({"description": "x", "quantity": "1", "unit_price": "-0.01"}, "lines[0].unit_price"),
        ({"description": "x", "quantity": "1", "unit_price": "1.005"}, "lines[0].unit_price"),
        ({"description": "x", "quantity": "abc", "unit_price": "1"}, "lines[0].quantity"),
        ({"description": "x", "quantity": 1.5, "unit_price": "1"}, "lines[0].quantity"),
        ({"description": "", "quantity": "1", "unit_price": "1"}, "lines[0].description"),
        ({"description": "x", "quantity": "1", "unit_price": "1", "colour": "red"}, "lines[0]"),
    ],
)
def test_create_invoice_refused_with_a_bad_line(line, field):
    invoices, events = Invoice.objects.count(), audit_count()
    with pytest.raises(InvalidInput) as caught:
        invoice_create(actor=finance_user(), company=CompanyFactory(), date=TODAY, lines=[line])
    assert field in caught.value.extra["fields"]
    assert (Invoice.objects.count(), audit_count()) == (invoices, events)


def test_a_refused_invoice_uses_no_number():
    first = InvoiceFactory()
    with pytest.raises(InvalidInput):
        InvoiceFactory(lines=[])
    second = InvoiceFactory()
    assert int(second.number.removeprefix("INV-")) == int(first.number.removeprefix("INV-")) + 1


# Editing an open invoice ----------------------------------------------------------------


def test_edit_open_invoice_replaces_lines_and_recomputes_totals():
    user = finance_user()
    invoice = InvoiceFactory(actor=user)
    tax_code = TaxCodeFactory(rate=Decimal("10"))

    updated = invoice_update(
        actor=user,
        invoice=invoice,
        tax_code=tax_code,
        lines=[{"description": "Retainer", "quantity": "3", "unit_price": "100.00"}],
    )

    invoice.refresh_from_db()
    assert invoice == updated
    assert list(invoice.lines.values_list("description", "amount")) == [
        ("Retainer", Decimal("300.00"))
    ]
    assert (invoice.subtotal, invoice.tax, invoice.total) == (
        Decimal("300.00"),
        Decimal("30.00"),
        Decimal("330.00"),
    )
    event = AuditEvent.objects.filter(record_type="invoice", record_id=invoice.pk).last()
    assert event.action == "edited"
    assert event.changes["total"] == {"before": "1437.50", "after": "330.00"}
    assert event.changes["tax_code"] == {"before": None, "after": tax_code.code}
    assert "Retainer" in event.changes["lines"]["after"]


def test_edit_header_fields_of_open_invoice():
    invoice = InvoiceFactory()
    other_company = CompanyFactory()
    invoice_update(
        actor=finance_user(),
        invoice=invoice,
        company=other_company,
        date=TODAY.replace(day=1),
        due_date=TODAY.replace(day=28),
    )
    invoice.refresh_from_db()
    assert (invoice.company, invoice.date, invoice.due_date) == (
        other_company,
        TODAY.replace(day=1),
        TODAY.replace(day=28),
    )


def test_clearing_the_tax_code_removes_the_tax():
    invoice = InvoiceFactory(tax_code=TaxCodeFactory())
    assert invoice.tax > 0
    invoice = invoice_update(actor=finance_user(), invoice=invoice, tax_code=None)
    assert (invoice.tax, invoice.total) == (Decimal("0.00"), invoice.subtotal)


def test_update_with_the_current_values_changes_nothing_and_writes_no_audit_event():
    invoice = InvoiceFactory()
    lines = [
        {
            "description": line.description,
            "quantity": line.quantity,
            "unit_price": line.unit_price,
            "taxable": line.taxable,
        }
        for line in invoice.lines.all()
    ]
    events = audit_count()
    invoice_update(
        actor=finance_user(), invoice=invoice, date=invoice.date, lines=lines, status="New"
    )
    assert audit_count() == events


def test_sending_the_current_values_of_a_batched_invoice_is_not_refused():
    invoice = closed_invoice()
    put_in_batch(invoice)
    invoice_update(actor=finance_user(), invoice=invoice, status="Closed", date=invoice.date)


def test_update_refused_with_an_unknown_status_name():
    invoice = InvoiceFactory()
    with pytest.raises(InvalidInput) as caught:
        invoice_update(actor=finance_user(), invoice=invoice, status="Paid in gold")
    assert "status" in caught.value.extra["fields"]


def test_update_refused_with_a_bad_line_changes_nothing():
    invoice = InvoiceFactory()
    assert_refused(
        lambda: invoice_update(
            actor=finance_user(),
            invoice=invoice,
            lines=[{"description": "x", "quantity": "0", "unit_price": "1"}],
        ),
        code="validation_error",
        records=[invoice],
    )


# Statuses -------------------------------------------------------------------------------


def test_setting_a_closed_status_makes_the_invoice_ready_for_accounting():
    invoice = InvoiceFactory()
    invoice = invoice_set_status(actor=finance_user(), invoice=invoice, status="Closed")
    invoice.refresh_from_db()
    assert invoice.status.name == "Closed"
    assert invoice.is_closed is True
    event = AuditEvent.objects.filter(record_type="invoice", record_id=invoice.pk).last()
    assert event.action == "status_changed"
    assert event.changes["status"] == {"before": "New", "after": "Closed"}


def test_status_may_be_given_as_a_status_row():
    invoice = InvoiceFactory()
    invoice_set_status(actor=finance_user(), invoice=invoice, status=status("Sent"))
    invoice.refresh_from_db()
    assert (invoice.status.name, invoice.is_closed) == ("Sent", False)


def test_setting_an_open_status_on_a_closed_unbatched_invoice_is_allowed():
    invoice = closed_invoice()
    invoice_set_status(actor=finance_user(), invoice=invoice, status="New")
    invoice.refresh_from_db()
    assert (invoice.status.name, invoice.is_closed) == ("New", False)


def test_edit_refused_while_the_invoice_has_a_closed_status():
    invoice = closed_invoice()
    error = assert_refused(
        lambda: invoice_update(actor=finance_user(), invoice=invoice, due_date=TODAY),
        code="record_not_open",
        records=[invoice],
    )
    assert invoice.number in error.message
    assert "open status first" in error.message


def test_reopening_and_editing_in_one_update_is_refused_as_the_invoice_starts_closed():
    invoice = closed_invoice()
    assert_refused(
        lambda: invoice_update(actor=finance_user(), invoice=invoice, status="New", due_date=TODAY),
        code="record_not_open",
        records=[invoice],
    )


def test_editing_and_closing_in_one_update_is_allowed_when_the_invoice_starts_open():
    invoice = InvoiceFactory()
    invoice_update(
        actor=finance_user(),
        invoice=invoice,
        lines=[{"description": "Fixed fee", "quantity": "1", "unit_price": "500"}],
        status="Closed",
    )
    invoice.refresh_from_db()
    assert (invoice.is_closed, invoice.total) == (True, Decimal("500.00"))
    event = AuditEvent.objects.filter(record_type="invoice", record_id=invoice.pk).last()
    assert event.action == "edited"
    assert set(event.changes) >= {"status", "is_closed", "total", "lines"}


def test_set_status_refused_without_a_status():
    invoice = InvoiceFactory()
    with pytest.raises(InvalidInput):
        invoice_set_status(actor=finance_user(), invoice=invoice, status=None)


# A batched invoice is locked ----------------------------------------------------------


def test_edit_refused_while_the_invoice_is_in_a_gl_batch():
    invoice = InvoiceFactory()
    batch = put_in_batch(invoice)
    error = assert_refused(
        lambda: invoice_update(
            actor=finance_user(),
            invoice=invoice,
            lines=[{"description": "Changed", "quantity": "1", "unit_price": "1"}],
        ),
        code="record_locked",
        records=[invoice],
    )
    assert batch.batch_identifier in error.message
    assert error.extra["items"] == [
        {"type": "invoice", "id": invoice.pk, "reference": f"Invoice {invoice.number}"}
    ]


def test_status_change_refused_while_the_invoice_is_in_a_gl_batch():
    invoice = closed_invoice()
    put_in_batch(invoice)
    assert_refused(
        lambda: invoice_set_status(actor=finance_user(), invoice=invoice, status="New"),
        code="record_locked",
        records=[invoice],
    )


def test_batched_invoice_with_a_closed_status_reports_the_lock_first():
    invoice = closed_invoice()
    put_in_batch(invoice)
    assert_refused(
        lambda: invoice_update(actor=finance_user(), invoice=invoice, due_date=TODAY),
        code="record_locked",
        records=[invoice],
    )


def test_fix_after_batching_unbatch_set_open_status_edit_set_closed_status():
    user = finance_user()
    invoice = closed_invoice(actor=user)
    batch = put_in_batch(invoice)
    _unbatch(invoice, batch)

    invoice_set_status(actor=user, invoice=invoice, status="New")
    invoice_update(
        actor=user,
        invoice=invoice,
        lines=[{"description": "Corrected fee", "quantity": "1", "unit_price": "990.00"}],
    )
    invoice_set_status(actor=user, invoice=invoice, status="Closed")

    invoice.refresh_from_db()
    assert (invoice.is_closed, invoice.total, invoice.original_batch) == (
        True,
        Decimal("990.00"),
        batch,
    )
    assert invoice.gl_batch is None
    actions = list(
        AuditEvent.objects.filter(record_type="invoice", record_id=invoice.pk).values_list(
            "action", flat=True
        )
    )
    assert actions == ["created", "status_changed", "status_changed", "edited", "status_changed"]
    assert InvoiceLine.objects.filter(invoice=invoice).count() == 1
