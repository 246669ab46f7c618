"""Amounts too large for a money column: the services refuse them as InvalidInput
with the field at fault, before any rounding or database error."""

from decimal import Decimal

import pytest

from core.errors import InvalidInput
from invoicing import services as invoice_services
from procurement import services as po_services
from tests.helpers import DAY


def test_invoice_line_whose_amount_has_too_many_digits_is_invalid_input(finance, book):
    # to_cents() quantizes quantity x unit price before the size check: InvalidOperation.
    with pytest.raises(InvalidInput):
        invoice_services.invoice_create(
            actor=finance,
            company=book["client"],
            date=DAY,
            lines=[
                {
                    "description": "a",
                    "quantity": Decimal("999999999999.99"),
                    "unit_price": Decimal("999999999999999999.99"),
                }
            ],
        )


def test_invoice_whose_total_does_not_fit_is_invalid_input(finance, book):
    # Each line fits; subtotal and total overflow their column: DataError.
    line = {"description": "a", "quantity": Decimal("1"), "unit_price": Decimal("9E17")}
    with pytest.raises(InvalidInput):
        invoice_services.invoice_create(
            actor=finance, company=book["client"], date=DAY, lines=[line, line]
        )


def test_product_line_whose_total_with_tax_does_not_fit_is_invalid_input(finance, book):
    # The amount fits; the line's total (amount plus the order's tax) does not: DataError.
    with pytest.raises(InvalidInput):
        po_services.purchase_order_create(
            actor=finance,
            vendor=book["vendor"],
            date=DAY,
            tax_code=book["tax"],
            lines=[{"description": "a", "quantity": Decimal("1"), "unit_cost": Decimal("99E16")}],
        )


def test_product_line_edit_whose_amount_has_too_many_digits_is_invalid_input(
    finance, make_purchase_order
):
    _, line = make_purchase_order(received=False, closed=False)
    with pytest.raises(InvalidInput):
        po_services.purchase_order_line_update(
            actor=finance,
            line=line,
            quantity=Decimal("999999999999.99"),
            unit_cost=Decimal("999999999999999999.99"),
        )
