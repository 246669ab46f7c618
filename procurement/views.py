"""Procurement > Purchase Orders, the purchase order page (freight form, Products tab
with its GL Batch column) and the product page (Receiving Information: Closed box,
Receive / Unreceive). Views check input, call one service and render."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.db.models import Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from accounting import door
from accounting.door import more_actions
from core import listing, web
from core.errors import ApplicationError, NotFound
from procurement import selectors, services, steps
from procurement.forms import (
    ClosedBoxForm,
    ProductLineForm,
    PurchaseOrderForm,
    PurchaseOrderSearchForm,
    ReceiveForm,
)
from procurement.models import PurchaseOrder, PurchaseOrderLine
from procurement.postables import FreightKind, ProductKind

FREIGHT_TYPE = "freight"
PRODUCT_TYPE = "product"
# When freight and product lines are ready for accounting, and why not.
FREIGHT, PRODUCT = FreightKind(), ProductKind()
CHANGE_PO = "procurement.change_purchaseorder"
CHANGE_LINE = "procurement.change_purchaseorderline"


@login_required
@permission_required("procurement.view_purchaseorder", raise_exception=True)
def po_list(request: HttpRequest) -> HttpResponse:
    form = PurchaseOrderSearchForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    export = listing.wants_export(request)
    wanted = request.GET.get("go", "").strip()
    if wanted and not export:
        # The "Open" box: an exact document number opens that record.
        found = selectors.purchase_order_by_number(wanted)
        if found is not None:
            return redirect("procurement:po_detail", found)
        messages.info(
            request,
            f"No purchase order is numbered {wanted}: check the number, or search by part of it.",
        )
    orders = selectors.purchase_order_search(
        number=filters.get("number", ""),
        vendor=filters.get("vendor", ""),
        status=filters.get("status", ""),
        freight_gl_batch=filters.get("freight_gl_batch", ""),
    )
    orders = listing.apply_ranges(orders, filters, date_field="date", amount_field="freight_amount")
    result = listing.search_list(
        request,
        orders,
        filters,
        columns=SEARCH_COLUMNS,
        default=("date", True),
        amount_field="freight_amount",
        export=export,
    )
    if export:
        return web.csv_download(
            "purchase-orders.csv",
            ["PO", "Date", "Vendor", "Status", "Product lines", "Freight", "Freight GL batch"],
            (
                [
                    order.number,
                    order.date,
                    order.vendor.name,
                    order.get_status_display(),
                    order.line_count,
                    order.freight_amount,
                    order.freight_gl_batch.batch_identifier if order.freight_gl_batch else "",
                ]
                for order in result.rows.iterator(chunk_size=2000)
            ),
        )
    return render(
        request,
        "procurement/po_list.html",
        {
            "form": form,
            "orders": result.page.object_list,
            **result.context(),
        },
    )


SEARCH_COLUMNS = [
    listing.Column("number", "PO", "number"),
    listing.Column("date", "Date", "date"),
    listing.Column("vendor", "Vendor", "vendor__name"),
    listing.Column("freight", "Freight", "freight_amount"),
]


def freight_state(order: PurchaseOrder, trail: list) -> web.RecordState:
    reference = FREIGHT.reference(order)
    state = web.batch_state(
        reference=reference,
        batch=order.freight_gl_batch,
        original_batch=order.freight_original_batch,
        trail=trail,
    )
    if state is not None and order.freight_gl_batch is not None:
        state.headline = f"Freight: {state.headline[0].lower()}{state.headline[1:]}"
        return state
    if state is not None:  # freight unbatched
        state.headline = f"Freight: {state.headline[0].lower()}{state.headline[1:]}"
        if order.is_open():
            state.detail = (
                "The purchase order is open: edit the freight, then set the status to closed "
                "and save. Then MORE > Rebatch, or send it from the Accounting Interface."
            )
        else:
            state.headline = state.headline.replace("; editable", "; purchase order closed")
            state.tone = "ready"
            state.detail = (
                "Set the purchase order to open and save to edit the freight, or MORE > "
                f"Rebatch to put it back into {order.freight_original_batch.batch_identifier}."
            )
        return state
    if order.is_open():
        return web.RecordState(
            "Purchase order open; editable",
            "The freight is ready for accounting once the purchase order is closed.",
            "editable",
        )
    if order.freight_amount:
        return web.RecordState(
            "Purchase order closed; freight not in a batch, waiting on the Accounting Interface",
            "To edit the freight, set the purchase order to open and save first.",
            "ready",
        )
    return web.RecordState("Purchase order closed; no freight to post", "", "neutral")


def _po_or_404(purchase_order_id: int) -> PurchaseOrder:
    try:
        return selectors.purchase_order_header(purchase_order_id=purchase_order_id)
    except NotFound as error:
        raise Http404(error.message) from None


def _po_fixed_fields(order: PurchaseOrder, blocking_tax: int) -> list[str]:
    """The fields of the order's form the user may not change now."""
    if order.freight_gl_batch_id is not None:
        return list(PurchaseOrderForm.base_fields)
    if not order.is_open():
        return ["freight_amount", "freight_gl_account", "tax_code"]
    return ["tax_code"] if blocking_tax else []


@login_required
@permission_required("procurement.view_purchaseorder", raise_exception=True)
@require_http_methods(["GET", "POST"])
def po_detail(request: HttpRequest, purchase_order_id: int) -> HttpResponse:
    order = _po_or_404(purchase_order_id)
    tab = "products" if request.GET.get("tab") == "products" else "order"
    freight_locked = order.freight_gl_batch_id is not None
    lines = selectors.purchase_order_line_list(filters={"purchase_order": order.pk})
    blocking_tax = selectors.lines_blocking_tax_change(purchase_order_id=order.pk).count()
    initial = {
        "status": order.status,
        "freight_amount": order.freight_amount,
        "freight_gl_account": order.freight_gl_account,
        "tax_code": order.tax_code,
    }
    form = PurchaseOrderForm(request.POST if request.method == "POST" else None, initial=initial)
    web.disable(form, _po_fixed_fields(order, blocking_tax))
    if request.method == "POST" and (
        web.allowed(request, CHANGE_PO, "edit purchase orders") and form.is_valid()
    ):
        try:
            services.purchase_order_update(
                actor=request.user, purchase_order=order, **web.changeable_data(form)
            )
        except ApplicationError as error:
            web.refuse(request, error)
            web.field_errors_to_form(form, error)
        else:
            messages.success(request, f"Purchase order {order.number} saved.")
            return redirect("procurement:po_detail", order.pk)
    if order.freight_gl_batch_id is not None and not order.is_open():
        reopen = steps.reopen_refusal(order)
        if reopen is not None:  # why its status cannot go back to open
            form.fields["status"].help_text = reopen.message

    context: dict[str, Any] = {
        "order": order,
        "tab": tab,
        "form": form,
        "freight_locked": freight_locked,
        "blocking_tax": blocking_tax,
        "can_edit": request.user.has_perm(CHANGE_PO),
    }
    if tab == "products":
        page = web.paginate(request, lines)
        # Every product of the order, not only the page's: before tax and with tax.
        sums = lines.aggregate(amount=Sum("amount"), total=Sum("total"))
        context.update(page_obj=page, lines=page.object_list, line_sums=sums)
    else:
        trail = list(door.audit_trail(record_type=FREIGHT_TYPE, record_id=order.pk))
        context.update(
            trail=trail,
            state=freight_state(order, trail),
            more_actions=more_actions(request, record_type=FREIGHT_TYPE, record=order),
            sent_change=door.sent_change(request, record_type=FREIGHT_TYPE, record=order),
        )
    return render(request, "procurement/po_detail.html", context)


# --- product lines ---------------------------------------------------------------------


def product_state(line: PurchaseOrderLine, trail: list) -> web.RecordState:
    reference = PRODUCT.reference(line)
    ready = PRODUCT.is_ready(line)
    state = web.batch_state(
        reference=reference, batch=line.gl_batch, original_batch=line.original_batch, trail=trail
    )
    if state is not None and line.gl_batch is not None:
        return state
    if state is not None:  # unbatched
        if ready:
            state.headline = state.headline.replace("; editable", "; received and closed")
            state.tone = "ready"
            state.detail = (
                "To edit it: clear the Closed box and save, then Unreceive. Or MORE > Rebatch "
                f"to put it back into {line.original_batch.batch_identifier}."
            )
        elif line.received:
            state.headline = state.headline.replace("; editable", "; received, Closed clear")
            state.tone = "neutral"
            state.detail = "Unreceive it to edit it, or tick Closed and save to finish it again."
        else:
            state.detail = (
                "Make the changes and save, then Receive (which ticks Closed). Then MORE > "
                "Rebatch, or send it from the Accounting Interface."
            )
        return state
    if ready:
        return web.RecordState(
            "Received and closed, not in a batch; waiting on the Accounting Interface",
            "To edit it: clear the Closed box and save, then Unreceive.",
            "ready",
        )
    if line.received:
        return web.RecordState(
            "Received, Closed box clear; not ready for accounting",
            "Tick Closed and save to make it ready, or Unreceive it to edit it.",
            "neutral",
        )
    return web.RecordState(
        "Not received; editable", "Ready for accounting once received and closed.", "editable"
    )


def _line_or_404(line_id: int) -> PurchaseOrderLine:
    try:
        return selectors.purchase_order_line_get(line_id=line_id)
    except NotFound as error:
        raise Http404(error.message) from None


@login_required
@permission_required("procurement.view_purchaseorderline", raise_exception=True)
@require_http_methods(["GET", "POST"])
def line_detail(request: HttpRequest, line_id: int) -> HttpResponse:
    line = _line_or_404(line_id)
    locked = line.gl_batch_id is not None
    editable = not locked and not line.closed and not line.received
    initial = {
        "description": line.description,
        "quantity": line.quantity,
        "unit_cost": line.unit_cost,
        "gl_account": line.gl_account,
    }
    form = ProductLineForm(request.POST if request.method == "POST" else None, initial=initial)
    web.disable(form, [] if editable else list(form.fields))
    if request.method == "POST" and (
        web.allowed(request, CHANGE_LINE, "edit product lines") and form.is_valid()
    ):
        try:
            services.purchase_order_line_update(
                actor=request.user, line=line, **web.changeable_data(form)
            )
        except ApplicationError as error:
            web.refuse(request, error)
            web.field_errors_to_form(form, error)
        else:
            messages.success(request, f"Product {line.pk} saved.")
            return redirect("procurement:line_detail", line.pk)
    trail = list(door.audit_trail(record_type=PRODUCT_TYPE, record_id=line.pk))
    closed_form = ClosedBoxForm(initial={"closed": line.closed})
    if locked or not line.received:
        closed_form.fields["closed"].disabled = True
    return render(
        request,
        "procurement/line_detail.html",
        {
            "line": line,
            "order": line.purchase_order,
            "form": form,
            "editable": editable,
            "locked": locked,
            "closed_form": closed_form,
            "receive_form": ReceiveForm(initial={"received_date": timezone.localdate()}),
            "line_steps": _line_steps(request, line),
            "can_edit": request.user.has_perm(CHANGE_LINE),
            "state": product_state(line, trail),
            "trail": trail,
            "more_actions": more_actions(request, record_type=PRODUCT_TYPE, record=line),
            "sent_change": door.sent_change(request, record_type=PRODUCT_TYPE, record=line),
        },
    )


def _line_steps(request: HttpRequest, line: PurchaseOrderLine) -> dict[str, dict[str, Any]]:
    """Receive and Unreceive as the line's page offers them: enabled when the service
    would accept the step, else with the sentence it would answer, or the role it
    needs."""
    may = request.user.has_perm(CHANGE_LINE)
    offered = {}
    for key, refusal in (
        ("receive", steps.receive_refusal(line)),
        ("unreceive", steps.unreceive_refusal(line)),
    ):
        reason = refusal.message if refusal else ("" if may else "Your role does not allow it.")
        offered[key] = {"enabled": not reason, "reason": reason}
    return offered


def _line_step(request: HttpRequest, line_id: int, step: str) -> HttpResponse:
    web.require(request, CHANGE_LINE, "receive or close product lines")
    line = PurchaseOrderLine.objects.filter(pk=line_id).first()
    if line is None:
        raise Http404(f"There is no product line with id {line_id}.")
    back = reverse("procurement:line_detail", args=[line.pk])
    try:
        if step == "closed":
            form = ClosedBoxForm(request.POST)
            form.is_valid()
            closed = form.cleaned_data.get("closed", False)
            services.purchase_order_line_update(actor=request.user, line=line, closed=closed)
            done = f"Product {line.pk}: Closed box {'ticked' if closed else 'cleared'}."
        elif step == "receive":
            form = ReceiveForm(request.POST)
            if not form.is_valid():
                messages.error(
                    request,
                    f"Product {line.pk} was not received: give the day the goods arrived in "
                    "Received on.",
                )
                return redirect(back)
            services.purchase_order_line_receive(
                actor=request.user, line=line, received_date=form.cleaned_data["received_date"]
            )
            done = f"Product {line.pk} received; its Closed box is ticked."
        else:
            services.purchase_order_line_unreceive(actor=request.user, line=line)
            done = f"Product {line.pk} unreceived; it can be edited now."
    except ApplicationError as error:
        web.refuse(request, error)
    else:
        messages.success(request, done)
    return redirect(back)


@login_required
@require_POST
def line_closed(request: HttpRequest, line_id: int) -> HttpResponse:
    return _line_step(request, line_id, "closed")


@login_required
@require_POST
def line_receive(request: HttpRequest, line_id: int) -> HttpResponse:
    return _line_step(request, line_id, "receive")


@login_required
@require_POST
def line_unreceive(request: HttpRequest, line_id: int) -> HttpResponse:
    return _line_step(request, line_id, "unreceive")
