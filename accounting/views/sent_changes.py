"""Records changed since sent, as the pages show them: the mark with both sides on a
record's page (the record apps include it through the door), and its two steps, "I
have updated it in the package" (an export file) and "Update in the package" (a direct
transfer)."""

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.views.decorators.http import require_http_methods

from accounting import selectors, services
from accounting.selectors import SentChange
from accounting.views.common import TRANSFER, kind_or_404
from core import web
from core.errors import ApplicationError


def sent_change(request: HttpRequest, *, record_type: str, record: Any) -> dict[str, Any] | None:
    """The mark of a record page (`accounting/partials/sent_change.html`): the record's
    change since it was sent, both sides, what to do in the package, and the step the
    user may take; None when the package holds the record as it is."""
    change = selectors.record_sent_change(record_type, record.pk, record)
    if change is None or (
        not change.in_batch and getattr(record, f"{kind_or_404(record_type).batch_field}_id")
    ):
        # In another batch now: that batch's transfer replaces the original.
        return None
    here = urlencode({"next": request.get_full_path()})
    step = "update" if change.is_direct else "confirm"
    may = request.user.has_perm(TRANSFER)
    return {
        "change": change,
        "rows": change.rows,
        "changed_rows": [row for row in change.rows if row["changed"]],
        "batch_url": reverse("accounting:batch_detail", args=[change.batch_id]),
        "step": step if change.in_batch else None,
        "step_url": (
            reverse(f"accounting:record_sent_{step}", args=[record_type, record.pk]) + "?" + here
        ),
        "may": may,
    }


def _confirm_text(change: SentChange, step: str) -> dict[str, str]:
    if step == "update":
        return {
            "title": f"Update {change.reference} in the package?",
            "text": f"{change.reference} goes to {change.package_label} again in a GL batch of "
            "its own; the connector removes the original sent in "
            f"{change.batch_identifier} first, so the package holds it once, as it is now.",
            "note": f"{change.reference} leaves {change.batch_identifier} for the new batch.",
        }
    return {
        "title": f"Have you updated {change.number} in the package?",
        "text": f"Confirm that document {change.number} in {change.package_label} now shows "
        "the new values. The product then counts the package in line with the record; the "
        "values sent before stay in the audit trail.",
        "note": "Nothing is sent: this records what you changed by hand.",
    }


def _sent_step(request: HttpRequest, record_type: str, record_id: int, step: str) -> HttpResponse:
    web.require(request, TRANSFER, "bring the accounting package in line")
    kind = kind_or_404(record_type)
    record = kind.queryset().filter(pk=record_id).first()
    if record is None:
        raise Http404(f"There is no {kind.label.lower()} with id {record_id}.")
    back = web.next_url(request, web.record_url(kind.type, record.pk) or reverse("home"))
    if request.method == "GET":
        change = selectors.record_sent_change(kind.type, record.pk)
        if change is None:
            messages.info(
                request, f"{kind.reference(record)} matches what was sent: nothing to update."
            )
            return redirect(back)
        confirm = {
            **_confirm_text(change, step),
            "action": request.path,
            "next": back,
            "danger": False,
        }
        template = "partials/confirm.html" if request.htmx else "confirm_page.html"
        return render(request, template, {"confirm": confirm})
    try:
        if step == "update":
            batch = services.sent_change_send(
                actor=request.user, record_type=kind.type, record_id=record.pk
            )
        else:
            services.sent_change_confirm(
                actor=request.user, record_type=kind.type, record_id=record.pk
            )
    except ApplicationError as error:
        web.refuse(request, error)
        return redirect(back)
    if step == "update":
        messages.success(
            request,
            format_html(
                '{} goes to the package in GL batch <a href="{}">{}</a>, which replaces the '
                "original.",
                kind.reference(record),
                reverse("accounting:batch_detail", args=[batch.pk]),
                batch.batch_identifier,
            ),
        )
    else:
        messages.success(request, f"{kind.reference(record)} is marked as updated in the package.")
    return redirect(back)


@login_required
@require_http_methods(["GET", "POST"])
def record_sent_confirm(request: HttpRequest, record_type: str, record_id: int) -> HttpResponse:
    return _sent_step(request, record_type, record_id, "confirm")


@login_required
@require_http_methods(["GET", "POST"])
def record_sent_update(request: HttpRequest, record_type: str, record_id: int) -> HttpResponse:
    return _sent_step(request, record_type, record_id, "update")
