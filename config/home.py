"""The home page: where the month-end work stands, one click from each screen."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from accounting import selectors as accounting_selectors
from accounting.models import BatchStatus, DifferenceClass, TransferState
from accounting.postables import kinds
from expenses.selectors import sheets_to_approve


@login_required
def home(request: HttpRequest) -> HttpResponse:
    context = {"can_account": request.user.has_perm("accounting.view_glbatch")}
    if context["can_account"]:
        context["unposted"] = [
            {
                "type": kind.type,
                "label": kind.plural_label,
                "count": accounting_selectors.unposted_list(record_type=kind.type).count(),
                "url": reverse("accounting:unposted", args=[kind.type]),
            }
            for kind in kinds()
        ]
        open_batches = accounting_selectors.batch_list(status=BatchStatus.OPEN)
        context["open_batches"] = open_batches.count()
        # Transfers that wait for Finance: failed, or interrupted (a lease that expired).
        context["failed"] = (
            open_batches.filter(transfer_state=TransferState.FAILED)
            | accounting_selectors.batches_in_transfer_state(
                open_batches, TransferState.INTERRUPTED
            )
        ).count()
        context["recent"] = list(accounting_selectors.batch_list()[:6])
        run = context["books_check"] = accounting_selectors.latest_reconciliation()
        context["books_check_differences"] = [
            (DifferenceClass(name).label.lower(), count)
            for name, count in (run.counts if run else {}).items()
            if count and name != DifferenceClass.IN_STEP
        ]
    elif request.user.has_perm("expenses.approve_expensesheet"):
        context["to_approve"] = list(sheets_to_approve(request.user))
    return render(request, "home.html", context)
