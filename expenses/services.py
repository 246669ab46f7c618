"""Every write to expense sheets and entries: one function per action, one transaction.

A sheet moves open -> submitted -> approved, and is reversed approved -> open. Its
entries are editable only while it is open and they are in no GL batch. Each entry's
`is_approved` mirrors its sheet (approved or not), because "ready for accounting" is
that one indexed column; every status change here updates both in one transaction.

Locks: the sheet first, then its entries in primary key order, so these services and
the accounting workflows (which lock entries in primary key order) never deadlock.
"""

import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from accounting.door import (
    AuditEvent,
    audit_record,
    ensure_unlocked,
    field_changes,
    lock_rows,
    refuse,
    save_audited,
)
from core.errors import ApplicationError
from core.inputs import (
    UNSET,
    check_bool,
    check_date,
    check_description,
    check_instance,
    raise_if_errors,
)
from core.models import Company
from expenses.models import ExpenseEntry, ExpenseSheet, ExpenseType, SheetStatus
from expenses.steps import (
    SHEET_TYPE,
    acts_for,
    approve_refusal,
    ensure_may_change,
    reverse_refusal,
    sheet_item,
    sheet_reference,
    submit_refusal,
)

ENTRY_TYPE = "expense"


# Input checks -----------------------------------------------------------------------


def _amount(value: Any, errors: dict[str, list[str]]) -> Decimal | None:
    field = "amount"
    if isinstance(value, float | bool) or value is None:
        errors.setdefault(field, []).append(
            'Give a decimal amount such as "12.50" (a string or Decimal, never a float).'
        )
        return None
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        errors.setdefault(field, []).append(f"'{value}' is not a number.")
        return None
    if not number.is_finite() or number.as_tuple().exponent < -2:
        errors.setdefault(field, []).append("Give an amount with at most 2 decimal places.")
        return None
    if number <= 0:
        errors.setdefault(field, []).append("The amount must be more than zero.")
        return None
    if number >= Decimal(10) ** 18:
        errors.setdefault(field, []).append("The amount is too large.")
        return None
    return number


# Locks, refusals, audit -----------------------------------------------------------------


def _lock_sheet(sheet_id: int) -> ExpenseSheet:
    return (
        ExpenseSheet.objects.select_for_update(of=("self",))
        .select_related("member")
        .get(pk=sheet_id)
    )


def _refuse_unless_open(sheet: ExpenseSheet, doing: str) -> None:
    if sheet.status == SheetStatus.OPEN:
        return
    if sheet.status == SheetStatus.APPROVED:
        way_out = (
            "Reverse the sheet first (approved -> open), make the change, then submit and "
            "approve it again."
        )
    else:
        way_out = (
            "It is waiting for approval; once it is approved, reverse the sheet first "
            "(approved -> open), make the change, then submit and approve it again."
        )
    raise ApplicationError(
        f"{sheet_reference(sheet)} is {sheet.get_status_display().lower()}, so {doing}. " + way_out,
        code="record_not_open",
        extra={"items": [sheet_item(sheet)]},
    )


def _sheet_state(sheet: ExpenseSheet) -> dict[str, Any]:
    return {
        "member": sheet.member.get_username(),
        "period_start": sheet.period_start,
        "period_end": sheet.period_end,
        "status": sheet.status,
    }


def _entry_state(entry: ExpenseEntry) -> dict[str, Any]:
    return {
        "sheet": entry.sheet_id,
        "date": entry.date,
        "expense_type": entry.expense_type.code,
        "amount": f"{entry.amount:.2f}",
        "description": entry.description,
        "billable": entry.billable,
        "company": entry.company.identifier if entry.company else None,
        "is_approved": entry.is_approved,
    }


def _set_entries_approved(
    *, actor: AbstractBaseUser | None, sheet: ExpenseSheet, approved: bool, action: str
) -> list[int]:
    """Mirror the sheet's status on its entries in one UPDATE, and put the change in
    each entry's own audit trail (the one the entry's audit screen shows)."""
    entry_ids = lock_rows(ExpenseEntry.objects.filter(sheet_id=sheet.pk))
    ExpenseEntry.objects.filter(pk__in=entry_ids).update(is_approved=approved)
    now = timezone.now()
    AuditEvent.objects.bulk_create(
        AuditEvent(
            at=now,
            actor=actor,
            action=action,
            record_type=ENTRY_TYPE,
            record_id=entry_id,
            changes=field_changes({"is_approved": not approved}, {"is_approved": approved}),
        )
        for entry_id in entry_ids
    )
    return entry_ids


# Services ---------------------------------------------------------------------------


@transaction.atomic
def expense_sheet_create(
    *,
    actor: AbstractBaseUser | None,
    member: AbstractBaseUser,
    period_start: datetime.date,
    period_end: datetime.date,
) -> ExpenseSheet:
    """A new open expense sheet of `member` for a period."""
    member_id = getattr(member, "pk", None)
    if member_id is not None and not acts_for(actor, member_id):
        raise ApplicationError(
            "You can create expense sheets for yourself only; Finance can for anyone.",
            code="permission_denied",
            status_code=403,
        )
    errors: dict[str, list[str]] = {}
    if member_id is None:
        errors.setdefault("member", []).append("Choose the member whose expenses these are.")
    check_date(period_start, field="period_start", errors=errors)
    check_date(period_end, field="period_end", errors=errors)
    if not errors and period_end < period_start:
        errors.setdefault("period_end", []).append("The period cannot end before it starts.")
    raise_if_errors(errors, "expense sheet")

    sheet = ExpenseSheet.objects.create(
        member=member, period_start=period_start, period_end=period_end
    )
    audit_record(
        actor=actor,
        action="created",
        record_type=SHEET_TYPE,
        record_id=sheet.pk,
        changes=field_changes({}, _sheet_state(sheet)),
    )
    return sheet


@transaction.atomic
def expense_entry_create(
    *,
    actor: AbstractBaseUser | None,
    sheet: ExpenseSheet,
    date: datetime.date,
    expense_type: ExpenseType,
    amount: Decimal | str | int,
    description: str,
    billable: bool = False,
    company: Company | None = None,
) -> ExpenseEntry:
    """A new entry on an open sheet."""
    errors: dict[str, list[str]] = {}
    check_instance(sheet, ExpenseSheet, field="sheet", errors=errors, required=True)
    raise_if_errors(errors, "expense entry")
    locked_sheet = _lock_sheet(sheet.pk)
    ensure_may_change(actor, locked_sheet)
    check_date(date, field="date", errors=errors)
    check_instance(expense_type, ExpenseType, field="expense_type", errors=errors, required=True)
    parsed_amount = _amount(amount, errors)
    check_description(description, field="description", errors=errors, noun="expense")
    check_bool(billable, field="billable", errors=errors)
    check_instance(company, Company, field="company", errors=errors, required=False)
    raise_if_errors(errors, "expense entry")
    _refuse_unless_open(locked_sheet, "no entry can be added to it")

    entry = ExpenseEntry.objects.create(
        sheet=locked_sheet,
        date=date,
        expense_type=expense_type,
        amount=parsed_amount,
        description=description.strip(),
        billable=billable,
        company=company,
        is_approved=locked_sheet.status == SheetStatus.APPROVED,
    )
    audit_record(
        actor=actor,
        action="created",
        record_type=ENTRY_TYPE,
        record_id=entry.pk,
        changes=field_changes({}, _entry_state(entry)),
    )
    return entry


@transaction.atomic
def expense_entry_update(
    *,
    actor: AbstractBaseUser | None,
    entry: ExpenseEntry,
    date: datetime.date | None = None,
    expense_type: ExpenseType | None = None,
    amount: Decimal | str | int | None = None,
    description: str | None = None,
    billable: bool | None = None,
    company: Company | None = UNSET,
) -> ExpenseEntry:
    """Edit an entry: refused while it is in a GL batch or its sheet is not open.

    Arguments left out are not changed (`company=None` clears the company); values
    equal to the current ones are no change, so sending them back is never refused.
    """
    sheet_id = ExpenseEntry.objects.values_list("sheet_id", flat=True).get(pk=entry.pk)
    locked_sheet = _lock_sheet(sheet_id)
    locked = (
        ExpenseEntry.objects.select_for_update(of=("self",))
        .select_related("expense_type", "company", "sheet")
        .get(pk=entry.pk)
    )
    ensure_may_change(actor, locked_sheet)

    errors: dict[str, list[str]] = {}
    if date is not None:
        check_date(date, field="date", errors=errors)
    if expense_type is not None:
        check_instance(
            expense_type, ExpenseType, field="expense_type", errors=errors, required=True
        )
    parsed_amount = _amount(amount, errors) if amount is not None else None
    if description is not None:
        check_description(description, field="description", errors=errors, noun="expense")
    if billable is not None:
        check_bool(billable, field="billable", errors=errors)
    if company is not UNSET:
        check_instance(company, Company, field="company", errors=errors, required=False)
    raise_if_errors(errors, "expense entry")

    edits: dict[str, Any] = {}
    if date is not None and date != locked.date:
        edits["date"] = date
    if expense_type is not None and expense_type.pk != locked.expense_type_id:
        edits["expense_type"] = expense_type
    if parsed_amount is not None and parsed_amount != locked.amount:
        edits["amount"] = parsed_amount
    if description is not None and description.strip() != locked.description:
        edits["description"] = description.strip()
    if billable is not None and billable != locked.billable:
        edits["billable"] = billable
    if company is not UNSET and (company.pk if company else None) != locked.company_id:
        edits["company"] = company
    if not edits:
        return locked

    ensure_unlocked(record_type=ENTRY_TYPE, record=locked)
    _refuse_unless_open(locked_sheet, f"Expense {locked.pk} on it cannot be edited")

    save_audited(
        locked, edits, actor=actor, action="edited", record_type=ENTRY_TYPE, state=_entry_state
    )
    return locked


@transaction.atomic
def expense_sheet_submit(*, actor: AbstractBaseUser | None, sheet: ExpenseSheet) -> ExpenseSheet:
    """Open -> submitted; a sheet needs at least one entry."""
    locked = _lock_sheet(sheet.pk)
    refuse(submit_refusal(actor, locked))
    save_audited(
        locked,
        {"status": SheetStatus.SUBMITTED, "submitted_at": timezone.now()},
        actor=actor,
        action="submitted",
        record_type=SHEET_TYPE,
        state=_sheet_state,
    )
    return locked


@transaction.atomic
def expense_sheet_approve(*, actor: AbstractBaseUser, sheet: ExpenseSheet) -> ExpenseSheet:
    """Submitted -> approved, by someone other than the sheet's member; every entry on
    it becomes ready for accounting."""
    locked = _lock_sheet(sheet.pk)
    refuse(approve_refusal(actor, locked))
    entry_ids = _set_entries_approved(
        actor=actor, sheet=locked, approved=True, action="sheet_approved"
    )
    save_audited(
        locked,
        {"status": SheetStatus.APPROVED, "approved_at": timezone.now(), "approved_by": actor},
        actor=actor,
        action="approved",
        record_type=SHEET_TYPE,
        state=_sheet_state,
        noted={"entries": {"before": None, "after": entry_ids}},
    )
    return locked


@transaction.atomic
def expense_sheet_reverse(*, actor: AbstractBaseUser, sheet: ExpenseSheet) -> ExpenseSheet:
    """Approved -> open, so its entries can be edited once they are out of any batch.

    Entries still in a GL batch keep their batch and stay locked: reversing the sheet
    does not unbatch them.
    """
    locked = _lock_sheet(sheet.pk)
    refuse(reverse_refusal(actor, locked))
    entry_ids = _set_entries_approved(
        actor=actor, sheet=locked, approved=False, action="sheet_reversed"
    )
    save_audited(
        locked,
        {
            "status": SheetStatus.OPEN,
            "submitted_at": None,
            "approved_at": None,
            "approved_by": None,
        },
        actor=actor,
        action="reversed",
        record_type=SHEET_TYPE,
        state=_sheet_state,
        noted={"entries": {"before": None, "after": entry_ids}},
    )
    return locked
