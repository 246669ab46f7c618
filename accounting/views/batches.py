"""Finance > Accounting Interface > Open Batches: the batch list and its Actions, and
a batch's page (progress, file, items, checklist, the actions it offers)."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_POST

from accounting import selectors, services
from accounting.exporters.downloads import batch_file_download, checklist_download, write_checklist
from accounting.forms import BatchActionForm, BatchSearchForm, RecordItemsField
from accounting.models import BatchStatus, GLBatch, TransferState
from accounting.postables import get_kind, kinds, record_title
from accounting.steps import batch_refusals, retry_refusal
from accounting.views.common import (
    CLOSE,
    DELETE,
    REOPEN,
    TRANSFER,
    UNBATCH,
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
    search = BatchSearchForm(request.GET)
    found = search.cleaned_data if search.is_valid() else {}
    batches = selectors.batch_list(
        status=None if status == "all" else status,
        identifier=found.get("q") or "",
        created_from=found.get("created_from"),
        created_to=found.get("created_to"),
    )
    if request.GET.get("export") == "csv":
        return web.csv_download("gl-batches.csv", _batch_csv_header(), _batch_csv_rows(batches))
    page = web.paginate(request, batches, per_page=25)
    rows = list(page.object_list)
    summaries = selectors.batch_summaries([batch.pk for batch in rows])
    # Records rebatched after an edit: the batch shows new values, the package old ones.
    for batch_id, changes in selectors.batches_sent_changes(list(summaries)).items():
        summaries[batch_id]["changed"] = len(changes)
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
            "search": search,
            "searched": bool(
                found.get("q") or found.get("created_from") or found.get("created_to")
            ),
            "export_url": f"{request.path}?{_with(request, export='csv')}",
        },
    )


def _batch_csv_header() -> list[str]:
    kind_columns = [kind.plural_label for kind in kinds()]
    return [
        "Batch ID",
        "Created",
        "By",
        "Transfer",
        "State",
        *kind_columns,
        "Unbatched",
        "Total",
        "Status",
    ]


def _batch_csv_rows(batches):
    """The batch list's rows with their counts and totals, a chunk of batches at a
    time (two grouped queries per kind per chunk)."""
    chunk: list[GLBatch] = []

    def rows(chunk):
        summaries = selectors.batch_summaries([batch.pk for batch in chunk])
        for batch in chunk:
            summary = summaries[batch.pk]
            yield [
                batch.batch_identifier,
                batch.created_at.isoformat(timespec="seconds"),
                batch.created_by.get_username() if batch.created_by else "",
                batch.get_transfer_method_display(),
                batch.get_current_transfer_state_display(),
                *(summary["counts"][kind.type] for kind in kinds()),
                summary["unbatched"],
                summary["total"],
                batch.get_status_display(),
            ]

    for batch in batches.iterator(chunk_size=500):
        chunk.append(batch)
        if len(chunk) == 500:
            yield from rows(chunk)
            chunk = []
    if chunk:
        yield from rows(chunk)


def _with(request: HttpRequest, **changes: str) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    for key, value in changes.items():
        query[key] = value
    return query.urlencode()


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


def _batch_item_rows(batch: GLBatch, kind, request: HttpRequest, changes: dict):
    """One page of a batch's items of one kind: in the batch, or unbatched from it,
    each with its change since the batch sent it (`changes`), if any."""
    page = web.paginate(request, selectors.batch_item_rows(kind, batch.pk))
    items = [
        {
            **selectors.batch_item(kind, record, batch.pk),
            "title": record_title(kind, record),
            "url": web.record_url(kind.type, record.pk),
            "sent_change": changes.get((kind.type, record.pk)),
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
            "total": summary["totals"].get(kind.type),
        }
        for kind in kinds()
    ]
    requested = request.GET.get("kind")
    active = next(
        (tab["key"] for tab in item_tabs if tab["key"] == requested),
        next((tab["key"] for tab in item_tabs if tab["count"]), item_tabs[0]["key"]),
    )
    changes = selectors.batch_sent_changes(batch) if batch.status != BatchStatus.DELETED else {}
    page, items = _batch_item_rows(batch, get_kind(active), request, changes)
    context: dict[str, Any] = {
        "tabs": interface_tabs("batches"),
        "summary": summary,
        "sent_changes": [
            {"change": change, "url": web.record_url(change.type, change.id)}
            for change in changes.values()
        ],
        "item_tabs": item_tabs,
        "active_kind": active,
        "page_obj": page,
        "items": items,
        "bulk": request.user.has_perm(UNBATCH) and batch.status == BatchStatus.OPEN,
        "bulk_url": reverse("accounting:batch_records", args=[batch.pk]),
        "checklist": selectors.batch_resend_checklist(batch),
        **_transfer_context(request, batch),
    }
    counts = None
    if batch.status == BatchStatus.DELETED:
        counts = selectors.former_counts(batch)
        context.update(_split_context(request, batch, counts))
        context["successor"] = selectors.batch_holding(batch.batch_identifier)
    refusals = batch_refusals(batch, request.user, counts)
    context["actions"] = batch_actions(request, batch, refusals)
    if batch.status == BatchStatus.DELETED and request.user.has_perm(TRANSFER):
        context["rerecord"] = _action(batch, "rerecord", "", refusals["rerecord"])
    return render(request, "accounting/batch_detail.html", context)


def _split_context(request: HttpRequest, batch: GLBatch, counts: dict[str, int]) -> dict:
    """A page of each part of a deleted batch's stored split: SPLIT_SHOWN rows from the
    start, or after `?<part>_after=<type>.<id>` (the Next link of that part)."""
    split, more = {}, {}
    for part in selectors.PARTS:
        after = _split_cursor(request.GET.get(f"{part}_after", ""))
        rows = selectors.former_page(batch, part, after=after, limit=SPLIT_SHOWN + 1)
        for item in rows:
            item["url"] = web.record_url(item["type"], item["id"])
        split[part] = rows[:SPLIT_SHOWN]
        if len(rows) > SPLIT_SHOWN:
            last = rows[SPLIT_SHOWN - 1]
            more[part] = f"?{part}_after={last['type']}.{last['id']}#deleted-split"
        if after is not None:
            more[f"{part}_first"] = "?#deleted-split"
    return {
        "split": split,
        "split_more": more,
        "split_shown": SPLIT_SHOWN,
        "split_counts": counts,
        "rerecordable": counts["rerecordable"],
    }


def _split_cursor(text: str) -> tuple[str, int] | None:
    record_type, _, record_id = text.partition(".")
    if not record_type or not record_id.isdigit():
        return None
    return record_type, int(record_id)


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


@login_required
@require_POST
def batch_records(request: HttpRequest, batch_id: int) -> HttpResponse:
    """Unbatch or Rebatch the records ticked on a batch's page: each through its own
    step, one refusal shown per record refused, the others done together."""
    web.require(request, UNBATCH, "unbatch or rebatch records")
    batch = batch_or_404(batch_id)
    back = web.next_url(request, reverse("accounting:batch_detail", args=[batch.pk]))
    step = request.POST.get("step", "")
    if step not in ("unbatch", "rebatch"):
        messages.error(request, "Choose Unbatch ticked or Rebatch ticked.")
        return redirect(back)
    try:
        items = RecordItemsField(required=False).clean(request.POST.getlist("items"))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect(back)
    if not items:
        messages.error(request, f"Tick the records to {step} first. Nothing was changed.")
        return redirect(back)
    done, refused = services.batch_records_step(
        actor=request.user, batch_id=batch.pk, step=step, items=items
    )
    if done:
        references = ", ".join(kind.reference(record) for kind, record in done)
        if step == "unbatch":
            messages.success(
                request,
                f"Unbatched from {batch.batch_identifier}: {references}. They can be edited "
                "now within their own status rules; rebatch them here when done. Nothing "
                "was removed from the accounting package.",
            )
        else:
            messages.success(
                request,
                f"Back in {batch.batch_identifier}: {references}. Nothing was sent.",
            )
    for error in refused:
        web.refuse(request, error)
    return redirect(back)
