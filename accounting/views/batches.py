"""Finance > Accounting Interface > Open Batches: the batch list and its Actions, and
a batch's page (progress, file, items, checklist, the actions it offers)."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_POST

from accounting import selectors, services
from accounting.exporters.downloads import batch_file_download, checklist_download, write_checklist
from accounting.forms import BatchActionForm
from accounting.models import BatchStatus, GLBatch, TransferState
from accounting.postables import get_kind, kinds
from accounting.views.common import CLOSE, DELETE, REOPEN, VIEW, batch_or_404, interface_tabs
from psa import web
from psa.errors import ApplicationError

BATCH_STATUS_FILTERS = [
    ("open", "Open"),
    ("closed", "Closed"),
    ("deleted", "Deleted"),
    ("all", "All"),
]
SPLIT_SHOWN = 100  # rows of each part of a deleted batch's split shown on its page


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
            "tabs": interface_tabs("batches"),
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
                "tabs": interface_tabs("batches"),
                "action": action,
                "batches": batches,
                "summaries": selectors.batch_summaries([batch.pk for batch in batches]),
                "waiting": waiting,
                "next": back,
            },
        )
    done = []
    for batch in batches:
        try:
            if action == BatchActionForm.DELETE:
                services.batch_delete(actor=request.user, batch_id=batch.pk)
            else:
                services.batch_close(actor=request.user, batch_id=batch.pk)
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
        "polling": batch.current_transfer_state
        in (TransferState.QUEUED, TransferState.RUNNING, TransferState.WAITING),
        "progress_url": reverse("accounting:batch_progress", args=[batch.pk]),
        "file_url": reverse("accounting:batch_file", args=[batch.pk]) if batch.file else "",
    }


@login_required
@permission_required(VIEW, raise_exception=True)
def batch_detail(request: HttpRequest, batch_id: int) -> HttpResponse:
    batch = batch_or_404(batch_id)
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
        "tabs": interface_tabs("batches"),
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
    batch = batch_or_404(batch_id)
    return render(request, "accounting/partials/transfer_progress.html", _transfer_context(batch))


@login_required
@permission_required(VIEW, raise_exception=True)
def batch_file(request: HttpRequest, batch_id: int) -> HttpResponse:
    batch = batch_or_404(batch_id)
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
    batch = batch_or_404(batch_id)
    name, content_type = checklist_download(
        batch_identifier=batch.batch_identifier, batch_pk=batch.pk
    )
    response = HttpResponse(content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, name)
    write_checklist(selectors.batch_resend_checklist(batch), response)
    return response
