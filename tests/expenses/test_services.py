import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounting.models import AuditEvent, GLBatch
from core.errors import InvalidInput
from expenses.models import ExpenseEntry, ExpenseSheet, SheetStatus
from expenses.services import (
    expense_entry_create,
    expense_entry_update,
    expense_sheet_approve,
    expense_sheet_create,
    expense_sheet_reverse,
    expense_sheet_submit,
)
from tests.factories import (
    TODAY,
    CompanyFactory,
    ExpenseEntryFactory,
    ExpenseSheetFactory,
    ExpenseTypeFactory,
    approved_expense,
    approver_user,
    assert_refused,
    audit_count,
    finance_user,
    put_in_batch,
    staff_user,
)

pytestmark = pytest.mark.django_db


def _entry(sheet: ExpenseSheet, amount: str = "42.50") -> ExpenseEntry:
    return expense_entry_create(
        actor=sheet.member,
        sheet=sheet,
        date=TODAY,
        expense_type=ExpenseTypeFactory(),
        amount=amount,
        description="Taxi to the client site",
    )


def _submitted_sheet(entries: int = 1) -> ExpenseSheet:
    sheet = ExpenseSheetFactory()
    for _ in range(entries):
        _entry(sheet)
    return expense_sheet_submit(actor=sheet.member, sheet=sheet)


def _approved_sheet(entries: int = 1) -> ExpenseSheet:
    return expense_sheet_approve(actor=approver_user(), sheet=_submitted_sheet(entries))


def _entry_updates(context: CaptureQueriesContext) -> list[str]:
    table = ExpenseEntry._meta.db_table
    return [q["sql"] for q in context.captured_queries if q["sql"].startswith(f'UPDATE "{table}"')]


def _unbatch(entry: ExpenseEntry, batch: GLBatch) -> None:
    """What the unbatch workflow leaves behind, without calling it."""
    ExpenseEntry.objects.filter(pk=entry.pk).update(gl_batch=None, original_batch=batch)
    entry.refresh_from_db()


# Sheets and entries --------------------------------------------------------------------


def test_create_sheet_starts_open_and_is_audited():
    member = staff_user()
    sheet = expense_sheet_create(
        actor=member, member=member, period_start=TODAY.replace(day=1), period_end=TODAY
    )
    assert sheet.status == SheetStatus.OPEN
    event = AuditEvent.objects.get(record_type="expense_sheet", record_id=sheet.pk)
    assert (event.action, event.actor) == ("created", member)


def test_create_sheet_refused_when_the_period_ends_before_it_starts():
    member = staff_user()
    sheets = ExpenseSheet.objects.count()
    with pytest.raises(InvalidInput) as caught:
        expense_sheet_create(
            actor=member,
            member=member,
            period_start=TODAY,
            period_end=TODAY - datetime.timedelta(days=1),
        )
    assert "period_end" in caught.value.extra["fields"]
    assert ExpenseSheet.objects.count() == sheets


def test_add_entry_to_open_sheet_is_not_yet_approved():
    sheet = ExpenseSheetFactory()
    company = CompanyFactory()
    entry = expense_entry_create(
        actor=sheet.member,
        sheet=sheet,
        date=TODAY,
        expense_type=ExpenseTypeFactory(),
        amount=Decimal("19.99"),
        description="Parking",
        billable=True,
        company=company,
    )
    entry.refresh_from_db()
    assert (entry.amount, entry.billable, entry.company, entry.is_approved) == (
        Decimal("19.99"),
        True,
        company,
        False,
    )
    event = AuditEvent.objects.get(record_type="expense", record_id=entry.pk)
    assert event.changes["amount"] == {"before": None, "after": "19.99"}


@pytest.mark.parametrize("amount", ["0", "-5.00", "1.234", 12.5, "lots"])
def test_add_entry_refused_with_a_bad_amount(amount):
    sheet = ExpenseSheetFactory()
    entries, events = ExpenseEntry.objects.count(), audit_count()
    with pytest.raises(InvalidInput) as caught:
        _entry(sheet, amount=amount)
    assert "amount" in caught.value.extra["fields"]
    assert (ExpenseEntry.objects.count(), audit_count()) == (entries, events)


@pytest.mark.parametrize("make_sheet", [_submitted_sheet, _approved_sheet])
def test_add_entry_refused_unless_the_sheet_is_open(make_sheet):
    sheet = make_sheet()
    entries = ExpenseEntry.objects.count()
    error = assert_refused(lambda: _entry(sheet), code="record_not_open", records=[sheet])
    assert f"Expense sheet {sheet.pk}" in error.message
    assert ExpenseEntry.objects.count() == entries


def test_edit_entry_on_open_sheet():
    entry = ExpenseEntryFactory()
    expense_entry_update(
        actor=entry.sheet.member, entry=entry, amount="55.00", description="Train ticket"
    )
    entry.refresh_from_db()
    assert (entry.amount, entry.description) == (Decimal("55.00"), "Train ticket")
    event = AuditEvent.objects.get(record_type="expense", record_id=entry.pk, action="edited")
    assert event.changes == {
        "amount": {"before": "42.50", "after": "55.00"},
        "description": {"before": "Taxi to the client site", "after": "Train ticket"},
    }


def test_edit_entry_with_the_current_values_writes_no_audit_event():
    entry = ExpenseEntryFactory()
    events = audit_count()
    expense_entry_update(actor=entry.sheet.member, entry=entry, amount=entry.amount)
    assert audit_count() == events


def test_edit_entry_refused_while_its_sheet_is_submitted():
    sheet = _submitted_sheet()
    entry = sheet.entries.get()
    assert_refused(
        lambda: expense_entry_update(actor=sheet.member, entry=entry, amount="1.00"),
        code="record_not_open",
        records=[entry, sheet],
    )


def test_edit_entry_refused_while_its_sheet_is_approved_says_reverse_the_sheet_first():
    entry = approved_expense()
    error = assert_refused(
        lambda: expense_entry_update(actor=entry.sheet.member, entry=entry, amount="1.00"),
        code="record_not_open",
        records=[entry, entry.sheet],
    )
    assert "everse the sheet first" in error.message


def test_edit_entry_refused_while_it_is_in_a_gl_batch():
    entry = approved_expense()
    batch = put_in_batch(entry)
    error = assert_refused(
        lambda: expense_entry_update(actor=entry.sheet.member, entry=entry, amount="1.00"),
        code="record_locked",
        records=[entry, entry.sheet],
    )
    assert batch.batch_identifier in error.message
    assert error.extra["items"] == [
        {"type": "expense", "id": entry.pk, "reference": f"Expense {entry.pk}"}
    ]


# Submit, approve, reverse --------------------------------------------------------------


def test_submit_open_sheet():
    sheet = ExpenseSheetFactory()
    _entry(sheet)
    expense_sheet_submit(actor=sheet.member, sheet=sheet)
    sheet.refresh_from_db()
    assert sheet.status == SheetStatus.SUBMITTED
    assert sheet.submitted_at is not None
    assert not sheet.entries.filter(is_approved=True).exists()


def test_submit_refused_for_a_sheet_without_entries():
    sheet = ExpenseSheetFactory()
    error = assert_refused(
        lambda: expense_sheet_submit(actor=sheet.member, sheet=sheet),
        code="invalid_transition",
        records=[sheet],
    )
    assert "no entries" in error.message


@pytest.mark.parametrize("make_sheet", [_submitted_sheet, _approved_sheet])
def test_submit_refused_unless_the_sheet_is_open(make_sheet):
    sheet = make_sheet()
    assert_refused(
        lambda: expense_sheet_submit(actor=sheet.member, sheet=sheet),
        code="invalid_transition",
        records=[sheet],
    )


def test_approve_submitted_sheet_makes_every_entry_ready_with_one_update():
    sheet = _submitted_sheet(entries=3)
    approver = approver_user()

    with CaptureQueriesContext(connection) as queries:
        expense_sheet_approve(actor=approver, sheet=sheet)

    sheet.refresh_from_db()
    assert (sheet.status, sheet.approved_by) == (SheetStatus.APPROVED, approver)
    assert sheet.approved_at is not None
    assert sheet.entries.filter(is_approved=True).count() == 3
    assert len(_entry_updates(queries)) == 1
    assert AuditEvent.objects.filter(record_type="expense", action="sheet_approved").count() == 3
    event = AuditEvent.objects.get(
        record_type="expense_sheet", record_id=sheet.pk, action="approved"
    )
    assert event.changes["status"] == {"before": "submitted", "after": "approved"}


def test_approve_refused_for_the_sheets_own_member():
    sheet = _submitted_sheet()
    error = assert_refused(
        lambda: expense_sheet_approve(actor=sheet.member, sheet=sheet),
        code="permission_denied",
        records=[sheet],
    )
    assert error.status_code == 403


@pytest.mark.parametrize("make_sheet", [ExpenseSheetFactory, _approved_sheet])
def test_approve_refused_unless_the_sheet_is_submitted(make_sheet):
    sheet = make_sheet()
    assert_refused(
        lambda: expense_sheet_approve(actor=approver_user(), sheet=sheet),
        code="invalid_transition",
        records=[sheet],
    )


def test_reverse_approved_sheet_opens_it_and_its_entries_are_no_longer_ready():
    sheet = _approved_sheet(entries=2)

    with CaptureQueriesContext(connection) as queries:
        expense_sheet_reverse(actor=approver_user(), sheet=sheet)

    sheet.refresh_from_db()
    assert sheet.status == SheetStatus.OPEN
    assert (sheet.approved_by, sheet.approved_at, sheet.submitted_at) == (None, None, None)
    assert not sheet.entries.filter(is_approved=True).exists()
    assert len(_entry_updates(queries)) == 1


@pytest.mark.parametrize("make_sheet", [ExpenseSheetFactory, _submitted_sheet])
def test_reverse_refused_unless_the_sheet_is_approved(make_sheet):
    sheet = make_sheet()
    assert_refused(
        lambda: expense_sheet_reverse(actor=approver_user(), sheet=sheet),
        code="invalid_transition",
        records=[sheet],
    )


def test_reverse_refused_for_the_sheets_own_member():
    sheet = _approved_sheet()
    error = assert_refused(
        lambda: expense_sheet_reverse(actor=sheet.member, sheet=sheet),
        code="permission_denied",
        records=[sheet],
    )
    assert error.status_code == 403


# Whose sheet: members change their own, Finance everyone's; an Approver sees every
# sheet but changes only their own.


def _changes_of_another_members_sheet(sheet: ExpenseSheet, entry: ExpenseEntry, actor):
    return {
        "create a sheet for them": lambda: expense_sheet_create(
            actor=actor, member=sheet.member, period_start=TODAY, period_end=TODAY
        ),
        "add an entry": lambda: expense_entry_create(
            actor=actor,
            sheet=sheet,
            date=TODAY,
            expense_type=entry.expense_type,
            amount="9.99",
            description="Parking",
        ),
        "edit an entry": lambda: expense_entry_update(actor=actor, entry=entry, amount="1.00"),
        "submit the sheet": lambda: expense_sheet_submit(actor=actor, sheet=sheet),
    }


@pytest.mark.parametrize("role", [staff_user, approver_user])
@pytest.mark.parametrize(
    "change", ["create a sheet for them", "add an entry", "edit an entry", "submit the sheet"]
)
def test_another_members_sheet_is_refused_to_staff_and_approvers(role, change):
    sheet = ExpenseSheetFactory()
    entry = _entry(sheet)
    sheets = ExpenseSheet.objects.count()
    call = _changes_of_another_members_sheet(sheet, entry, role())[change]
    error = assert_refused(call, code="permission_denied", records=[sheet, entry])
    assert error.status_code == 403
    assert "Finance" in error.message  # the way out
    assert ExpenseSheet.objects.count() == sheets and sheet.entries.count() == 1


@pytest.mark.parametrize(
    "change", ["create a sheet for them", "add an entry", "edit an entry", "submit the sheet"]
)
def test_finance_changes_any_members_sheet(change):
    sheet = ExpenseSheetFactory()
    entry = _entry(sheet)
    events = audit_count()
    _changes_of_another_members_sheet(sheet, entry, finance_user())[change]()
    assert audit_count() > events


def test_reversing_a_sheet_leaves_its_other_batched_entries_locked_in_their_batch():
    sheet = _approved_sheet(entries=2)
    fixed, other = sheet.entries.order_by("pk")
    batch = put_in_batch(fixed)
    put_in_batch(other, batch=batch)
    _unbatch(fixed, batch)

    expense_sheet_reverse(actor=approver_user(), sheet=sheet)

    other.refresh_from_db()
    assert other.gl_batch == batch
    assert_refused(
        lambda: expense_entry_update(actor=sheet.member, entry=other, amount="1.00"),
        code="record_locked",
        records=[other],
    )
    expense_entry_update(actor=sheet.member, entry=fixed, amount="1.00")
    fixed.refresh_from_db()
    assert fixed.amount == Decimal("1.00")


def test_entries_follow_their_sheet_through_every_step():
    sheet = ExpenseSheetFactory()
    entry = _entry(sheet)
    approver = approver_user()
    steps = [
        (lambda: expense_sheet_submit(actor=sheet.member, sheet=sheet), False),
        (lambda: expense_sheet_approve(actor=approver, sheet=sheet), True),
        (lambda: expense_sheet_reverse(actor=approver, sheet=sheet), False),
        (lambda: expense_sheet_submit(actor=sheet.member, sheet=sheet), False),
        (lambda: expense_sheet_approve(actor=approver, sheet=sheet), True),
    ]
    for step, approved in steps:
        step()
        entry.refresh_from_db()
        assert entry.is_approved is approved


def test_fix_after_batching_unbatch_reverse_edit_submit_approve():
    entry = approved_expense()
    sheet = entry.sheet
    approver = approver_user()
    batch = put_in_batch(entry)
    _unbatch(entry, batch)

    expense_sheet_reverse(actor=approver, sheet=sheet)
    expense_entry_update(actor=sheet.member, entry=entry, amount="38.00")
    expense_sheet_submit(actor=sheet.member, sheet=sheet)
    expense_sheet_approve(actor=approver, sheet=sheet)

    entry.refresh_from_db()
    assert (entry.amount, entry.is_approved, entry.gl_batch, entry.original_batch) == (
        Decimal("38.00"),
        True,
        None,
        batch,
    )
    actions = list(
        AuditEvent.objects.filter(record_type="expense", record_id=entry.pk).values_list(
            "action", flat=True
        )
    )
    assert actions == ["created", "sheet_approved", "sheet_reversed", "edited", "sheet_approved"]
