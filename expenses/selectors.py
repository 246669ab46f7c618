"""Reads of expense sheets and entries for the API, the browser and accounting."""

from django.db.models import Prefetch, Q, QuerySet

from expenses.models import ExpenseEntry, ExpenseSheet, ExpenseType
from psa.errors import NotFound


def expense_entry_queryset() -> QuerySet[ExpenseEntry]:
    return ExpenseEntry.objects.select_related(
        "sheet__member", "expense_type", "company", "gl_batch", "original_batch"
    )


def expense_sheet_queryset() -> QuerySet[ExpenseSheet]:
    return ExpenseSheet.objects.select_related("member", "approved_by").prefetch_related(
        Prefetch(
            "entries",
            queryset=ExpenseEntry.objects.select_related(
                "expense_type", "company", "gl_batch", "original_batch"
            ),
        )
    )


def expense_sheet_get(*, sheet_id: int) -> ExpenseSheet:
    try:
        return expense_sheet_queryset().get(pk=sheet_id)
    except ExpenseSheet.DoesNotExist:
        raise NotFound(f"There is no expense sheet with id {sheet_id}.") from None


def expense_entry_get(*, entry_id: int) -> ExpenseEntry:
    try:
        return expense_entry_queryset().get(pk=entry_id)
    except ExpenseEntry.DoesNotExist:
        raise NotFound(f"There is no expense entry with id {entry_id}.") from None


def expense_type_list() -> QuerySet[ExpenseType]:
    return ExpenseType.objects.select_related("gl_account")


def expense_entry_search(
    *,
    member_id: int | None = None,
    member: str = "",
    sheet_status: str = "",
    gl_batch: str = "",
    text: str = "",
) -> QuerySet[ExpenseEntry]:
    """Time & Expense > Expense Entry Search: entries with their sheet and its status,
    newest first. `member_id` limits to one member's entries (a Staff user sees only
    their own); `member` is part of a member's username or name; `text` part of the
    description or the entry number."""
    entries = ExpenseEntry.objects.select_related(
        "sheet__member", "expense_type", "gl_batch", "original_batch"
    )
    if member_id is not None:
        entries = entries.filter(sheet__member_id=member_id)
    if member:
        name = member.strip()
        entries = entries.filter(
            Q(sheet__member__username__icontains=name)
            | Q(sheet__member__first_name__icontains=name)
            | Q(sheet__member__last_name__icontains=name)
        )
    if sheet_status:
        entries = entries.filter(sheet__status=sheet_status)
    if gl_batch:
        entries = entries.filter(
            Q(gl_batch__batch_identifier__iexact=gl_batch.strip())
            | Q(original_batch__batch_identifier__iexact=gl_batch.strip())
        )
    if text:
        words = text.strip()
        match = Q(description__icontains=words)
        if words.isdigit():
            match |= Q(pk=int(words))
        entries = entries.filter(match)
    return entries
