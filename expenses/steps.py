"""One predicate per step of an expense sheet (submit, approve, reverse): each returns
the refusal (an ApplicationError naming the sheet and the way out) or None. The
services raise what it returns; the sheet's page offers a step only when it returns
None, and shows its sentence otherwise."""

from typing import Any

from django.contrib.auth.models import AbstractBaseUser

from core.errors import ApplicationError
from core.roles import acts_for_everyone
from expenses.models import ExpenseSheet, SheetStatus

SHEET_TYPE = "expense_sheet"

Refusal = ApplicationError | None


def sheet_reference(sheet: ExpenseSheet) -> str:
    return f"Expense sheet {sheet.pk}"


def sheet_item(sheet: ExpenseSheet) -> dict[str, Any]:
    return {"type": SHEET_TYPE, "id": sheet.pk, "reference": sheet_reference(sheet)}


def _transition(sheet: ExpenseSheet, *, doing: str, needs: SheetStatus) -> Refusal:
    if sheet.status == needs:
        return None
    return ApplicationError(
        f"{sheet_reference(sheet)} is {sheet.get_status_display().lower()} and cannot be "
        f"{doing}; only a {needs.label.lower()} sheet can be. Refresh the sheet to see its "
        "current status.",
        code="invalid_transition",
        extra={"items": [sheet_item(sheet)]},
    )


def _own_sheet(sheet: ExpenseSheet, actor: AbstractBaseUser | None, doing: str) -> Refusal:
    if actor is not None and actor.pk == sheet.member_id:
        return ApplicationError(
            f"{sheet_reference(sheet)} is your own; you cannot {doing} it. Ask another "
            "approver to do it.",
            code="permission_denied",
            status_code=403,
            extra={"items": [sheet_item(sheet)]},
        )
    return None


def acts_for(actor: AbstractBaseUser | None, member_id: int | None) -> bool:
    """Members work on their own sheets and entries, Finance on everyone's. An Approver
    sees every sheet, to approve or reverse it, but changes only their own. (No actor:
    the system itself.)"""
    return actor is None or actor.pk == member_id or acts_for_everyone(actor)


def may_change(actor: AbstractBaseUser | None, sheet: ExpenseSheet) -> bool:
    return acts_for(actor, sheet.member_id)


def may_change_refusal(actor: AbstractBaseUser | None, sheet: ExpenseSheet) -> Refusal:
    """Members change their own sheets and entries, Finance everyone's."""
    if may_change(actor, sheet):
        return None
    return ApplicationError(
        f"{sheet_reference(sheet)} belongs to another member; only they or Finance can change it.",
        code="permission_denied",
        status_code=403,
        extra={"items": [sheet_item(sheet)]},
    )


def ensure_may_change(actor: AbstractBaseUser | None, sheet: ExpenseSheet) -> None:
    refusal = may_change_refusal(actor, sheet)
    if refusal is not None:
        raise refusal


def submit_refusal(actor: AbstractBaseUser | None, sheet: ExpenseSheet) -> Refusal:
    """Open -> submitted, by the member or Finance; a sheet needs at least one entry."""
    refusal = may_change_refusal(actor, sheet) or _transition(
        sheet, doing="submitted", needs=SheetStatus.OPEN
    )
    if refusal is None and not sheet.entries.exists():
        refusal = ApplicationError(
            f"{sheet_reference(sheet)} has no entries, so there is nothing to submit. "
            "Add at least one expense entry first.",
            code="invalid_transition",
            extra={"items": [sheet_item(sheet)]},
        )
    return refusal


def approve_refusal(actor: AbstractBaseUser | None, sheet: ExpenseSheet) -> Refusal:
    """Submitted -> approved, by someone other than the sheet's member."""
    return _own_sheet(sheet, actor, "approve") or _transition(
        sheet, doing="approved", needs=SheetStatus.SUBMITTED
    )


def reverse_refusal(actor: AbstractBaseUser | None, sheet: ExpenseSheet) -> Refusal:
    """Approved -> open, by someone other than the sheet's member."""
    return _own_sheet(sheet, actor, "reverse") or _transition(
        sheet, doing="reversed", needs=SheetStatus.APPROVED
    )
