"""The steps on one GL batch from its page: close, delete, reopen, retry a transfer,
re-record. Each asks for confirmation (GET), then calls its service (POST)."""

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from accounting import services
from accounting.models import GLBatch
from accounting.views.common import CLOSE, DELETE, REOPEN, TRANSFER, VIEW, batch_or_404
from core import web
from core.errors import ApplicationError

# Each step is a view of its own: GET shows the OK confirmation (a panel for htmx, else
# a page), POST calls the step's service and goes back to the batch's page (for a
# re-record, the new batch's). A refused step becomes a message on the batch's page.


def _batch_step_view(view):
    """The checks every step makes before its own: signed in, may see batches, GET or
    POST."""
    return login_required(
        permission_required(VIEW, raise_exception=True)(require_http_methods(["GET", "POST"])(view))
    )


def _step(
    request: HttpRequest,
    batch: GLBatch,
    *,
    title: str,
    text: str,
    danger: bool,
    run: Callable[[], GLBatch],
    done: str,
) -> HttpResponse:
    """GET: the OK confirmation. POST: `run` the step's service, then the page of the
    batch it answers with a message, or the batch's page with the refusal."""
    if request.method == "GET":
        confirm = {
            "title": title,
            "text": text,
            "action": request.path,
            "next": reverse("accounting:batch_detail", args=[batch.pk]),
            "danger": danger,
        }
        template = "partials/confirm.html" if request.htmx else "confirm_page.html"
        return render(request, template, {"confirm": confirm})
    try:
        result = run()
    except ApplicationError as error:
        web.refuse(request, error)
        return redirect("accounting:batch_detail", batch.pk)
    messages.success(request, done)
    return redirect("accounting:batch_detail", result.pk)


@_batch_step_view
def batch_close(request: HttpRequest, batch_id: int) -> HttpResponse:
    web.require(request, CLOSE, "close GL batches")
    batch = batch_or_404(batch_id)
    return _step(
        request,
        batch,
        title=f"Close GL batch {batch.batch_identifier}?",
        text="Closing is final for users: the records stay posted and can no longer be "
        "unbatched. Only an administrator can reopen the batch.",
        danger=True,
        run=lambda: services.batch_close(actor=request.user, batch_id=batch.pk),
        done=f"Closed GL batch {batch.batch_identifier}.",
    )


@_batch_step_view
def batch_delete(request: HttpRequest, batch_id: int) -> HttpResponse:
    web.require(request, DELETE, "delete GL batches")
    batch = batch_or_404(batch_id)
    identifier = batch.batch_identifier
    return _step(
        request,
        batch,
        title=f"Delete GL batch {identifier}?",
        text="Every record in it becomes unposted and editable again; the batch keeps "
        f"its history and its ID becomes free. Note the batch ID {identifier}: after "
        "your edits you can re-record the unchanged records under it without sending "
        "them again.",
        danger=True,
        run=lambda: services.batch_delete(actor=request.user, batch_id=batch.pk),
        done=f"Deleted GL batch {identifier}; its records are unposted and can be edited.",
    )


@_batch_step_view
def batch_reopen(request: HttpRequest, batch_id: int) -> HttpResponse:
    web.require(request, REOPEN, "reopen GL batches")
    batch = batch_or_404(batch_id)
    return _step(
        request,
        batch,
        title=f"Reopen GL batch {batch.batch_identifier}?",
        text="Its records can be unbatched again. This is recorded in the audit trail.",
        danger=False,
        run=lambda: services.batch_reopen(actor=request.user, batch_id=batch.pk),
        done=f"Reopened GL batch {batch.batch_identifier}.",
    )


@_batch_step_view
def batch_retry(request: HttpRequest, batch_id: int) -> HttpResponse:
    web.require(request, TRANSFER, "retry transfers")
    batch = batch_or_404(batch_id)
    return _step(
        request,
        batch,
        title=f"Retry the transfer of GL batch {batch.batch_identifier}?",
        text="The records already sent by this batch are not sent twice.",
        danger=False,
        run=lambda: services.batch_retry(actor=request.user, batch_id=batch.pk),
        done=f"The transfer of GL batch {batch.batch_identifier} is queued again.",
    )


@_batch_step_view
def batch_rerecord(request: HttpRequest, batch_id: int) -> HttpResponse:
    web.require(request, TRANSFER, "re-record batches")
    batch = batch_or_404(batch_id)
    identifier = batch.batch_identifier
    return _step(
        request,
        batch,
        title=f"Re-record the unchanged records under {identifier}?",
        text="A file-only batch with the original ID is created for your records. "
        "Nothing is sent: these records are in the accounting package already. Do not "
        "import its file.",
        danger=False,
        run=lambda: services.batch_rerecord(actor=request.user, batch_id=batch.pk),
        done=f"Re-recorded the unchanged records under {identifier} (file only; nothing was sent).",
    )
