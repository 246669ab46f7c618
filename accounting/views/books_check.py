"""Finance > Books check: the runs of the books check, one run's differences with
filters and a CSV export, starting a run, and the one-click fix of a difference."""

from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header, urlencode
from django.views.decorators.http import require_POST

from accounting import books_upload, selectors, services
from accounting.exporters.downloads import CHECKLIST_CONTENT_TYPE, write_differences
from accounting.models import (
    DifferenceClass,
    Reconciliation,
    ReconciliationSource,
    ReconciliationState,
    UploadFormat,
)
from accounting.postables import kinds
from accounting.views.common import TRANSFER, VIEW
from core import web
from core.errors import ApplicationError


def _run_or_404(run_id: str | None) -> Reconciliation | None:
    runs = selectors.reconciliation_list()
    if not run_id:
        return runs.first()
    try:
        return runs.get(pk=int(run_id))
    except (ValueError, Reconciliation.DoesNotExist):
        raise Http404(f"There is no books check {run_id}.") from None


def _filters(request: HttpRequest) -> tuple[str, str]:
    kind = request.GET.get("kind") or ""
    record_type = request.GET.get("type") or ""
    if kind not in DifferenceClass.values:
        kind = ""
    if record_type not in {k.type for k in kinds()}:
        record_type = ""
    return kind, record_type


@login_required
@permission_required(VIEW, raise_exception=True)
def books_check(request: HttpRequest) -> HttpResponse:
    run = _run_or_404(request.GET.get("run"))
    kind, record_type = _filters(request)
    page = None
    if run is not None:
        rows = selectors.reconciliation_differences(run, kind=kind, record_type=record_type)
        page = web.paginate(request, rows, per_page=50)
    query = {"run": run.pk, "kind": kind, "type": record_type} if run else {}
    return render(
        request,
        "accounting/books_check.html",
        {
            "run": run,
            "runs": selectors.reconciliation_list()[:10],
            "page_obj": page,
            "kind": kind,
            "record_type": record_type,
            "classes": [c for c in DifferenceClass.choices if c[0] != DifferenceClass.IN_STEP],
            "kinds": kinds(),
            "csv_url": reverse("accounting:books_check_csv") + "?" + urlencode(query),
            "polling": run is not None
            and run.state in (ReconciliationState.QUEUED, ReconciliationState.RUNNING),
            "fixable": (
                {}
                if run is not None and run.source == ReconciliationSource.UPLOAD
                else services.FIXABLE
            ),
            "upload_formats": UploadFormat.choices,
            "upload_format": _default_upload_format(),
            "upload_limit": books_upload.max_upload_bytes(),
        },
    )


@login_required
@permission_required(VIEW, raise_exception=True)
def books_check_progress(request: HttpRequest, run_id: int) -> HttpResponse:
    """The run's card alone, polled while it runs."""
    run = _run_or_404(str(run_id))
    polling = run.state in (ReconciliationState.QUEUED, ReconciliationState.RUNNING)
    return render(
        request, "accounting/partials/books_check_run.html", {"run": run, "polling": polling}
    )


@login_required
@permission_required(VIEW, raise_exception=True)
def books_check_csv(request: HttpRequest) -> HttpResponse:
    run = _run_or_404(request.GET.get("run"))
    if run is None:
        raise Http404("No books check has run yet.")
    kind, record_type = _filters(request)
    response = HttpResponse(content_type=CHECKLIST_CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition_header(
        True, f"books-check-{run.pk}{'-' + kind if kind else ''}.csv"
    )
    rows = selectors.reconciliation_differences(run, kind=kind, record_type=record_type)
    write_differences(rows.iterator(chunk_size=2000), response)
    return response


def _default_upload_format() -> str:
    """The layout of the package the setup names (the product's own otherwise)."""
    package = selectors.accounting_setup().package
    if package.startswith("quickbooks"):
        return UploadFormat.QUICKBOOKS_GL_REPORT
    if package == "xero":
        return UploadFormat.XERO_GL_REPORT
    return UploadFormat.GL_JOURNAL_CSV


def _date(request: HttpRequest, name: str) -> date | None:
    text = (request.POST.get(name) or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ApplicationError(
            f"{text} is not a date; use the form YYYY-MM-DD.", code="invalid"
        ) from None


@login_required
@permission_required(TRANSFER, raise_exception=True)
@require_POST
def books_check_start(request: HttpRequest) -> HttpResponse:
    try:
        batch_id = None
        identifier = (request.POST.get("batch") or "").strip()
        if identifier:
            batch = selectors.batch_holding(identifier)
            if batch is None:
                raise ApplicationError(
                    f"There is no open or closed GL batch {identifier}; type a batch ID "
                    "from Open Batches, or leave it empty.",
                    code="invalid",
                )
            batch_id = batch.pk
        run = services.reconciliation_start(
            actor=request.user,
            batch_id=batch_id,
            date_from=_date(request, "date_from"),
            date_to=_date(request, "date_to"),
        )
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("accounting:books_check")
    messages.success(request, "The books check started; this page follows it.")
    return redirect(reverse("accounting:books_check") + f"?run={run.pk}")


@login_required
@permission_required(TRANSFER, raise_exception=True)
@require_POST
def books_check_upload(request: HttpRequest) -> HttpResponse:
    """Check the books against an export of the package the user uploads."""
    try:
        run = services.reconciliation_upload(
            actor=request.user,
            upload_format=request.POST.get("format") or "",
            file=request.FILES.get("file"),
            date_from=_date(request, "date_from"),
            date_to=_date(request, "date_to"),
        )
    except ApplicationError as error:
        messages.error(request, f"The export was not checked: {error.message}")
        return redirect("accounting:books_check")
    messages.success(
        request,
        f"{run.upload_name}: {run.upload_rows} line(s) read; the books check started and "
        "this page follows it.",
    )
    return redirect(reverse("accounting:books_check") + f"?run={run.pk}")


@login_required
@permission_required(TRANSFER, raise_exception=True)
@require_POST
def payments_refresh(request: HttpRequest) -> HttpResponse:
    """Bring payments back from the package now (the periodic task does it too)."""
    try:
        counts = services.payments_refresh(actor=request.user)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            f"Payments brought back: {counts['paid_records']} record(s) with a payment in "
            "the accounting package.",
        )
    return redirect("accounting:books_check")


@login_required
@permission_required(TRANSFER, raise_exception=True)
@require_POST
def books_check_fix(request: HttpRequest, difference_id: int) -> HttpResponse:
    back = request.POST.get("next") or reverse("accounting:books_check")
    if not back.startswith("/"):
        back = reverse("accounting:books_check")
    try:
        difference = services.difference_fix(actor=request.user, difference_id=difference_id)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        done = (
            "its extra copies were removed from the package"
            if difference.fix == "remove"
            else "it was sent again in a batch of its own, the original removed first"
        )
        messages.success(request, f"{difference.reference}: {done}.")
    return redirect(back)
