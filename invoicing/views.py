"""Finance > Invoice Search and the invoice page (state, MORE menu, edit form, audit
trail). Views check input, call one service and render; refusals become messages."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounting import door
from accounting.door import GLAccount, GLAccountType, more_actions
from core import listing, web
from core.errors import ApplicationError, NotFound
from invoicing import selectors, services, steps
from invoicing.forms import InvoiceForm, InvoiceLineFormSet, InvoiceSearchForm
from invoicing.models import Invoice
from invoicing.postables import InvoiceKind

RECORD_TYPE = "invoice"
KIND = InvoiceKind()  # when an invoice is ready for accounting, and why not


@login_required
@permission_required("invoicing.view_invoice", raise_exception=True)
def invoice_list(request: HttpRequest) -> HttpResponse:
    statuses = list(selectors.invoice_status_list())
    form = InvoiceSearchForm(request.GET or None, statuses=statuses)
    filters = form.cleaned_data if form.is_valid() else {}
    export = listing.wants_export(request)
    wanted = request.GET.get("go", "").strip()
    if wanted and not export:
        # The "Open" box: an exact document number opens that record.
        found = selectors.invoice_by_number(wanted)
        if found is not None:
            return redirect("invoicing:invoice_detail", found)
        messages.info(
            request, f"No invoice is numbered {wanted}: check the number, or search by part of it."
        )
    invoices = selectors.invoice_search(
        number=filters.get("number", ""),
        company=filters.get("company", ""),
        status=filters.get("status", ""),
        gl_batch=filters.get("gl_batch", ""),
        payment=filters.get("payment", ""),
    )
    invoices = listing.apply_ranges(invoices, filters, date_field="date", amount_field="total")
    result = listing.search_list(
        request,
        invoices,
        filters,
        columns=SEARCH_COLUMNS,
        default=("date", True),
        amount_field="total",
        export=export,
    )
    if export:
        return web.csv_download(
            "invoices.csv",
            ["Invoice", "Date", "Company", "Status", "Total", "GL batch"],
            (
                [
                    invoice.number,
                    invoice.date,
                    invoice.company.name,
                    invoice.status.name,
                    invoice.total,
                    invoice.gl_batch.batch_identifier if invoice.gl_batch else "",
                ]
                for invoice in result.rows.iterator(chunk_size=2000)
            ),
        )
    return render(
        request,
        "invoicing/invoice_list.html",
        {
            "form": form,
            "invoices": result.page.object_list,
            **result.context(),
        },
    )


SEARCH_COLUMNS = [
    listing.Column("number", "Invoice", "number"),
    listing.Column("date", "Date", "date"),
    listing.Column("company", "Company", "company__name"),
    listing.Column("total", "Total", "total"),
]


def invoice_state(invoice: Invoice, trail: list) -> web.RecordState:
    reference = KIND.reference(invoice)
    status = invoice.status
    ready = KIND.is_ready(invoice)
    state = web.batch_state(
        reference=reference,
        batch=invoice.gl_batch,
        original_batch=invoice.original_batch,
        trail=trail,
    )
    if state is not None and invoice.gl_batch is not None:
        return state
    if state is not None:  # unbatched
        if ready:
            state.headline = state.headline.replace("; editable", f"; status {status.name}")
            state.tone = "ready"
            state.detail = (
                f"Ready again. MORE > Rebatch puts it back into "
                f"{invoice.original_batch.batch_identifier} (nothing is sent), or send it in "
                "a new batch from the Accounting Interface. To edit it, set an open status "
                "and save first."
            )
        else:
            state.detail = (
                f"Status {status.name} is open: edit it, then set a closed status and save. "
                "Then MORE > Rebatch, or send it from the Accounting Interface."
            )
        return state
    if ready:
        return web.RecordState(
            f"Status {status.name}, not in a batch; waiting on the Accounting Interface",
            "It is ready to be sent. To edit it, set an open status and save first.",
            "ready",
        )
    return web.RecordState(
        f"Status {status.name} (open); editable",
        "Not ready for accounting until it has a closed status.",
        "editable",
    )


def _line_initial(invoice: Invoice) -> list[dict[str, Any]]:
    return [
        {
            "description": line.description,
            "quantity": line.quantity,
            "unit_price": line.unit_price,
            "gl_account": line.gl_account_id,
            "taxable": line.taxable,
        }
        for line in invoice.lines.all()
    ]


@login_required
@permission_required("invoicing.view_invoice", raise_exception=True)
@require_http_methods(["GET", "POST"])
def invoice_detail(request: HttpRequest, invoice_id: int) -> HttpResponse:
    try:
        invoice = selectors.invoice_get(invoice_id=invoice_id)
    except NotFound as error:
        raise Http404(error.message) from None
    locked = invoice.is_locked()
    details_editable = not locked and not invoice.status.is_closed
    line_ids = [line.gl_account_id for line in invoice.lines.all() if line.gl_account_id]
    accounts = {
        account.pk: account
        # Income accounts only; an account a line holds already stays offered.
        for account in GLAccount.objects.filter(
            Q(is_active=True, type=GLAccountType.INCOME) | Q(pk__in=line_ids)
        )
    }
    choices = [(pk, str(account)) for pk, account in accounts.items()]
    initial = {
        "status": invoice.status,
        "due_date": invoice.due_date,
        "tax_code": invoice.tax_code,
    }
    if request.method == "POST":
        form = InvoiceForm(request.POST, initial=initial, details_editable=details_editable)
        lines = (
            InvoiceLineFormSet(
                request.POST, prefix="lines", form_kwargs={"account_choices": choices}
            )
            if details_editable
            else None
        )
        if (
            web.allowed(request, "invoicing.change_invoice", "edit invoices")
            and form.is_valid()
            and (lines is None or lines.is_valid())
        ):
            fields: dict[str, Any] = {"status": form.cleaned_data["status"]}
            if lines is not None:
                fields["due_date"] = form.cleaned_data["due_date"]
                fields["tax_code"] = form.cleaned_data["tax_code"]
                fields["lines"] = [
                    {
                        "description": line["description"],
                        "quantity": line["quantity"],
                        "unit_price": line["unit_price"],
                        "gl_account": accounts.get(line["gl_account"]),
                        "taxable": line["taxable"],
                    }
                    for line in lines.cleaned_data
                    if line and not line.get("DELETE")
                ]
            try:
                saved = services.invoice_update(actor=request.user, invoice=invoice, **fields)
            except ApplicationError as error:
                web.refuse(request, error)
                web.field_errors_to_form(form, error)
            else:
                messages.success(
                    request, f"Invoice {saved.number} saved; its status is {saved.status.name}."
                )
                return redirect("invoicing:invoice_detail", invoice.pk)
    else:
        form = InvoiceForm(initial=initial, details_editable=details_editable)
        lines = InvoiceLineFormSet(
            prefix="lines", initial=_line_initial(invoice), form_kwargs={"account_choices": choices}
        )
    refusal = steps.change_refusal(invoice) if locked else None
    if refusal is not None:
        form.fields["status"].disabled = True
        form.fields["status"].help_text = refusal.message

    trail = list(door.audit_trail(record_type=RECORD_TYPE, record_id=invoice.pk))
    return render(
        request,
        "invoicing/invoice_detail.html",
        {
            "invoice": invoice,
            "form": form,
            "lines": lines if details_editable else None,
            "locked": locked,
            "details_editable": details_editable,
            "can_edit": request.user.has_perm("invoicing.change_invoice"),
            "state": invoice_state(invoice, trail),
            "trail": trail,
            "more_actions": more_actions(request, record_type=RECORD_TYPE, record=invoice),
            "sent_change": door.sent_change(request, record_type=RECORD_TYPE, record=invoice),
        },
    )
