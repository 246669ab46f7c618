"""Finance > Accounting package setup: the package, Direct Transfer, the export format
and each option of the chosen package as a typed field; Test connection and Restore
options. Every change goes through the setup services (checked, atomic, audited); a
refusal is shown in the page and changes nothing."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounting import selectors
from accounting.connectors import has_connector
from accounting.models import AccountingSetup, ExportFormat, Package
from accounting.services import setup as setup_services
from accounting.setup_forms import SetupForm, option_field_name, setup_form_class
from accounting.setup_options import DIRECT_TRANSFER_OPTIONS, declared_options
from core import web
from core.errors import ApplicationError

VIEW_SETUP = "accounting.view_accountingsetup"
CHANGE_SETUP = "accounting.change_accountingsetup"
CHANGING = "change the accounting package setup"


def _chosen(data: Any, setup: AccountingSetup) -> tuple[str, str]:
    package = data.get("package")
    export_format = data.get("export_format")
    return (
        package if package in Package.values else setup.package,
        export_format if export_format in ExportFormat.values else setup.export_format,
    )


def _saved_shown(setup: AccountingSetup) -> list[tuple[str, str]]:
    """The options clearing Direct Transfer set aside, as label and value."""
    saved = setup.saved_options if isinstance(setup.saved_options, dict) else {}
    declared = declared_options(setup.package, setup.export_format)
    rows = []
    for name, value in saved.items():
        label = declared[name].label if name in declared else name
        if isinstance(value, dict):
            value = ", ".join(f"{key} = {item}" for key, item in value.items())
        rows.append((label, str(value)))
    return rows


def _shown(value: Any) -> str:
    if value is True:
        return "on"
    if value is False:
        return "off"
    if value in (None, "", {}):
        return "—"
    if isinstance(value, dict):
        return "; ".join(f"{key} = {_shown(item)}" for key, item in value.items())
    if value in Package.values:
        return str(Package(value).label)
    if value in ExportFormat.values:
        return str(ExportFormat(value).label)
    return str(value)


def _trail() -> list[dict[str, Any]]:
    """The setup's latest changes, each field's before and after in words."""
    events = []
    for event in selectors.setup_trail(limit=20):
        changes = event.changes if isinstance(event.changes, dict) else {}
        events.append(
            {
                "event": event,
                "rows": [
                    (
                        name.replace("_", " ").capitalize(),
                        _shown(value.get("before")),
                        _shown(value.get("after")),
                    )
                    for name, value in changes.items()
                    if isinstance(value, dict)
                ],
            }
        )
    return events


def _page(request: HttpRequest, form: SetupForm, setup: AccountingSetup, status: int = 200):
    direct_names = {
        option_field_name(option.name)
        for option in DIRECT_TRANSFER_OPTIONS.get(form.for_package, ())
    }
    return render(
        request,
        "accounting/setup.html",
        {
            "form": form,
            "setup": setup,
            "direct_fields": [form[name] for name in form.fields if name in direct_names],
            "export_fields": [
                form[name]
                for name in form.fields
                if name.startswith("option_") and name not in direct_names
            ],
            "has_connector": has_connector(form.for_package),
            "package_label": Package(form.for_package).label,
            "format_label": ExportFormat(form.for_export_format).label,
            "saved_shown": _saved_shown(setup),
            "xero": setup_services.xero_connection_state() if form.for_package == "xero" else None,
            "can_change": request.user.has_perm(CHANGE_SETUP),
            "trail": _trail(),
        },
        status=status,
    )


@login_required
@permission_required(VIEW_SETUP, raise_exception=True)
def setup_page(request: HttpRequest) -> HttpResponse:
    setup = selectors.accounting_setup()
    if request.method != "POST":
        package, export_format = _chosen(request.GET, setup)
        direct_transfer = setup.direct_transfer
        if "package" in request.GET:
            # Another package or format chosen in the page: its fields, not yet saved.
            direct_transfer = request.GET.get("direct_transfer") in ("on", "true", "1")
        form = setup_form_class(package, export_format)(
            setup=setup,
            initial={
                "package": package,
                "export_format": export_format,
                "direct_transfer": direct_transfer,
            },
        )
        return _page(request, form, setup)

    web.require(request, CHANGE_SETUP, CHANGING)
    package, export_format = _chosen(request.POST, setup)
    form = setup_form_class(package, export_format)(request.POST, setup=setup)
    if not form.is_valid():
        messages.error(request, "Nothing was saved: correct the fields marked below.")
        return _page(request, form, setup, status=400)
    try:
        with transaction.atomic():
            setup_services.accounting_setup_update(
                actor=request.user,
                package=package,
                export_format=export_format,
                direct_transfer=form.cleaned_data["direct_transfer"],
                options=form.options_given(setup),
                create_ledger=bool(form.cleaned_data.get("create_ledger")),
                paid_invoice_status=form.cleaned_data.get("paid_invoice_status") or "",
            )
            credentials = form.xero_credentials()
            if credentials:
                setup_services.accounting_setup_xero_credentials(
                    actor=request.user, client_id=credentials[0], client_secret=credentials[1]
                )
    except ApplicationError as error:
        form.add_setup_errors(error.extra.get("fields") or {})
        messages.error(request, f"Nothing was saved: {error.message}")
        return _page(request, form, selectors.accounting_setup(), status=400)
    setup = selectors.accounting_setup()
    note = (
        " Its options are set aside: ticking Direct Transfer again, or Restore options, "
        "puts them back."
        if setup.saved_options
        else ""
    )
    messages.success(request, f"The accounting package setup is saved.{note}")
    return redirect("accounting:setup:page")


@login_required
@require_POST
def setup_restore_options(request: HttpRequest) -> HttpResponse:
    web.require(request, CHANGE_SETUP, CHANGING)
    try:
        setup_services.accounting_setup_restore_options(actor=request.user)
    except ApplicationError as error:
        web.refuse(request, error)
    else:
        messages.success(request, "The saved options are restored.")
    return redirect("accounting:setup:page")


@login_required
@require_POST
def setup_test_connection(request: HttpRequest) -> HttpResponse:
    """Open the ledger, book or Xero organisation the saved setup sends to, and say what
    is there (and which GL accounts a GnuCash book lacks). Changes nothing in the setup."""
    web.require(request, CHANGE_SETUP, "test the accounting package's connection")
    try:
        report = setup_services.accounting_setup_test_connection()
    except ApplicationError as error:
        web.refuse(request, error)
        return redirect("accounting:setup:page")
    level = messages.SUCCESS if report["ok"] else messages.WARNING
    messages.add_message(request, level, report["message"])
    for problem in report["problems"][:20]:
        messages.warning(request, problem)
    return redirect("accounting:setup:page")
