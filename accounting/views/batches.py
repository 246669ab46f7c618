"""Finance > Accounting Interface: the unposted tabs with the Creation part, Open
Batches, a batch's page (progress, file, items, actions), and MORE > Unbatch /
Rebatch of any record.

Each view checks its input, calls one service and renders; a refused step becomes a
message in the page. Accounting does not import the record apps: records are reached
through the registry of postable kinds, and linked to by URL name (`psa.web`).
"""

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_http_methods, require_POST

from accounting import selectors, services
from accounting.connectors import get_connector
from accounting.exporters.downloads import (
    batch_file_download,
    checklist_download,
    write_checklist,
)
from accounting.forms import (
    EVERYTHING,
    MATCHING,
    SELECTED,
    BatchActionForm,
    BatchCreateForm,
    UnpostedFilterForm,
)
from accounting.models import (
    AccountingSetup,
    BatchStatus,
    GLBatch,
    TransferMethod,
    TransferState,
)
from accounting.postables import get_kind, kinds
from psa import web
from psa.errors import ApplicationError

VIEW = "accounting.view_glbatch"
TRANSFER = "accounting.transfer_glbatch"
UNBATCH = "accounting.unbatch_record"
CLOSE = "accounting.close_glbatch"
DELETE = "accounting.delete_glbatch"
REOPEN = "accounting.reopen_glbatch"
BATCH_STATUS_FILTERS = [
    ("open", "Open"),
    ("closed", "Closed"),
    ("deleted", "Deleted"),
    ("all", "All"),
]
SPLIT_SHOWN = 100  # rows of each part of a deleted batch's split shown on its page


def _kind_or_404(record_type: str):
    try:
        return get_kind(record_type)
    except ApplicationError:
        raise Http404(f"There is no kind of record called {record_type}.") from None


def _batch_or_404(batch_id: int) -> GLBatch:
    batch = selectors.batch_list().select_related("closed_by", "deleted_by").filter(pk=batch_id)
    found = batch.first()
    if found is None:
        raise Http404(f"There is no GL batch with id {batch_id}.")
    return found


def _direct_available(setup: AccountingSetup) -> bool:
    try:
        return get_connector(setup.package, setup.options) is not None
    except ApplicationError:
        return False


# Tab badges count up to this many; past it they read "10,000+", so that a tab costs
# the same on a book of any size.
COUNT_CAP = 10_000


def _shown_count(count: int) -> str:
    return f"{COUNT_CAP:,}+" if count > COUNT_CAP else f"{count:,}"


def _tabs(active: str, counts: dict[str, int] | None = None) -> list[dict[str, Any]]:
    tabs = [
        {
            "key": kind.type,
            "label": web.RECORD_TYPE_LABELS.get(kind.type, kind.label),
            "url": reverse("accounting:unposted", args=[kind.type]),
            "count": _shown_count(counts[kind.type]) if counts else None,
        }
        for kind in kinds()
    ]
    tabs.append(
        {"key": "batches", "label": "Open Batches", "url": reverse("accounting:batch_list")}
    )
    for tab in tabs:
        tab["active"] = tab["key"] == active
    return tabs


# --- the unposted tabs and the Creation part ----------------------------------------


@login_required
@permission_required(VIEW, raise_exception=True)
def interface(request: HttpRequest) -> HttpResponse:
    return redirect("accounting:unposted", kinds()[0].type)


@login_required
@permission_required(VIEW, raise_exception=True)
@require_http_methods(["GET", "POST"])
def unposted(request: HttpRequest, record_type: str) -> HttpResponse:
    kind = _kind_or_404(record_type)
    source = request.POST if request.method == "POST" else request.GET
    filters = UnpostedFilterForm(source)
    thru_date = filters.cleaned_data.get("thru_date") if filters.is_valid() else None
    setup = selectors.accounting_setup()
    direct_available = _direct_available(setup)
    default_transfer = (
        TransferMethod.DIRECT if setup.direct_transfer and direct_available else TransferMethod.FILE
    )
    resend_items: list[dict[str, Any]] = []

    if request.method == "POST":
        form = BatchCreateForm(request.POST)
        if web.allowed(request, TRANSFER, "create and transfer GL batches") and form.is_valid():
            data = form.cleaned_data
            selection = data["selection"]
            try:
                batch = services.batch_create(
                    actor=request.user,
                    items=data["items"] if selection == SELECTED else None,
                    all_unposted=selection in (MATCHING, EVERYTHING),
                    types=[kind.type] if selection == MATCHING else None,
                    thru_date=data["thru_date"] if selection != SELECTED else None,
                    batch_identifier=data["batch_identifier"] or None,
                    transfer=data["transfer"],
                    confirm_resend=data["confirm_resend"],
                )
            except ApplicationError as error:
                web.refuse(request, error)
                web.field_errors_to_form(form, error)
                if error.code == "retransfer_unconfirmed":
                    resend_items = error.extra.get("items") or []
                    for item in resend_items:
                        item["url"] = web.record_url(item["type"], item["id"])
            else:
                messages.success(
                    request,
                    f"GL batch {batch.batch_identifier} created; its transfer "
                    f"({batch.get_transfer_method_display().lower()}) "
                    + (
                        "is under way."
                        if batch.transfer_queued_at
                        else "is queued: the task queue cannot be reached right now, and "
                        "the transfer starts by itself when it is back."
                    ),
                )
                return redirect("accounting:batch_detail", batch.pk)
    else:
        form = BatchCreateForm(
            initial={"transfer": default_transfer, "thru_date": thru_date, "selection": "selected"}
        )

    try:
        after, before = selectors.parse_unposted_cursor(request.GET.get("cursor", ""))
    except ValueError:  # none, or not a position: the first page
        after = before = None
    page = selectors.unposted_page(
        record_types=[kind.type],
        thru_date=thru_date,
        after=after,
        before=before,
        size=web.PAGE_SIZE,
    )
    records = selectors.unposted_items(
        record_type=kind.type, records=[record for _type, record in page.rows]
    )
    counts = {
        other.type: selectors.unposted_count(
            record_type=other.type, thru_date=thru_date, cap=COUNT_CAP
        )
        for other in kinds()
    }
    ticked = set(request.POST.getlist("items"))
    for record in records:
        record["url"] = web.record_url(record["type"], record["id"])
        record["ticked"] = f"{record['type']}:{record['id']}" in ticked
    return render(
        request,
        "accounting/unposted.html",
        {
            "kind": kind,
            "kind_label": web.RECORD_TYPE_LABELS.get(kind.type, kind.label),
            "tabs": _tabs(kind.type, counts),
            "filters": filters,
            "thru_date": thru_date,
            "page": page,
            "next_cursor": page.next_cursor or "",
            "previous_cursor": page.previous_cursor or "",
            "matching": _shown_count(counts[kind.type]),
            "records": records,
            "form": form,
            "setup": setup,
            "direct_available": direct_available,
            "resend_items": resend_items,
            "total_unposted": _shown_count(sum(counts.values())),
            "can_transfer": request.user.has_perm(TRANSFER),
        },
    )


# --- Open Batches ----------------------------------------------------------------------


@login_required
@permission_required(VIEW, raise_exception=True)
def batch_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status") or "open"
    if status not in dict(BATCH_STATUS_FILTERS):
        status = "open"
    batches = selectors.batch_list(status=None if status == "all" else status)
    page = web.paginate(request, batches, per_page=25)
    rows = list(page.object_list)
    summaries = selectors.batch_summaries([batch.pk for batch in rows])
    return render(
        request,
        "accounting/batch_list.html",
        {
            "tabs": _tabs("batches"),
            "page_obj": page,
            "rows": [(batch, summaries[batch.pk]) for batch in rows],
            "kinds": kinds(),
            "status": status,
            "status_filters": BATCH_STATUS_FILTERS,
            "action_form": BatchActionForm(),
        },
    )


@login_required
@permission_required(VIEW, raise_exception=True)
@require_POST
def batch_action(request: HttpRequest) -> HttpResponse:
    """Actions > Delete Batches / Close Batches: a confirmation, then the service for
    each ticked batch, each in its own transaction."""
    back = web.next_url(request, reverse("accounting:batch_list"))
    form = BatchActionForm(request.POST)
    if not form.is_valid():
        for problems in form.errors.values():
            for problem in problems:
                messages.error(request, problem)
        return redirect(back)
    action, batches = form.cleaned_data["action"], list(form.cleaned_data["batches"])
    permission, doing = (
        (DELETE, "delete GL batches")
        if action == BatchActionForm.DELETE
        else (CLOSE, "close GL batches")
    )
    web.require(request, permission, doing)
    if not form.cleaned_data["confirmed"]:
        waiting = sum(selectors.unposted_list(record_type=kind.type).count() for kind in kinds())
        return render(
            request,
            "accounting/batch_action_confirm.html",
            {
                "tabs": _tabs("batches"),
                "action": action,
                "batches": batches,
                "summaries": selectors.batch_summaries([batch.pk for batch in batches]),
                "waiting": waiting,
                "next": back,
            },
        )
    service = services.batch_delete if action == BatchActionForm.DELETE else services.batch_close
    done = []
    for batch in batches:
        try:
            service(actor=request.user, batch_id=batch.pk)
        except ApplicationError as error:
            web.refuse(request, error)
        else:
            done.append(batch.batch_identifier)
    if done:
        if action == BatchActionForm.DELETE:
            messages.success(
                request,
                f"Deleted {', '.join(done)}. Their records are unposted and can be edited. "
                "Note the batch ID: on the deleted batch's page you can re-record the "
                "unchanged records under it without sending them again.",
            )
        else:
            messages.success(request, f"Closed {', '.join(done)}.")
    return redirect(back)


# --- one batch ---------------------------------------------------------------------------


def _batch_item_rows(batch: GLBatch, kind, request: HttpRequest):
    """One page of a batch's items of one kind: in the batch, or unbatched from it."""
    page = web.paginate(request, selectors.batch_item_rows(kind, batch.pk))
    items = [
        {
            **selectors.batch_item(kind, record, batch.pk),
            "url": web.record_url(kind.type, record.pk),
        }
        for record in page.object_list
    ]
    return page, items


def _transfer_context(batch: GLBatch) -> dict[str, Any]:
    return {
        "batch": batch,
        "polling": batch.current_transfer_state in (TransferState.QUEUED, TransferState.RUNNING),
        "progress_url": reverse("accounting:batch_progress", args=[batch.pk]),
        "file_url": reverse("accounting:batch_file", args=[batch.pk]) if batch.file else "",
    }


@login_required
@permission_required(VIEW, raise_exception=True)
def batch_detail(request: HttpRequest, batch_id: int) -> HttpResponse:
    batch = _batch_or_404(batch_id)
    summary = selectors.batch_summaries([batch.pk])[batch.pk]
    item_tabs = [
        {
            "key": kind.type,
            "label": web.RECORD_TYPE_LABELS.get(kind.type, kind.label),
            "count": summary["counts"].get(kind.type, 0),
        }
        for kind in kinds()
    ]
    requested = request.GET.get("kind")
    active = next(
        (tab["key"] for tab in item_tabs if tab["key"] == requested),
        next((tab["key"] for tab in item_tabs if tab["count"]), item_tabs[0]["key"]),
    )
    page, items = _batch_item_rows(batch, get_kind(active), request)
    context: dict[str, Any] = {
        "tabs": _tabs("batches"),
        "summary": summary,
        "item_tabs": item_tabs,
        "active_kind": active,
        "page_obj": page,
        "items": items,
        "checklist": selectors.batch_resend_checklist(batch),
        "actions": _batch_actions(request, batch),
        **_transfer_context(batch),
    }
    if batch.status == BatchStatus.DELETED:
        split = selectors.deleted_batch_changes(batch)
        for group in split.values():
            for item in group:
                item["url"] = web.record_url(item["type"], item["id"])
        context["split"] = {name: group[:SPLIT_SHOWN] for name, group in split.items()}
        context["split_counts"] = {name: len(group) for name, group in split.items()}
        context["rerecordable"] = len(selectors.rerecordable(split))
        context["successor"] = selectors.batch_holding(batch.batch_identifier)
    return render(request, "accounting/batch_detail.html", context)


def _batch_actions(request: HttpRequest, batch: GLBatch) -> list[dict[str, Any]]:
    user = request.user
    actions = []
    if batch.status == BatchStatus.OPEN:
        if user.has_perm(CLOSE):
            actions.append({"key": "close", "label": "Close batch", "style": "secondary"})
        if user.has_perm(DELETE):
            actions.append({"key": "delete", "label": "Delete batch", "style": "danger"})
    if batch.status == BatchStatus.CLOSED and user.has_perm(REOPEN):
        actions.append({"key": "reopen", "label": "Reopen batch", "style": "secondary"})
    for action in actions:
        action["url"] = reverse(f"accounting:batch_{action['key']}", args=[batch.pk])
    return actions


@login_required
@permission_required(VIEW, raise_exception=True)
def batch_progress(request: HttpRequest, batch_id: int) -> HttpResponse:
    """The transfer card alone, polled every second while the transfer runs."""
    batch = _batch_or_404(batch_id)
    return render(request, "accounting/partials/transfer_progress.html", _transfer_context(batch))


@login_required
@permission_required(VIEW, raise_exception=True)
def batch_file(request: HttpRequest, batch_id: int) -> HttpResponse:
    batch = _batch_or_404(batch_id)
    if not batch.file:
        raise Http404(f"GL batch {batch.batch_identifier} has no export file yet.")
    name, content_type = batch_file_download(
        batch_identifier=batch.batch_identifier,
        batch_pk=batch.pk,
        export_format=batch.export_format,
    )
    return FileResponse(
        batch.file.open("rb"), as_attachment=True, filename=name, content_type=content_type
    )


@login_required
@permission_required(VIEW, raise_exception=True)
def batch_checklist(request: HttpRequest, batch_id: int) -> HttpResponse:
    """The originals this batch replaced, as a CSV checklist to work through in the
    accounting package."""
    batch = _batch_or_404(batch_id)
    name, content_type = checklist_download(
        batch_identifier=batch.batch_identifier, batch_pk=batch.pk
    )
    response = HttpResponse(content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, name)
    write_checklist(selectors.batch_resend_checklist(batch), response)
    return response


_BATCH_CONFIRM = {
    "close": (
        CLOSE,
        "close GL batches",
        "Close GL batch {id}?",
        "Closing is final for users: the records stay posted and can no longer be "
        "unbatched. Only an administrator can reopen the batch.",
        True,
    ),
    "delete": (
        DELETE,
        "delete GL batches",
        "Delete GL batch {id}?",
        "Every record in it becomes unposted and editable again; the batch keeps its "
        "history and its ID becomes free. Note the batch ID {id}: after your edits you "
        "can re-record the unchanged records under it without sending them again.",
        True,
    ),
    "reopen": (
        REOPEN,
        "reopen GL batches",
        "Reopen GL batch {id}?",
        "Its records can be unbatched again. This is recorded in the audit trail.",
        False,
    ),
    "retry": (
        TRANSFER,
        "retry transfers",
        "Retry the transfer of GL batch {id}?",
        "The records already sent by this batch are not sent twice.",
        False,
    ),
    "rerecord": (
        TRANSFER,
        "re-record batches",
        "Re-record the unchanged records under {id}?",
        "A file-only batch with the original ID is created for your records. Nothing is "
        "sent: these records are in the accounting package already. Do not import its "
        "file.",
        False,
    ),
}

_BATCH_SERVICES = {
    "close": services.batch_close,
    "delete": services.batch_delete,
    "reopen": services.batch_reopen,
    "retry": services.batch_retry,
    "rerecord": services.batch_rerecord,
}


def _batch_step(request: HttpRequest, batch_id: int, step: str) -> HttpResponse:
    """GET: the OK confirmation (a panel for htmx, else a page). POST: the service."""
    permission, doing, title, text, danger = _BATCH_CONFIRM[step]
    web.require(request, permission, doing)
    batch = _batch_or_404(batch_id)
    detail = reverse("accounting:batch_detail", args=[batch.pk])
    if request.method == "GET":
        confirm = {
            "title": title.format(id=batch.batch_identifier),
            "text": text.format(id=batch.batch_identifier),
            "action": request.path,
            "next": detail,
            "danger": danger,
        }
        template = "partials/confirm.html" if request.htmx else "confirm_page.html"
        return render(request, template, {"confirm": confirm})
    try:
        result = _BATCH_SERVICES[step](actor=request.user, batch_id=batch.pk)
    except ApplicationError as error:
        web.refuse(request, error)
        return redirect(detail)
    words = {
        "close": f"Closed GL batch {batch.batch_identifier}.",
        "delete": f"Deleted GL batch {batch.batch_identifier}; its records are unposted and "
        "can be edited.",
        "reopen": f"Reopened GL batch {batch.batch_identifier}.",
        "retry": f"The transfer of GL batch {batch.batch_identifier} is queued again.",
        "rerecord": f"Re-recorded the unchanged records under {batch.batch_identifier} "
        "(file only; nothing was sent).",
    }
    messages.success(request, words[step])
    return redirect("accounting:batch_detail", result.pk)


def _batch_step_view(step: str):
    @login_required
    @permission_required(VIEW, raise_exception=True)
    @require_http_methods(["GET", "POST"])
    def view(request: HttpRequest, batch_id: int) -> HttpResponse:
        return _batch_step(request, batch_id, step)

    view.__name__ = f"batch_{step}"
    return view


batch_close = _batch_step_view("close")
batch_delete = _batch_step_view("delete")
batch_reopen = _batch_step_view("reopen")
batch_retry = _batch_step_view("retry")
batch_rerecord = _batch_step_view("rerecord")


# --- MORE > Unbatch / Rebatch of any record ----------------------------------------------


def _record_step(request: HttpRequest, record_type: str, record_id: int, step: str):
    web.require(request, UNBATCH, "unbatch or rebatch records")
    kind = _kind_or_404(record_type)
    record = kind.queryset().filter(pk=record_id).first()
    if record is None:
        raise Http404(f"There is no {kind.label.lower()} with id {record_id}.")
    reference = kind.reference(record)
    back = web.next_url(request, web.record_url(kind.type, record.pk) or reverse("home"))
    batch_id = getattr(record, f"{kind.batch_field}_id")
    original_id = getattr(record, f"{kind.original_batch_field}_id")
    if request.method == "GET":
        identifier = (
            GLBatch.objects.filter(pk=batch_id if step == "unbatch" else original_id)
            .values_list("batch_identifier", flat=True)
            .first()
        )
        if step == "unbatch":
            confirm = {
                "title": f"Unbatch {reference}?",
                "text": f"{reference} leaves GL batch {identifier or '(none)'} and can then be "
                "edited within its own status rules. The rest of the batch is not touched.",
                "note": "Nothing is removed from the accounting package. When you are done, "
                "MORE > Rebatch puts it back into the same batch, or send it in a new batch "
                "(remove the original from the package first).",
            }
        else:
            confirm = {
                "title": f"Rebatch {reference}?",
                "text": f"{reference} goes back into its original GL batch "
                f"{identifier or '(none)'}.",
                "note": "Nothing is sent to the accounting package: change the record there "
                "yourself if it needs the same correction.",
            }
        confirm.update({"action": request.path, "next": back, "danger": False})
        template = "partials/confirm.html" if request.htmx else "confirm_page.html"
        return render(request, template, {"confirm": confirm})
    service = services.record_unbatch if step == "unbatch" else services.record_rebatch
    try:
        updated = service(actor=request.user, record_type=kind.type, record_id=record.pk)
    except ApplicationError as error:
        web.refuse(request, error)
        return redirect(back)
    if step == "unbatch":
        identifier = getattr(updated, kind.original_batch_field).batch_identifier
        messages.success(
            request, f"{reference} is unbatched from {identifier} and can be edited now."
        )
    else:
        identifier = getattr(updated, kind.batch_field).batch_identifier
        messages.success(
            request, f"{reference} is back in GL batch {identifier}. Nothing was sent."
        )
    return redirect(back)


@login_required
@require_http_methods(["GET", "POST"])
def record_unbatch(request: HttpRequest, record_type: str, record_id: int) -> HttpResponse:
    return _record_step(request, record_type, record_id, "unbatch")


@login_required
@require_http_methods(["GET", "POST"])
def record_rebatch(request: HttpRequest, record_type: str, record_id: int) -> HttpResponse:
    return _record_step(request, record_type, record_id, "rebatch")


def more_actions(
    request: HttpRequest,
    *,
    record_type: str,
    record_id: int,
    batch: GLBatch | None,
    original_batch: GLBatch | None,
    ready: bool,
    not_ready_reason: str = "",
) -> list[dict[str, Any]]:
    """The MORE menu of a record page: Unbatch and Rebatch, each enabled only where it
    applies, with the reason when it does not."""
    here = urlencode({"next": request.get_full_path()})
    may = request.user.has_perm(UNBATCH)
    unbatch = {
        "label": "Unbatch",
        "url": f"{reverse('accounting:record_unbatch', args=[record_type, record_id])}?{here}",
        "enabled": False,
    }
    if batch is None:
        unbatch["reason"] = "It is in no batch."
    elif batch.status != BatchStatus.OPEN:
        unbatch["reason"] = (
            f"Batch {batch.batch_identifier} is {batch.get_status_display().lower()}."
        )
    elif batch.is_transferring():
        unbatch["reason"] = f"Batch {batch.batch_identifier} is being transferred."
    elif not may:
        unbatch["reason"] = "Your role does not allow it."
    else:
        unbatch["enabled"] = True
    rebatch = {
        "label": "Rebatch",
        "url": f"{reverse('accounting:record_rebatch', args=[record_type, record_id])}?{here}",
        "enabled": False,
    }
    if batch is not None:
        rebatch["reason"] = "It is in a batch."
    elif original_batch is None:
        rebatch["reason"] = "It was never unbatched; send it from the Accounting Interface."
    elif original_batch.status != BatchStatus.OPEN:
        rebatch["reason"] = (
            f"Its original batch {original_batch.batch_identifier} is "
            f"{original_batch.get_status_display().lower()}; send it in a new batch."
        )
    elif not ready:
        rebatch["reason"] = not_ready_reason or "Finish the record first."
    elif not may:
        rebatch["reason"] = "Your role does not allow it."
    else:
        rebatch["enabled"] = True
    return [unbatch, rebatch]
