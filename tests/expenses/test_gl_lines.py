"""Every expense entry posts balanced GL lines whose debit is its amount."""

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounting.gl import AccountBook
from expenses.postables import ExpenseKind
from tests.factories import approved_expense

amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("9999999.99"), places=2)


@pytest.mark.django_db
@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(amount=amounts)
def test_expense_gl_lines_balance_and_debit_the_amount(amount):
    entry = approved_expense(amount=amount)
    kind = ExpenseKind()

    posting = kind.posting(kind.queryset().get(pk=entry.pk), AccountBook())

    assert posting.is_balanced()
    assert posting.total_debit == entry.amount == amount
    debit, credit = posting.lines
    assert debit.account_number == entry.expense_type.gl_account.number
    assert credit.account_type == "reimbursement"
