"""Reads of expense sheets and entries for the API, the browser and accounting."""

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, Prefetch, Q, QuerySet, Sum

from core.errors import NotFound
from core.roles import sees_every_expense
from expenses.models import ExpenseEntry, ExpenseSheet, ExpenseType, SheetStatus

# --- who may see which expense ---------------------------------------------------------------
# Finance and Approvers (to approve them) see every member's expense sheets and entries;
# Staff see their own. The API's lists and lookups and the pages ask these three.


def visible_sheets(
    actor: AbstractBaseUser, sheets: QuerySet[ExpenseSheet] | None = None
) -> QuerySet[ExpenseSheet]:
    """The expense sheets `actor` may see, out of `sheets` (all of them by default)."""
    sheets = ExpenseSheet.objects.all() if sheets is None else sheets
    return sheets if sees_every_expense(actor) else sheets.filter(member_id=actor.pk)


def visible_entries(
    actor: AbstractBaseUser, entries: QuerySet[ExpenseEntry] | None = None
) -> QuerySet[ExpenseEntry]:
    """The expense entries `actor` may see (those of the sheets it may see), out of
    `entries` (all of them by default)."""
    entries = ExpenseEntry.objects.all() if entries is None else entries
    return entries if sees_every_expense(actor) else entries.filter(sheet__member_id=actor.pk)


def sheets_to_approve(actor: AbstractBaseUser) -> QuerySet[ExpenseSheet]:
    """The approver's queue: submitted sheets `actor` may see, the longest waiting first."""
    return (
        visible_sheets(actor)
        .filter(status=SheetStatus.SUBMITTED)
        .select_related("member")
        .annotate(entry_count=Count("entries"), total=Sum("entries__amount"))
        .order_by("submitted_at", "pk")
    )


def sheet_visible_to(actor: AbstractBaseUser, sheet: ExpenseSheet) -> bool:
    """Whether `actor` may see this sheet and its entries: the same rule as
    `visible_sheets`, for a sheet already read."""
    return sheet.member_id == actor.pk or sees_every_expense(actor)


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


def expense_entry_by_reference(*, actor: AbstractBaseUser, text: str) -> int | None:
    """The id of the entry `text` names exactly ("Expense 17", any case), among those
    `actor` may see, if any."""
    words = text.strip().lower()
    if not words.startswith("expense "):
        return None
    number = words.removeprefix("expense ").strip()
    if not number.isdigit():
        return None
    return (
        visible_entries(actor, ExpenseEntry.objects.filter(pk=int(number)))
        .order_by()
        .values_list("pk", flat=True)
        .first()
    )


def expense_entry_search(
    *,
    actor: AbstractBaseUser,
    member: str = "",
    sheet_status: str = "",
    gl_batch: str = "",
    text: str = "",
) -> QuerySet[ExpenseEntry]:
    """Time & Expense > Expense Entry Search: entries with their sheet and its status,
    newest first, among those `actor` may see (a Staff user sees only their own);
    `member` is part of a member's username or name; `text` part of the description or
    the entry number."""
    entries = visible_entries(
        actor,
        ExpenseEntry.objects.select_related(
            "sheet__member", "expense_type", "gl_batch", "original_batch"
        ),
    )
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
