"""MORE > Unbatch / Rebatch of any record, and the MORE menu the record apps' pages
show. Accounting does not import the record apps: records are reached through the
registry of postable kinds, and linked to by URL name (`core.web`)."""

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from accounting import selectors, services
from accounting.models import GLBatch
from accounting.steps import record_refusals
from accounting.views.common import UNBATCH, kind_or_404, step_action
from core import web
from core.errors import ApplicationError


def _record_step(request: HttpRequest, record_type: str, record_id: int, step: str):
    web.require(request, UNBATCH, "unbatch or rebatch records")
    kind = kind_or_404(record_type)
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
            paid = selectors.paid_amount(kind.type, record.pk)
            if paid:
                confirm["note"] = (
                    f"The accounting package holds a payment of {paid} against {reference}. "
                    "If you send it again, the payment must be re-applied in the package: "
                    "a connector that would void the paid document refuses the re-send. "
                    + confirm["note"]
                )
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
    try:
        if step == "unbatch":
            updated = services.record_unbatch(
                actor=request.user, record_type=kind.type, record_id=record.pk
            )
        else:
            updated = services.record_rebatch(
                actor=request.user, record_type=kind.type, record_id=record.pk
            )
    except ApplicationError as error:
        web.refuse(request, error)
        return redirect(back)
    if step == "unbatch":
        identifier = getattr(updated, kind.original_batch_field).batch_identifier
        # What editing it takes next (an open status, a reversed sheet) is the record's
        # own state, shown on its page.
        messages.success(request, f"{reference} is unbatched from {identifier}.")
        paid = selectors.paid_amount(kind.type, record.pk)
        if paid:
            messages.warning(
                request,
                f"The accounting package holds a payment of {paid} against {reference}: "
                "after a re-send the payment must be re-applied there.",
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


def more_actions(request: HttpRequest, *, record_type: str, record: Any) -> list[dict[str, Any]]:
    """The MORE menu of a record page: Unbatch and Rebatch, each enabled when its
    service would accept it, else with the sentence its service would answer (or, when
    the step applies, that the user's role does not allow it). `record` comes with its
    batch and original batch."""
    kind = kind_or_404(record_type)
    here = urlencode({"next": request.get_full_path()})
    may = request.user.has_perm(UNBATCH)
    actions = []
    for step, refusal in record_refusals(kind, record).items():
        url = reverse(f"accounting:record_{step}", args=[kind.type, record.pk])
        action = step_action(step, step.capitalize(), f"{url}?{here}", refusal)
        if action["enabled"] and not may:
            action.update(enabled=False, reason="Your role does not allow it.")
        actions.append(action)
    return actions
