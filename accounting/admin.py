"""Setup tables of accounting in the Django admin: GL accounts, default accounts, tax
codes and the accounting package setup. Batches, the transfer log and audit events
are shown read-only: they change only through the workflows."""

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from accounting.models import (
    AccountingSetup,
    AuditEvent,
    DefaultGLAccount,
    GLAccount,
    GLBatch,
    TaxCode,
    TransferLog,
)
from accounting.services import setup as setup_services
from accounting.setup_forms import (
    CREATE_LEDGER_HELP,
    DIRECT_TRANSFER_HELP,
    SetupFormMixin,
    setup_form_class,
)
from accounting.setup_options import declared_options
from core.errors import ApplicationError


@admin.register(GLAccount)
class GLAccountAdmin(admin.ModelAdmin):
    list_display = ["number", "name", "type", "is_active"]
    list_filter = ["type", "is_active"]
    search_fields = ["number", "name"]
    ordering = ["number"]


@admin.register(DefaultGLAccount)
class DefaultGLAccountAdmin(admin.ModelAdmin):
    list_display = ["type", "gl_account"]
    list_select_related = ["gl_account"]
    autocomplete_fields = ["gl_account"]


@admin.register(TaxCode)
class TaxCodeAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "rate", "gl_account"]
    list_select_related = ["gl_account"]
    search_fields = ["code", "name"]
    autocomplete_fields = ["gl_account"]


class AccountingSetupForm(SetupFormMixin, forms.ModelForm):
    """The setup row with a typed field per option of its package and export format
    (`accounting.setup_forms.setup_form_class` builds one class per choice, as for
    the Finance setup screen)."""

    create_ledger = forms.BooleanField(
        label="Create a new empty ledger here", required=False, help_text=CREATE_LEDGER_HELP
    )

    class Meta:
        model = AccountingSetup
        fields = ["package", "direct_transfer", "export_format", "paid_invoice_status"]
        help_texts = {
            "paid_invoice_status": "The closed invoice status (for example Paid) a fully "
            "paid invoice moves to when payments come back from the package; nothing sent "
            "changes. Empty: payments change no status.",
            "direct_transfer": DIRECT_TRANSFER_HELP,
            "package": "Save after choosing another package or export format to see its options.",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.setup_initial(self.instance)

    def clean(self):
        """The setup services' own checks, as field errors of this form (before the
        instance takes the new values)."""
        cleaned = super().clean()
        if not any(name in self.errors for name in self.Meta.fields):
            self.check_setup(self.instance)
        return cleaned


def _options_shown(options: Any, package: str, export_format: str) -> str:
    """Options as a person reads them: each option's label and value, one a line."""
    if not options:
        return "None saved"
    if not isinstance(options, dict):
        return format_html("<code>{}</code>", json.dumps(options))
    declared = declared_options(package, export_format)
    return format_html_join(
        mark_safe("<br>"),
        "{}: <code>{}</code>",
        (
            (
                declared[name].label if name in declared else name,
                value if isinstance(value, str) else json.dumps(value),
            )
            for name, value in options.items()
        ),
    )


@admin.register(AccountingSetup)
class AccountingSetupAdmin(admin.ModelAdmin):
    """The one setup row, saved through the setup services so that clearing Direct
    Transfer keeps the options for one-click restoring."""

    form = AccountingSetupForm
    list_display = ["__str__", "package", "direct_transfer", "export_format", "updated_at"]
    readonly_fields = ["saved_options_display", "updated_at"]
    change_form_template = "admin/accounting/accountingsetup/change_form.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description="Saved options (restorable)")
    def saved_options_display(self, obj: AccountingSetup) -> str:
        return _options_shown(obj.saved_options, obj.package, obj.export_format)

    def get_form(self, request, obj=None, change=False, **kwargs):
        """The typed form of the package and export format posted (or saved)."""
        package = request.POST.get("package") or (obj.package if obj else "")
        export_format = request.POST.get("export_format") or (obj.export_format if obj else "")
        kwargs["form"] = setup_form_class(package, export_format, AccountingSetupForm)
        return super().get_form(request, obj, change, **kwargs)

    def save_model(self, request, obj, form, change) -> None:
        held = AccountingSetup.objects.get(pk=obj.pk)
        fields = {
            name: form.cleaned_data[name]
            for name in ("package", "direct_transfer", "export_format")
        }
        fields["paid_invoice_status"] = form.cleaned_data.get("paid_invoice_status") or ""
        try:
            with transaction.atomic():
                setup_services.accounting_setup_update(
                    actor=request.user,
                    options=form.options_given(held),
                    create_ledger=bool(form.cleaned_data.get("create_ledger")),
                    **fields,
                )
                credentials = form.xero_credentials()
                if credentials:
                    setup_services.accounting_setup_xero_credentials(
                        actor=request.user,
                        client_id=credentials[0],
                        client_secret=credentials[1],
                    )
        except ApplicationError as error:
            request._setup_refusal = error
        obj.refresh_from_db()

    def response_change(self, request, obj):
        refusal = getattr(request, "_setup_refusal", None)
        if refusal is not None:
            self.message_user(request, refusal.message, level=messages.ERROR)
            return HttpResponseRedirect(request.path)
        # One row: stay on it, where the Restore options button is.
        note = " Its options are kept: Restore options puts them back." if obj.saved_options else ""
        self.message_user(
            request, f"The accounting package setup is saved.{note}", messages.SUCCESS
        )
        return HttpResponseRedirect(request.path)

    def get_urls(self):
        return [
            path(
                "<int:object_id>/restore-options/",
                self.admin_site.admin_view(require_POST(self.restore_options)),
                name="accounting_accountingsetup_restore_options",
            ),
            path(
                "<int:object_id>/test-connection/",
                self.admin_site.admin_view(require_POST(self.test_connection)),
                name="accounting_accountingsetup_test_connection",
            ),
            *super().get_urls(),
        ]

    def test_connection(self, request: HttpRequest, object_id: int):
        """Open the ledger or book the saved setup's direct transfer writes to and say
        what is there (and which GL accounts a GnuCash book lacks)."""
        setup = get_object_or_404(AccountingSetup, pk=object_id)
        change_url = reverse("admin:accounting_accountingsetup_change", args=[setup.pk])
        if not self.has_change_permission(request, setup):
            self.message_user(request, "Your role cannot change the setup.", messages.ERROR)
            return HttpResponseRedirect(change_url)
        try:
            report = setup_services.accounting_setup_test_connection()
        except ApplicationError as error:
            self.message_user(request, error.message, level=messages.ERROR)
            return HttpResponseRedirect(change_url)
        self.message_user(
            request, report["message"], messages.SUCCESS if report["ok"] else messages.WARNING
        )
        for problem in report["problems"][:20]:
            self.message_user(request, problem, messages.WARNING)
        return HttpResponseRedirect(change_url)

    def restore_options(self, request: HttpRequest, object_id: int):
        setup = get_object_or_404(AccountingSetup, pk=object_id)
        change_url = reverse("admin:accounting_accountingsetup_change", args=[setup.pk])
        if not self.has_change_permission(request, setup):
            self.message_user(request, "Your role cannot change the setup.", messages.ERROR)
            return HttpResponseRedirect(change_url)
        try:
            setup_services.accounting_setup_restore_options(actor=request.user)
        except ApplicationError as error:
            self.message_user(request, error.message, level=messages.ERROR)
        else:
            self.message_user(request, "The saved options are restored.", messages.SUCCESS)
        return HttpResponseRedirect(change_url)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(GLBatch)
class GLBatchAdmin(ReadOnlyAdmin):
    list_display = [
        "batch_identifier",
        "status",
        "transfer_method",
        "transfer_state",
        "created_at",
        "created_by",
        "screen",
    ]
    list_filter = ["status", "transfer_state", "transfer_method"]
    list_select_related = ["created_by"]
    search_fields = ["batch_identifier"]
    exclude = ["file"]

    @admin.display(description="Accounting Interface")
    def screen(self, obj: GLBatch) -> str:
        return format_html(
            '<a href="{}">Open</a>', reverse("accounting:batch_detail", args=[obj.pk])
        )


@admin.register(TransferLog)
class TransferLogAdmin(ReadOnlyAdmin):
    list_display = ["reference", "batch", "method", "sent_at", "removed_at", "removal"]
    list_filter = ["method", "removal", "record_type"]
    list_select_related = ["batch"]
    search_fields = ["reference", "batch__batch_identifier", "external_reference"]


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "actor", "action", "record_type", "record_id", "batch"]
    list_filter = ["action", "record_type"]
    list_select_related = ["actor", "batch"]
    search_fields = ["batch__batch_identifier"]
    date_hierarchy = "at"
