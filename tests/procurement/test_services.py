import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from accounting.models import AuditEvent, GLBatch
from core.errors import InvalidInput
from procurement.models import POStatus, PurchaseOrder, PurchaseOrderLine
from procurement.services import (
    purchase_order_create,
    purchase_order_line_add,
    purchase_order_line_receive,
    purchase_order_line_unreceive,
    purchase_order_line_update,
    purchase_order_update,
)
from tests.factories import (
    TODAY,
    GLAccountFactory,
    TaxCodeFactory,
    VendorFactory,
    assert_refused,
    audit_count,
    closed_po_with_freight,
    finance_user,
    open_po,
    put_in_batch,
    received_product,
    setup_default_accounts,
)

pytestmark = pytest.mark.django_db


def _batch_freight(purchase_order: PurchaseOrder) -> GLBatch:
    return put_in_batch(purchase_order, field="freight_gl_batch")


def _unbatch_freight(purchase_order: PurchaseOrder, batch: GLBatch) -> None:
    """What the unbatch workflow leaves behind, without calling it."""
    PurchaseOrder.objects.filter(pk=purchase_order.pk).update(
        freight_gl_batch=None, freight_original_batch=batch
    )
    purchase_order.refresh_from_db()


def _unbatch_product(line: PurchaseOrderLine, batch: GLBatch) -> None:
    PurchaseOrderLine.objects.filter(pk=line.pk).update(gl_batch=None, original_batch=batch)
    line.refresh_from_db()


def _actions(record_type: str, record_id: int) -> list[str]:
    return list(
        AuditEvent.objects.filter(record_type=record_type, record_id=record_id).values_list(
            "action", flat=True
        )
    )


# Creating ---------------------------------------------------------------------------


def test_create_purchase_order_starts_open_numbered_with_lines_and_freight():
    user = finance_user()
    vendor = VendorFactory()
    freight_account = GLAccountFactory(type="freight")
    purchase_order = purchase_order_create(
        actor=user,
        vendor=vendor,
        date=TODAY,
        freight_amount="25.00",
        freight_gl_account=freight_account,
        lines=[
            {"description": "Switch", "quantity": "2", "unit_cost": "150.00"},
            {"description": "Cable", "quantity": "1.5", "unit_cost": "0.33"},
        ],
    )
    purchase_order.refresh_from_db()
    assert purchase_order.number.startswith("PO-")
    assert (purchase_order.status, purchase_order.freight_amount) == (
        POStatus.OPEN,
        Decimal("25.00"),
    )
    assert purchase_order.freight_gl_account == freight_account
    assert list(purchase_order.lines.values_list("position", "amount", "received", "closed")) == [
        (1, Decimal("300.00"), False, False),
        (2, Decimal("0.50"), False, False),
    ]
    assert _actions("freight", purchase_order.pk) == ["created"]
    for line in purchase_order.lines.all():
        assert _actions("product", line.pk) == ["created"]


def test_purchase_order_numbers_come_from_their_own_counter():
    first, second = open_po(), open_po()
    assert int(second.number.removeprefix("PO-")) == int(first.number.removeprefix("PO-")) + 1


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"freight_amount": "-1.00"}, "freight_amount"),
        ({"freight_amount": 2.5}, "freight_amount"),
        ({"lines": [{"description": "x", "quantity": "0", "unit_cost": "1"}]}, "lines[0].quantity"),
        (
            {"lines": [{"description": "x", "quantity": "1", "unit_cost": "-1"}]},
            "lines[0].unit_cost",
        ),
        ({"lines": [{"quantity": "1", "unit_cost": "1"}]}, "lines[0].description"),
    ],
)
def test_create_purchase_order_refused_with_bad_input(values, field):
    orders, events = PurchaseOrder.objects.count(), audit_count()
    with pytest.raises(InvalidInput) as caught:
        purchase_order_create(actor=finance_user(), vendor=VendorFactory(), date=TODAY, **values)
    assert field in caught.value.extra["fields"]
    assert (PurchaseOrder.objects.count(), audit_count()) == (orders, events)


def test_add_product_line_to_open_purchase_order():
    purchase_order = open_po()
    line = purchase_order_line_add(
        actor=finance_user(),
        purchase_order=purchase_order,
        description="Rack",
        quantity="1",
        unit_cost="899.00",
    )
    assert (line.position, line.amount) == (2, Decimal("899.00"))
    assert _actions("product", line.pk) == ["created"]


def test_add_product_line_refused_on_a_closed_purchase_order():
    purchase_order = closed_po_with_freight()
    lines = purchase_order.lines.count()
    assert_refused(
        lambda: purchase_order_line_add(
            actor=finance_user(),
            purchase_order=purchase_order,
            description="Rack",
            quantity="1",
            unit_cost="899.00",
        ),
        code="record_not_open",
        records=[purchase_order],
    )
    assert purchase_order.lines.count() == lines


def test_add_product_line_refused_with_zero_quantity():
    purchase_order = open_po()
    with pytest.raises(InvalidInput) as caught:
        purchase_order_line_add(
            actor=finance_user(),
            purchase_order=purchase_order,
            description="Rack",
            quantity="0",
            unit_cost="1",
        )
    assert "quantity" in caught.value.extra["fields"]


# Closing and reopening, freight ---------------------------------------------------------


def test_closing_a_purchase_order_is_always_allowed_even_with_unreceived_lines():
    purchase_order = open_po(freight_amount="10.00")
    purchase_order_update(actor=finance_user(), purchase_order=purchase_order, status="closed")
    purchase_order.refresh_from_db()
    assert purchase_order.status == POStatus.CLOSED
    assert purchase_order.closed_at is not None
    assert not purchase_order.lines.filter(received=True).exists()
    assert _actions("freight", purchase_order.pk)[-1] == "closed"


def test_reopening_a_purchase_order_whose_freight_is_not_batched():
    purchase_order = closed_po_with_freight()
    purchase_order_update(actor=finance_user(), purchase_order=purchase_order, status=POStatus.OPEN)
    purchase_order.refresh_from_db()
    assert (purchase_order.status, purchase_order.closed_at) == (POStatus.OPEN, None)
    assert _actions("freight", purchase_order.pk)[-1] == "reopened"


def test_reopening_refused_while_the_freight_is_in_a_gl_batch():
    purchase_order = closed_po_with_freight()
    batch = _batch_freight(purchase_order)
    error = assert_refused(
        lambda: purchase_order_update(
            actor=finance_user(), purchase_order=purchase_order, status="open"
        ),
        code="record_locked",
        records=[purchase_order],
    )
    assert batch.batch_identifier in error.message
    assert error.extra["items"] == [
        {
            "type": "freight",
            "id": purchase_order.pk,
            "reference": f"Freight on PO {purchase_order.number}",
        }
    ]


def test_closing_is_allowed_while_the_freight_is_in_a_gl_batch():
    purchase_order = open_po(freight_amount="10.00")
    _batch_freight(purchase_order)
    purchase_order_update(actor=finance_user(), purchase_order=purchase_order, status="closed")
    purchase_order.refresh_from_db()
    assert purchase_order.status == POStatus.CLOSED


def test_update_refused_with_an_unknown_status():
    purchase_order = open_po()
    with pytest.raises(InvalidInput) as caught:
        purchase_order_update(actor=finance_user(), purchase_order=purchase_order, status="held")
    assert "status" in caught.value.extra["fields"]


def test_edit_freight_on_an_open_purchase_order():
    purchase_order = open_po(freight_amount="10.00")
    purchase_order_update(
        actor=finance_user(), purchase_order=purchase_order, freight_amount="12.50"
    )
    purchase_order.refresh_from_db()
    assert purchase_order.freight_amount == Decimal("12.50")
    event = AuditEvent.objects.filter(record_type="freight", record_id=purchase_order.pk).last()
    assert event.action == "edited"
    assert event.changes == {"freight_amount": {"before": "10.00", "after": "12.50"}}


def test_edit_freight_refused_while_the_purchase_order_is_closed():
    purchase_order = closed_po_with_freight()
    error = assert_refused(
        lambda: purchase_order_update(
            actor=finance_user(), purchase_order=purchase_order, freight_amount="30.00"
        ),
        code="record_not_open",
        records=[purchase_order],
    )
    assert "Reopen it first" in error.message


def test_edit_freight_refused_while_the_freight_is_in_a_gl_batch():
    purchase_order = closed_po_with_freight()
    _batch_freight(purchase_order)
    assert_refused(
        lambda: purchase_order_update(
            actor=finance_user(), purchase_order=purchase_order, freight_amount="30.00"
        ),
        code="record_locked",
        records=[purchase_order],
    )


def test_edit_freight_account_refused_while_the_purchase_order_is_closed():
    purchase_order = closed_po_with_freight()
    assert_refused(
        lambda: purchase_order_update(
            actor=finance_user(),
            purchase_order=purchase_order,
            freight_gl_account=GLAccountFactory(type="freight"),
        ),
        code="record_not_open",
        records=[purchase_order],
    )


def test_edit_freight_and_close_in_one_update_when_the_purchase_order_starts_open():
    purchase_order = open_po(freight_amount="10.00")
    purchase_order_update(
        actor=finance_user(), purchase_order=purchase_order, freight_amount="11.00", status="closed"
    )
    purchase_order.refresh_from_db()
    assert (purchase_order.freight_amount, purchase_order.status) == (
        Decimal("11.00"),
        POStatus.CLOSED,
    )


def test_reopen_and_edit_freight_in_one_update_is_refused_as_the_purchase_order_starts_closed():
    purchase_order = closed_po_with_freight()
    assert_refused(
        lambda: purchase_order_update(
            actor=finance_user(),
            purchase_order=purchase_order,
            status="open",
            freight_amount="30.00",
        ),
        code="record_not_open",
        records=[purchase_order],
    )


def test_update_with_the_current_values_writes_no_audit_event_even_when_batched():
    purchase_order = closed_po_with_freight()
    _batch_freight(purchase_order)
    events = audit_count()
    purchase_order_update(
        actor=finance_user(),
        purchase_order=purchase_order,
        status="closed",
        freight_amount=purchase_order.freight_amount,
    )
    assert audit_count() == events


def test_fix_freight_after_batching_unbatch_reopen_edit_close():
    user = finance_user()
    purchase_order = closed_po_with_freight(actor=user)
    batch = _batch_freight(purchase_order)
    _unbatch_freight(purchase_order, batch)

    purchase_order_update(actor=user, purchase_order=purchase_order, status="open")
    purchase_order_update(actor=user, purchase_order=purchase_order, freight_amount="27.00")
    purchase_order_update(actor=user, purchase_order=purchase_order, status="closed")

    purchase_order.refresh_from_db()
    assert (purchase_order.status, purchase_order.freight_amount) == (
        POStatus.CLOSED,
        Decimal("27.00"),
    )
    assert purchase_order.freight_original_batch == batch
    assert _actions("freight", purchase_order.pk) == [
        "created",
        "closed",
        "reopened",
        "edited",
        "closed",
    ]


# Tax code --------------------------------------------------------------------------------


def test_change_tax_code_when_open_and_every_product_is_unreceived():
    purchase_order = open_po()
    tax_code = TaxCodeFactory()
    purchase_order_update(actor=finance_user(), purchase_order=purchase_order, tax_code=tax_code)
    purchase_order.refresh_from_db()
    assert purchase_order.tax_code == tax_code


def test_change_tax_code_refused_while_the_purchase_order_is_closed():
    purchase_order = closed_po_with_freight()
    assert_refused(
        lambda: purchase_order_update(
            actor=finance_user(), purchase_order=purchase_order, tax_code=TaxCodeFactory()
        ),
        code="record_not_open",
        records=[purchase_order],
    )


def test_change_tax_code_refused_while_the_freight_is_in_a_gl_batch():
    purchase_order = open_po(freight_amount="10.00")
    _batch_freight(purchase_order)
    assert_refused(
        lambda: purchase_order_update(
            actor=finance_user(), purchase_order=purchase_order, tax_code=TaxCodeFactory()
        ),
        code="record_locked",
        records=[purchase_order],
    )


def test_change_tax_code_refused_while_a_product_is_received_lists_the_products():
    line = received_product(
        lines=[
            {"description": "Switch", "quantity": "1", "unit_cost": "100"},
        ]
    )
    purchase_order = line.purchase_order
    unreceived = purchase_order_line_add(
        actor=finance_user(),
        purchase_order=purchase_order,
        description="Cable",
        quantity="1",
        unit_cost="5",
    )
    # Received, Closed box cleared: still not allowed.
    purchase_order_line_update(actor=finance_user(), line=line, closed=False)
    error = assert_refused(
        lambda: purchase_order_update(
            actor=finance_user(), purchase_order=purchase_order, tax_code=TaxCodeFactory()
        ),
        code="products_not_unreceived",
        records=[purchase_order, line, unreceived],
    )
    assert error.extra["items"] == [
        {
            "type": "product",
            "id": line.pk,
            "reference": f"Product {line.pk} on PO {purchase_order.number}",
        }
    ]
    assert "unreceive" in error.message


def test_change_tax_code_allowed_again_after_the_product_is_unreceived():
    user = finance_user()
    line = received_product(actor=user)
    purchase_order_line_update(actor=user, line=line, closed=False)
    purchase_order_line_unreceive(actor=user, line=line)
    tax_code = TaxCodeFactory()
    purchase_order_update(actor=user, purchase_order=line.purchase_order, tax_code=tax_code)
    line.purchase_order.refresh_from_db()
    assert line.purchase_order.tax_code == tax_code


# Product lines ------------------------------------------------------------------------


def test_edit_an_unreceived_product_line_recomputes_its_amount():
    line = open_po().lines.get()
    purchase_order_line_update(actor=finance_user(), line=line, quantity="3", unit_cost="99.99")
    line.refresh_from_db()
    assert (line.quantity, line.unit_cost, line.amount) == (
        Decimal("3.00"),
        Decimal("99.99"),
        Decimal("299.97"),
    )
    event = AuditEvent.objects.filter(record_type="product", record_id=line.pk).last()
    assert event.action == "edited"
    assert event.changes["amount"] == {"before": "300.00", "after": "299.97"}


def test_edit_product_line_refused_with_zero_quantity():
    line = open_po().lines.get()
    assert_refused(
        lambda: purchase_order_line_update(actor=finance_user(), line=line, quantity="0"),
        code="validation_error",
        records=[line],
    )


def test_edit_a_received_and_closed_product_line_is_refused():
    line = received_product()
    error = assert_refused(
        lambda: purchase_order_line_update(actor=finance_user(), line=line, quantity="5"),
        code="record_not_open",
        records=[line],
    )
    assert "Clear its Closed box and unreceive it first" in error.message


def test_edit_a_received_product_line_with_closed_clear_is_still_refused():
    line = received_product()
    purchase_order_line_update(actor=finance_user(), line=line, closed=False)
    assert_refused(
        lambda: purchase_order_line_update(actor=finance_user(), line=line, description="New"),
        code="record_not_open",
        records=[line],
    )


def test_edit_product_line_refused_while_it_is_in_a_gl_batch():
    line = received_product()
    batch = put_in_batch(line)
    error = assert_refused(
        lambda: purchase_order_line_update(actor=finance_user(), line=line, quantity="5"),
        code="record_locked",
        records=[line],
    )
    assert batch.batch_identifier in error.message


def test_clearing_the_closed_box_is_allowed_when_not_batched():
    line = received_product()
    purchase_order_line_update(actor=finance_user(), line=line, closed=False)
    line.refresh_from_db()
    assert (line.received, line.closed) == (True, False)
    assert _actions("product", line.pk)[-1] == "reopened"


def test_clearing_the_closed_box_is_refused_while_batched():
    line = received_product()
    put_in_batch(line)
    assert_refused(
        lambda: purchase_order_line_update(actor=finance_user(), line=line, closed=False),
        code="record_locked",
        records=[line],
    )


def test_ticking_closed_on_an_unreceived_product_line_is_refused():
    line = open_po().lines.get()
    error = assert_refused(
        lambda: purchase_order_line_update(actor=finance_user(), line=line, closed=True),
        code="record_not_ready",
        records=[line],
    )
    assert "Receive it first" in error.message


def test_ticking_closed_on_a_received_product_line_makes_it_ready_again():
    line = received_product()
    purchase_order_line_update(actor=finance_user(), line=line, closed=False)
    purchase_order_line_update(actor=finance_user(), line=line, closed=True)
    line.refresh_from_db()
    assert (line.received, line.closed) == (True, True)


# Receiving ----------------------------------------------------------------------------


def test_receive_a_product_line_ticks_closed_and_dates_it_today_by_default():
    line = open_po().lines.get()
    purchase_order_line_receive(actor=finance_user(), line=line)
    line.refresh_from_db()
    assert (line.received, line.closed, line.received_date) == (
        True,
        True,
        timezone.localdate(),
    )
    assert _actions("product", line.pk)[-1] == "received"


def test_receive_on_a_given_date():
    line = open_po().lines.get()
    purchase_order_line_receive(
        actor=finance_user(), line=line, received_date=datetime.date(2025, 2, 28)
    )
    line.refresh_from_db()
    assert line.received_date == datetime.date(2025, 2, 28)


def test_receive_refused_when_already_received():
    line = received_product()
    assert_refused(
        lambda: purchase_order_line_receive(actor=finance_user(), line=line),
        code="invalid_transition",
        records=[line],
    )


def test_receive_refused_while_batched():
    line = received_product()
    put_in_batch(line)
    assert_refused(
        lambda: purchase_order_line_receive(actor=finance_user(), line=line),
        code="record_locked",
        records=[line],
    )


def test_unreceive_refused_while_the_closed_box_is_ticked():
    line = received_product()
    error = assert_refused(
        lambda: purchase_order_line_unreceive(actor=finance_user(), line=line),
        code="invalid_transition",
        records=[line],
    )
    assert "Clear the Closed box first" in error.message


def test_unreceive_refused_while_batched():
    line = received_product()
    put_in_batch(line)
    assert_refused(
        lambda: purchase_order_line_unreceive(actor=finance_user(), line=line),
        code="record_locked",
        records=[line],
    )


def test_unreceive_refused_when_not_received():
    line = open_po().lines.get()
    assert_refused(
        lambda: purchase_order_line_unreceive(actor=finance_user(), line=line),
        code="invalid_transition",
        records=[line],
    )


def test_fix_product_after_batching_unbatch_clear_closed_unreceive_edit_receive():
    user = finance_user()
    line = received_product(actor=user)
    batch = put_in_batch(line)
    _unbatch_product(line, batch)

    purchase_order_line_update(actor=user, line=line, closed=False)
    purchase_order_line_unreceive(actor=user, line=line)
    purchase_order_line_update(actor=user, line=line, quantity="1")
    purchase_order_line_receive(actor=user, line=line, received_date=TODAY)

    line.refresh_from_db()
    assert (line.received, line.closed, line.amount, line.original_batch) == (
        True,
        True,
        Decimal("150.00"),
        batch,
    )
    assert _actions("product", line.pk) == [
        "created",
        "received",
        "reopened",
        "unreceived",
        "edited",
        "received",
    ]


def test_product_total_includes_the_purchase_orders_tax_and_follows_a_tax_code_change():
    from accounting.gl import AccountBook
    from procurement.postables import ProductKind

    setup_default_accounts()
    finance = finance_user()
    tax = TaxCodeFactory(rate=Decimal("10.00"))
    po = purchase_order_create(
        actor=finance,
        vendor=VendorFactory(),
        date=datetime.date(2026, 11, 3),
        tax_code=tax,
        lines=[{"description": "Switch", "quantity": Decimal("2"), "unit_cost": Decimal("50.00")}],
    )
    line = po.lines.get()
    assert (line.amount, line.total) == (Decimal("100.00"), Decimal("110.00"))
    purchase_order_update(actor=finance, purchase_order=po, tax_code=None)
    line.refresh_from_db()
    assert line.total == Decimal("100.00")
    purchase_order_line_receive(actor=finance, line=line)
    line = ProductKind().queryset().get(pk=line.pk)
    posting = ProductKind().posting(line, AccountBook())
    assert posting.total_credit == line.total
