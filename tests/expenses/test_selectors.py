import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from core.errors import NotFound
from core.roles import STAFF
from expenses.models import ExpenseEntry
from expenses.selectors import (
    expense_entry_get,
    expense_sheet_get,
    sheet_visible_to,
    visible_entries,
    visible_sheets,
)
from tests.helpers import make_user

pytestmark = pytest.mark.django_db


def test_expense_get_names_a_missing_record():
    with pytest.raises(NotFound):
        expense_entry_get(entry_id=0)
    with pytest.raises(NotFound):
        expense_sheet_get(sheet_id=0)


@pytest.mark.parametrize("role", ["staff", "approver", "finance"])
def test_the_api_and_the_pages_show_each_role_the_expenses_the_selector_lets_it_see(
    request, role, make_sheet, staff, approver
):
    """Staff see their own sheets and entries; Approvers (to approve them) and Finance
    see every member's. The selector, the API's lists and lookups and the pages' list
    and lookups agree for each role."""
    user = request.getfixturevalue(role)
    sheets = [
        make_sheet(entries=2),
        make_sheet(member=make_user("olga", STAFF)),
        make_sheet(member=approver),
    ]
    seen = {sheet.pk for sheet in sheets if role != "staff" or sheet.member_id == staff.pk}
    entries = set(ExpenseEntry.objects.filter(sheet__in=seen).values_list("pk", flat=True))
    assert seen == ({sheets[0].pk} if role == "staff" else {sheet.pk for sheet in sheets})

    assert {sheet.pk for sheet in visible_sheets(user)} == seen
    assert {entry.pk for entry in visible_entries(user)} == entries
    assert {sheet.pk for sheet in sheets if sheet_visible_to(user, sheet)} == seen

    api = APIClient()
    api.force_authenticate(user)
    listed_sheets = api.get("/api/v1/expense-sheets/").json()["results"]
    listed_entries = api.get("/api/v1/expense-entries/").json()["results"]
    assert {sheet["id"] for sheet in listed_sheets} == seen
    assert {entry["id"] for entry in listed_entries} == entries

    pages = Client()
    pages.force_login(user)
    page = pages.get(reverse("expenses:entry_list"))
    assert page.status_code == 200
    assert {entry.pk for entry in page.context["entries"]} == entries

    for sheet in sheets:
        wanted = 200 if sheet.pk in seen else 404
        api_answer = api.get(f"/api/v1/expense-sheets/{sheet.pk}/").status_code
        page_answer = pages.get(reverse("expenses:sheet_detail", args=[sheet.pk])).status_code
        assert (api_answer, page_answer) == (wanted, wanted), sheet
        for entry in sheet.entries.all():
            api_answer = api.get(f"/api/v1/expense-entries/{entry.pk}/").status_code
            page_answer = pages.get(reverse("expenses:entry_detail", args=[entry.pk])).status_code
            assert (api_answer, page_answer) == (wanted, wanted), entry
