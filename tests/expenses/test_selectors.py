import pytest

from expenses.selectors import (
    expense_entry_get,
    expense_entry_list,
    expense_sheet_get,
    expense_sheet_list,
)
from psa.errors import NotFound
from tests.factories import ExpenseEntryFactory, approved_expense, put_in_batch

pytestmark = pytest.mark.django_db


def test_expense_entry_list_filters_by_sheet_member_approval_and_batch():
    approved = approved_expense()
    batch = put_in_batch(approved)
    open_entry = ExpenseEntryFactory()

    assert list(expense_entry_list(filters={"sheet": open_entry.sheet_id})) == [open_entry]
    assert list(expense_entry_list(filters={"member": approved.sheet.member_id})) == [approved]
    assert list(expense_entry_list(filters={"is_approved": True})) == [approved]
    assert list(expense_entry_list(filters={"gl_batch": batch.batch_identifier})) == [approved]
    assert list(expense_entry_list(filters={"batched": False})) == [open_entry]


def test_expense_sheet_list_filters_by_status_and_prefetches_entries(django_assert_num_queries):
    approved = approved_expense()
    ExpenseEntryFactory()
    with django_assert_num_queries(2):
        sheets = list(expense_sheet_list(filters={"status": "approved"}))
        assert [entry for sheet in sheets for entry in sheet.entries.all()] == [approved]


def test_expense_get_names_a_missing_record():
    with pytest.raises(NotFound):
        expense_entry_get(entry_id=0)
    with pytest.raises(NotFound):
        expense_sheet_get(sheet_id=0)
