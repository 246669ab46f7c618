"""Freight and product receipts post balanced GL lines: freight debits its amount,
a product its amount plus the purchase order's tax on it."""

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounting.gl import AccountBook, to_cents
from procurement.postables import FreightKind, ProductKind
from tests.factories import TaxCodeFactory, closed_po_with_freight, received_product

quantities = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999"), places=2)
costs = st.decimals(min_value=Decimal("0"), max_value=Decimal("999999.99"), places=2)
freights = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("9999999.99"), places=2)
rates = st.decimals(min_value=Decimal("0"), max_value=Decimal("100"), places=4)
run = settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.mark.django_db
@run
@given(freight=freights)
def test_freight_gl_lines_balance_and_debit_the_freight(freight):
    purchase_order = closed_po_with_freight(freight_amount=freight)
    kind = FreightKind()

    posting = kind.posting(kind.queryset().get(pk=purchase_order.pk), AccountBook())

    assert posting.is_balanced()
    assert posting.total_debit == purchase_order.freight_amount == freight


@pytest.mark.django_db
@run
@given(quantity=quantities, unit_cost=costs, rate=st.none() | rates)
def test_product_gl_lines_balance_and_debit_the_amount_with_its_tax(quantity, unit_cost, rate):
    tax_code = TaxCodeFactory(rate=rate) if rate is not None else None
    line = received_product(
        tax_code=tax_code,
        lines=[{"description": "Cable", "quantity": quantity, "unit_cost": unit_cost}],
    )
    kind = ProductKind()

    posting = kind.posting(kind.queryset().get(pk=line.pk), AccountBook())

    amount = to_cents(quantity * unit_cost)
    tax = to_cents(amount * rate / 100) if rate is not None else Decimal("0")
    assert posting.is_balanced()
    assert line.amount == amount
    assert posting.total_debit == amount + tax
