import pytest

from expenses.selectors import (
    expense_entry_get,
    expense_sheet_get,
)
from psa.errors import NotFound

pytestmark = pytest.mark.django_db


def test_expense_get_names_a_missing_record():
    with pytest.raises(NotFound):
        expense_entry_get(entry_id=0)
    with pytest.raises(NotFound):
        expense_sheet_get(sheet_id=0)
