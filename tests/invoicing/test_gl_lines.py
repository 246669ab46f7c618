"""Every invoice posts balanced GL lines whose debit is the invoice total."""

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounting.gl import AccountBook
from accounting.models import GLAccountType
from invoicing.postables import InvoiceKind
from invoicing.services import invoice_create
from tests.factories import (
    TODAY,
    CompanyFactory,
    GLAccountFactory,
    TaxCodeFactory,
    UserFactory,
    setup_default_accounts,
)

quantities = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999"), places=2)
prices = st.decimals(min_value=Decimal("0"), max_value=Decimal("999999.99"), places=2)
rates = st.decimals(min_value=Decimal("0"), max_value=Decimal("100"), places=4)
lines = st.lists(
    st.fixed_dictionaries(
        {"quantity": quantities, "unit_price": prices, "taxable": st.booleans()},
        optional={"own_account": st.booleans()},
    ),
    min_size=1,
    max_size=6,
)


@pytest.mark.django_db
@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(lines=lines, rate=st.none() | rates)
def test_invoice_gl_lines_balance_and_debit_the_total(lines, rate):
    setup_default_accounts()
    tax_code = TaxCodeFactory(rate=rate) if rate is not None else None
    own_account = GLAccountFactory(type=GLAccountType.INCOME)
    invoice = invoice_create(
        actor=UserFactory(),
        company=CompanyFactory(),
        date=TODAY,
        tax_code=tax_code,
        lines=[
            {
                "description": f"Line {index}",
                "quantity": line["quantity"],
                "unit_price": line["unit_price"],
                "taxable": line["taxable"],
                "gl_account": own_account if line.get("own_account") else None,
            }
            for index, line in enumerate(lines)
        ],
    )
    kind = InvoiceKind()

    posting = kind.posting(kind.queryset().get(pk=invoice.pk), AccountBook())

    assert posting.is_balanced()
    assert posting.total_debit == invoice.total
    assert all(line.debit >= 0 and line.credit >= 0 for line in posting.lines)
