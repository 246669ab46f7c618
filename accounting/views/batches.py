"""Finance > Accounting Interface > Open Batches: the batch list and its Actions, and
a batch's page (progress, file, items, checklist, the actions it offers)."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_POST

from accounting import selectors, services
from accounting.exporters.downloads import batch_file_download, checklist_download, write_checklist
from accounting.forms import BatchActionForm
from accounting.models import BatchStatus, GLBatch, TransferState
from accounting.postables import get_kind, kinds, record_title
from accounting.steps import batch_refusals, retry_refusal
from accounting.views.common import (
    CLOSE,
    DELETE,
    REOPEN,
    TRANSFER,
    VIEW,
    batch_or_404,
    interface_tabs,
    step_action,
)
from core import web
from core.errors import ApplicationError

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
        summaries = selectors.batch_summaries([batch.pk for batch in batches])
        # Said up front: a batch with records unbatched from it will be refused.
        blocked = [
            {
                "batch": batch,
                "items": [
                    {**ref.as_item(), "url": web.record_url(ref.type, ref.id)}
                    for ref in selectors.batch_unbatched_refs(batch)
                ],
            }
            for batch in batches
            if summaries[batch.pk]["unbatched"]
        ]
        return render(
            request,
            "accounting/batch_action_confirm.html",
            {
                "tabs": interface_tabs("batches"),
                "action": action,
                "batches": batches,
                "summaries": summaries,
                "blocked": blocked,
                "all_blocked": len(blocked) == len(batches),
                "waiting": waiting,
                "next": back,
            },
        )
    done: list[GLBatch] = []
    for batch in batches:
        try:
            if action == BatchActionForm.DELETE:
                services.batch_delete(actor=request.user, batch_id=batch.pk)
            else:
                services.batch_close(actor=request.user, batch_id=batch.pk)
        except ApplicationError as error:
            web.refuse(request, error)
        else:
            done.append(batch)
    if done:
        links = format_html_join(
            ", ",
            '<a href="{}">{}</a>',
            (
                (reverse("accounting:batch_detail", args=[batch.pk]), batch.batch_identifier)
                for batch in done
            ),
        )
        if action == BatchActionForm.DELETE:
            messages.success(
                request,
                format_html(
                    "Deleted {}. Their records are unposted and can be edited. Note the batch "
                    "ID: on the deleted batch's page ({}, also under Open Batches &gt; "
                    "Deleted) you can re-record the unchanged records under it without "
                    "sending them again.",
                    links,
                    links,
                ),
            )
        else:
            messages.success(request, format_html("Closed {}.", links))
    return redirect(back)


# --- one batch ---------------------------------------------------------------------------


def _batch_item_rows(batch: GLBatch, kind, request: HttpRequest):
    """One page of a batch's items of one kind: in the batch, or unbatched from it."""
    page = web.paginate(request, selectors.batch_item_rows(kind, batch.pk))
    items = [
        {
            **selectors.batch_item(kind, record, batch.pk),
            "title": record_title(kind, record),
            "url": web.record_url(kind.type, record.pk),
        }
        for record in page.object_list
    ]
    return page, items


def _transfer_context(request: HttpRequest, batch: GLBatch) -> dict[str, Any]:
    return {
        "batch": batch,
        "retry": _retry_action(request, batch),
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
            "label": kind.plural_label,
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
        **_transfer_context(request, batch),
    }
    split = None
    if batch.status == BatchStatus.DELETED:
        split = selectors.deleted_batch_changes(batch)
        for group in split.values():
            for item in group:
                item["url"] = web.record_url(item["type"], item["id"])
        context["split"] = {name: group[:SPLIT_SHOWN] for name, group in split.items()}
        context["split_counts"] = {name: len(group) for name, group in split.items()}
        context["rerecordable"] = len(selectors.rerecordable(split))
        context["successor"] = selectors.batch_holding(batch.batch_identifier)
    refusals = batch_refusals(batch, request.user, split)
    context["actions"] = batch_actions(request, batch, refusals)
    if batch.status == BatchStatus.DELETED and request.user.has_perm(TRANSFER):
        context["rerecord"] = _action(batch, "rerecord", "", refusals["rerecord"])
    return render(request, "accounting/batch_detail.html", context)


def _action(batch: GLBatch, key: str, label: str, refusal, style: str = "secondary") -> dict:
    url = reverse(f"accounting:batch_{key}", args=[batch.pk])
    return {**step_action(key, label, url, refusal), "style": style}


def batch_actions(
    request: HttpRequest, batch: GLBatch, refusals: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """The page's buttons for the user's role: Close and Delete on an open batch,
    Reopen on a closed one, each enabled when its service would accept it, else
    disabled with the sentence its service would answer (`refusals`: the batch's
    `batch_refusals`, when the caller has them)."""
    user = request.user
    if batch.status == BatchStatus.DELETED:
        return []
    if refusals is None:
        refusals = batch_refusals(batch, user)
    shown = []
    if batch.status == BatchStatus.OPEN:
        shown += [
            ("close", "Close batch", CLOSE, "secondary"),
            ("delete", "Delete batch", DELETE, "danger"),
        ]
    if batch.status == BatchStatus.CLOSED:
        shown.append(("reopen", "Reopen batch", REOPEN, "secondary"))
    return [
        _action(batch, key, label, refusals[key], style)
        for key, label, permission, style in shown
        if user.has_perm(permission)
    ]


def _retry_action(request: HttpRequest, batch: GLBatch) -> dict[str, Any] | None:
    """Retry, offered with a failed or interrupted transfer of a batch not deleted."""
    if not request.user.has_perm(TRANSFER):
        return None
    action = _action(batch, "retry", "Retry the transfer", retry_refusal(batch))
    return action if action["enabled"] else None


@login_required
@permission_required(VIEW, raise_exception=True)
def batch_progress(request: HttpRequest, batch_id: int) -> HttpResponse:
    """The transfer card alone, polled every second while the transfer runs."""
    batch = batch_or_404(batch_id)
    context = _transfer_context(request, batch)
    if not context["polling"]:
        # The last poll: the transfer is over, so the page's buttons change (Close is
        # offered once the transfer is done); they come along, swapped in out of band.
        context["actions"] = batch_actions(request, batch)
        context["actions_oob"] = True
    return render(request, "accounting/partials/transfer_progress.html", context)


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
