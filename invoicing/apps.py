from django.apps import AppConfig


class InvoicingConfig(AppConfig):
    name = "invoicing"

    def ready(self) -> None:
        # Imported here, not at the top: apps.py is loaded before any model, and the door
        # and the adapters import models (Django's app-loading order).
        from accounting.door import register
        from invoicing.postables import InvoiceKind

        register(InvoiceKind())
