"""Finance > Accounting Interface: the unposted tabs with the Creation part, where
GL batches are created and their transfer queued."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounting import selectors, services
from accounting.connectors import get_connector
from accounting.forms import EVERYTHING, MATCHING, SELECTED, BatchCreateForm, ListFilterForm
from accounting.models import AccountingSetup, TransferMethod
from accounting.postables import kinds, record_title
from accounting.views import common
from accounting.views.common import TRANSFER, VIEW, interface_tabs, kind_or_404, shown_count
from core import web
from core.errors import ApplicationError


def _direct_available(setup: AccountingSetup) -> bool:
    try:
        return get_connector(setup.package, setup.options) is not None
    except ApplicationError:
        return False


@login_required
@permission_required(VIEW, raise_exception=True)
def interface(request: HttpRequest) -> HttpResponse:
    return redirect("accounting:unposted", kinds()[0].type)


@login_required
@permission_required(VIEW, raise_exception=True)
@require_http_methods(["GET", "POST"])
def unposted(request: HttpRequest, record_type: str) -> HttpResponse:
    kind = kind_or_404(record_type)
    source = request.POST if request.method == "POST" else request.GET
    filters = ListFilterForm(source)
    chosen = filters.list_filters()
    thru_date = chosen.date_to
    sort, descending = filters.sorting()
    setup = selectors.accounting_setup()
    direct_available = _direct_available(setup)
    default_transfer = (
        TransferMethod.DIRECT if setup.direct_transfer and direct_available else TransferMethod.FILE
    )
    resend_items: list[dict[str, Any]] = []

    if request.method == "POST":
        form = BatchCreateForm(request.POST)
        if not filters.is_valid():
            messages.error(
                request,
                "The filters are not valid (see beside each field): correct or clear them "
                "first. Nothing was batched.",
            )
        elif web.allowed(request, TRANSFER, "create and transfer GL batches") and form.is_valid():
            data = form.cleaned_data
            selection = data["selection"]
            try:
                batch = services.batch_create(
                    actor=request.user,
                    items=data["items"] if selection == SELECTED else None,
                    all_unposted=selection in (MATCHING, EVERYTHING),
                    types=[kind.type] if selection == MATCHING else None,
                    thru_date=data["thru_date"] if selection != SELECTED else None,
                    filters=chosen if selection != SELECTED else None,
                    batch_identifier=data["batch_identifier"] or None,
                    transfer=data["transfer"],
                    confirm_resend=data["confirm_resend"],
                )
            except ApplicationError as error:
                web.refuse(request, error)
                web.field_errors_to_form(form, error)
                if error.code == "batch_identifier_in_use":
                    # Said again at the field, where the clerk types another ID.
                    form.add_error(
                        "batch_identifier",
                        "Already used by an open or closed batch: type another, or leave "
                        "it empty to have one generated.",
                    )
                if error.code == "retransfer_unconfirmed":
                    resend_items = error.extra.get("items") or []
                    for item in resend_items:
                        item["url"] = web.record_url(item["type"], item["id"])
            else:
                if batch.is_rerecord:
                    messages.success(
                        request,
                        f"These records are unchanged since they were sent in "
                        f"{batch.batch_identifier}, so they were re-recorded under it: "
                        "nothing was sent, and the file is for reference only (do not import "
                        "it: they are in the accounting package already).",
                    )
                    return redirect("accounting:batch_detail", batch.pk)
                messages.success(
                    request,
                    f"GL batch {batch.batch_identifier} created; its transfer "
                    f"({batch.get_transfer_method_display().lower()}) is followed on this page."
                    if batch.transfer_queued_at
                    else f"GL batch {batch.batch_identifier} created; its transfer is queued: "
                    "the task queue cannot be reached right now, and the transfer starts by "
                    "itself when it is back.",
                )
                return redirect("accounting:batch_detail", batch.pk)
    else:
        form = BatchCreateForm(
            initial={"transfer": default_transfer, "thru_date": thru_date, "selection": "selected"}
        )

    summary, counts = selectors.unposted_tab_counts(
        record_type=kind.type, filters=chosen, cap=common.COUNT_CAP
    )
    if (
        sort == "amount"
        and summary.capped
        and selectors.unposted_count(record_type=kind.type, filters=chosen, cap=common.SORT_CAP)
        > common.SORT_CAP
    ):
        # Sorting by amount reads every matching row: offered up to its cap only.
        messages.info(
            request,
            f"Sorting by amount takes {common.SORT_CAP:,} records or fewer: narrow the "
            "filters (a date range, a company) first. Sorted by date meanwhile.",
        )
        sort, descending = "date", False
    page = selectors.unposted_sorted_page(
        record_type=kind.type,
        filters=chosen,
        sort=sort,
        descending=descending,
        cursor=request.GET.get("cursor", ""),
        size=web.PAGE_SIZE,
    )
    records = selectors.unposted_items(record_type=kind.type, records=page.rows)
    ticked = set(request.POST.getlist("items"))
    titles = {record.pk: record_title(kind, record) for record in page.rows}
    urls = web.record_urls(kind.type, [record["id"] for record in records])
    for record in records:
        record["title"] = titles.get(record["id"], record["reference"])
        record["url"] = urls[record["id"]]
        record["ticked"] = f"{record['type']}:{record['id']}" in ticked
    total_count = sum(counts.values())
    return render(
        request,
        "accounting/unposted.html",
        {
            "kind": kind,
            "kind_label": kind.plural_label,
            "tabs": interface_tabs(kind.type, counts),
            "filters": filters,
            "thru_date": thru_date,
            "filtered": not chosen.is_empty(),
            "hidden_filters": [
                (name, source.get(name, ""))
                for name in (*ListFilterForm.FILTER_FIELDS, "sort", "order")
            ],
            "columns": web.sort_columns(
                request,
                [("date", "Date"), ("amount", "Amount")],
                current=sort,
                descending=descending,
            ),
            "export_url": web.export_url(request, "accounting:unposted_export", kind.type),
            "summary": summary,
            "page": page,
            "next_cursor": page.next_cursor or "",
            "previous_cursor": page.previous_cursor or "",
            "matching": shown_count(counts[kind.type]),
            "records": records,
            "form": form,
            "setup": setup,
            "direct_available": direct_available,
            "resend_items": resend_items,
            "total_unposted": shown_count(total_count),
            "can_transfer": request.user.has_perm(TRANSFER),
        },
    )


@login_required
@permission_required(VIEW, raise_exception=True)
def unposted_export(request: HttpRequest, record_type: str) -> HttpResponse:
    """The tab's list as a CSV file: every record the filters keep, in its sort order,
    streamed as it is read."""
    kind = kind_or_404(record_type)
    filters = ListFilterForm(request.GET)
    sort, descending = filters.sorting()
    return web.csv_download(
        f"unposted-{kind.plural_label.lower()}.csv",
        ["Kind", "Record", "Date", "Company, member or vendor", "Amount"],
        selectors.unposted_export_rows(
            record_type=kind.type,
            filters=filters.list_filters(),
            sort=sort,
            descending=descending,
        ),
    )
