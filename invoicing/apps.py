from django.apps import AppConfig


class InvoicingConfig(AppConfig):
    name = "invoicing"

    def ready(self) -> None:
        from accounting.postables import register
        from invoicing.postables import InvoiceKind

        register(InvoiceKind())
