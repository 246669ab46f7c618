"""Time & Expense > Expense Entry Search, the expense entry page (state, MORE menu,
edit form, Audit Trail with the GL batch) and the expense sheet page (submit,
approve, reverse). Views check input, call one service and render."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from accounting import door
from accounting.door import more_actions
from core import listing, web
from core.errors import ApplicationError, NotFound
from core.roles import sees_every_expense
from expenses import selectors, services, steps
from expenses.forms import ExpenseEntryForm, ExpenseEntrySearchForm
from expenses.models import ExpenseEntry, ExpenseSheet, SheetStatus
from expenses.postables import ExpenseKind

ENTRY_TYPE = "expense"
SHEET_TYPE = "expense_sheet"
KIND = ExpenseKind()  # when an entry is ready for accounting, and why not
APPROVE = "expenses.approve_expensesheet"


def _own_or_everyone(request: HttpRequest, sheet: ExpenseSheet) -> None:
    if not selectors.sheet_visible_to(request.user, sheet):
        raise Http404("There is no such expense sheet among yours.")


@login_required
@permission_required("expenses.view_expenseentry", raise_exception=True)
def entry_list(request: HttpRequest) -> HttpResponse:
    form = ExpenseEntrySearchForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    everyone = sees_every_expense(request.user)
    export = listing.wants_export(request)
    wanted = request.GET.get("go", "").strip()
    if wanted and not export:
        # The "Open" box: an exact document number opens that record.
        found = selectors.expense_entry_by_reference(actor=request.user, text=wanted)
        if found is not None:
            return redirect("expenses:entry_detail", found)
        messages.info(
            request,
            f"No expense entry of yours is {wanted}: type it as on the entry "
            "(Expense 17), or search by part of its description.",
        )
    entries = selectors.expense_entry_search(
        actor=request.user,
        member=filters.get("member", "") if everyone else "",
        sheet_status=filters.get("sheet_status", ""),
        gl_batch=filters.get("gl_batch", ""),
        text=filters.get("text", ""),
    )
    entries = listing.apply_ranges(entries, filters, date_field="date", amount_field="amount")
    result = listing.search_list(
        request,
        entries,
        filters,
        columns=SEARCH_COLUMNS,
        default=("date", True),
        amount_field="amount",
        export=export,
    )
    if export:
        return web.csv_download(
            "expense-entries.csv",
            [
                "Entry",
                "Date",
                "Member",
                "Type",
                "Description",
                "Amount",
                "Sheet status",
                "GL batch",
            ],
            (
                [
                    KIND.reference(entry),
                    entry.date,
                    entry.sheet.member.get_full_name() or entry.sheet.member.get_username(),
                    entry.expense_type.name,
                    entry.description,
                    entry.amount,
                    entry.sheet.get_status_display(),
                    entry.gl_batch.batch_identifier if entry.gl_batch else "",
                ]
                for entry in result.rows.iterator(chunk_size=2000)
            ),
        )
    return render(
        request,
        "expenses/entry_list.html",
        {
            "form": form,
            "entries": result.page.object_list,
            "everyone": everyone,
            **result.context(),
        },
    )


SEARCH_COLUMNS = [
    listing.Column("entry", "Entry", "id"),
    listing.Column("date", "Date", "date"),
    listing.Column("amount", "Amount", "amount"),
]


def entry_state(entry: ExpenseEntry, trail: list) -> web.RecordState:
    reference = KIND.reference(entry)
    sheet = entry.sheet
    state = web.batch_state(
        reference=reference, batch=entry.gl_batch, original_batch=entry.original_batch, trail=trail
    )
    if state is not None and entry.gl_batch is not None:
        return state
    if state is not None:  # unbatched
        if sheet.status == SheetStatus.APPROVED:
            state.headline = state.headline.replace("; editable", "; sheet approved")
            state.detail = (
                f"Reverse expense sheet {sheet.pk} (approved -> open) to edit it, or MORE > "
                f"Rebatch to put it back into {entry.original_batch.batch_identifier}."
            )
            state.tone = "ready"
        elif sheet.status == SheetStatus.SUBMITTED:
            state.headline = state.headline.replace("; editable", "; sheet submitted")
            state.detail = "Waiting for approval; once approved, MORE > Rebatch."
            state.tone = "neutral"
        else:
            state.detail = (
                f"Expense sheet {sheet.pk} is open: edit the entry, then submit and approve "
                "the sheet; then MORE > Rebatch, or send it from the Accounting Interface."
            )
        return state
    if sheet.status == SheetStatus.APPROVED:
        return web.RecordState(
            "Approved, not in a batch; waiting on the Accounting Interface",
            f"To edit it, reverse expense sheet {sheet.pk} first.",
            "ready",
        )
    if sheet.status == SheetStatus.SUBMITTED:
        return web.RecordState(
            "Sheet submitted; waiting for approval",
            "It cannot be edited while the sheet waits for approval.",
            "neutral",
        )
    return web.RecordState(
        "Sheet open; editable",
        "Not ready for accounting until its sheet is submitted and approved.",
        "editable",
    )


@login_required
@permission_required("expenses.view_expenseentry", raise_exception=True)
@require_http_methods(["GET", "POST"])
def entry_detail(request: HttpRequest, entry_id: int) -> HttpResponse:
    try:
        entry = selectors.expense_entry_get(entry_id=entry_id)
    except NotFound as error:
        raise Http404(error.message) from None
    _own_or_everyone(request, entry.sheet)
    editable = not entry.is_locked() and entry.sheet.is_open()
    theirs = steps.may_change(request.user, entry.sheet)
    can_edit = theirs and request.user.has_perm("expenses.change_expenseentry")
    initial = {
        "date": entry.date,
        "expense_type": entry.expense_type,
        "amount": entry.amount,
        "description": entry.description,
        "billable": entry.billable,
    }
    form = ExpenseEntryForm(request.POST if request.method == "POST" else None, initial=initial)
    web.disable(form, [] if editable and can_edit else list(form.fields))
    if request.method == "POST" and (
        web.allowed(request, "expenses.change_expenseentry", "edit expense entries")
        and form.is_valid()
    ):
        try:
            services.expense_entry_update(
                actor=request.user, entry=entry, **web.changeable_data(form)
            )
        except ApplicationError as error:
            web.refuse(request, error)
            web.field_errors_to_form(form, error)
        else:
            messages.success(request, f"Expense {entry.pk} saved.")
            return redirect("expenses:entry_detail", entry.pk)
    trail = list(door.audit_trail(record_type=ENTRY_TYPE, record_id=entry.pk))
    return render(
        request,
        "expenses/entry_detail.html",
        {
            "entry": entry,
            "form": form,
            "editable": editable,
            "can_edit": can_edit,
            "theirs": theirs,
            "state": entry_state(entry, trail),
            "trail": trail,
            "more_actions": more_actions(request, record_type=ENTRY_TYPE, record=entry),
            "sent_change": door.sent_change(request, record_type=ENTRY_TYPE, record=entry),
        },
    )


def _sheet_buttons(request: HttpRequest, sheet: ExpenseSheet) -> list[dict]:
    """The step of the sheet's status (submit an open one, approve a submitted one,
    reverse an approved one), enabled when its service would accept it, else disabled
    with the sentence its service would answer, or the role it needs."""
    user = request.user
    step = {
        SheetStatus.OPEN: (
            "submit",
            "Submit",
            steps.submit_refusal,
            "Your role does not allow it.",
        ),
        SheetStatus.SUBMITTED: (
            "approve",
            "Approve",
            steps.approve_refusal,
            "Approving needs the Approver role.",
        ),
        SheetStatus.APPROVED: (
            "reverse",
            "Reverse (approved → open)",
            steps.reverse_refusal,
            "Reversing needs the Approver role.",
        ),
    }.get(sheet.status)
    if step is None:
        return []
    key, label, predicate, role_reason = step
    _service, permission, _done = _SHEET_SERVICES[key]
    refusal = predicate(user, sheet)
    if refusal is not None:
        reason = refusal.message
    elif not user.has_perm(permission):
        reason = role_reason
    else:
        reason = ""
    return [
        {
            "key": key,
            "label": label,
            "enabled": not reason,
            "reason": reason,
            "url": reverse(f"expenses:sheet_{key}", args=[sheet.pk]),
        }
    ]


@login_required
@permission_required("expenses.view_expensesheet", raise_exception=True)
def sheet_detail(request: HttpRequest, sheet_id: int) -> HttpResponse:
    try:
        sheet = selectors.expense_sheet_get(sheet_id=sheet_id)
    except NotFound as error:
        raise Http404(error.message) from None
    _own_or_everyone(request, sheet)
    entries = list(sheet.entries.all())
    trail = list(door.audit_trail(record_type=SHEET_TYPE, record_id=sheet.pk))
    batched = sum(1 for entry in entries if entry.gl_batch_id)
    return render(
        request,
        "expenses/sheet_detail.html",
        {
            "sheet": sheet,
            "entries": entries,
            "total": sum((entry.amount for entry in entries), 0),
            "batched": batched,
            "buttons": _sheet_buttons(request, sheet),
            "trail": trail,
        },
    )


_SHEET_SERVICES = {
    "submit": (services.expense_sheet_submit, "expenses.change_expensesheet", "submitted"),
    "approve": (services.expense_sheet_approve, APPROVE, "approved"),
    "reverse": (services.expense_sheet_reverse, APPROVE, "reversed; it is open again"),
}


def _sheet_step(request: HttpRequest, sheet_id: int, step: str) -> HttpResponse:
    service, permission, done = _SHEET_SERVICES[step]
    web.require(request, permission, f"{step} expense sheets")
    sheet = ExpenseSheet.objects.filter(pk=sheet_id).first()
    if sheet is None:
        raise Http404(f"There is no expense sheet with id {sheet_id}.")
    _own_or_everyone(request, sheet)
    back = web.next_url(request, reverse("expenses:sheet_detail", args=[sheet.pk]))
    try:
        service(actor=request.user, sheet=sheet)
    except ApplicationError as error:
        web.refuse(request, error)
    else:
        messages.success(request, f"Expense sheet {sheet.pk} {done}.")
    return redirect(back)


@login_required
@require_POST
def sheet_submit(request: HttpRequest, sheet_id: int) -> HttpResponse:
    return _sheet_step(request, sheet_id, "submit")


@login_required
@require_POST
def sheet_approve(request: HttpRequest, sheet_id: int) -> HttpResponse:
    return _sheet_step(request, sheet_id, "approve")


@login_required
@require_POST
def sheet_reverse(request: HttpRequest, sheet_id: int) -> HttpResponse:
    return _sheet_step(request, sheet_id, "reverse")
