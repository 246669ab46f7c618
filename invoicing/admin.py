"""Setup table of invoicing: invoice statuses (open or closed). Invoices themselves
change only through the invoice screens and services, never in the admin."""

from django.contrib import admin

from invoicing.models import InvoiceStatus


@admin.register(InvoiceStatus)
class InvoiceStatusAdmin(admin.ModelAdmin):
    list_display = ["name", "is_closed", "sort_order"]
    list_editable = ["sort_order"]
    ordering = ["sort_order", "name"]

    def get_readonly_fields(self, request, obj=None):
        # Each invoice keeps a copy of its status's closed flag (the indexed "ready"
        # column); flipping the flag of a status in use would leave the copies wrong.
        return ["is_closed"] if obj is not None else []
