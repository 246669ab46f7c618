from django.apps import AppConfig


class InvoicingConfig(AppConfig):
    name = "invoicing"

    def ready(self) -> None:
        # Imported here, not at the top: apps.py is loaded before any model, and the door
        # and the adapters import models (Django's app-loading order).
        from accounting.door import PaidStatus, register, register_paid_status
        from invoicing import services
        from invoicing.postables import InvoiceKind

        register(InvoiceKind())
        register_paid_status(
            "invoice",
            PaidStatus(
                refusal=services.paid_status_refusal,
                apply=lambda actor, ids, name: services.invoices_mark_paid(
                    actor=actor, invoice_ids=ids, status_name=name
                ),
            ),
        )
