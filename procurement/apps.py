from django.apps import AppConfig


class ProcurementConfig(AppConfig):
    name = "procurement"

    def ready(self) -> None:
        # Imported here, not at the top: apps.py is loaded before any model, and the door
        # and the adapters import models (Django's app-loading order).
        from accounting.door import register
        from procurement.postables import FreightKind, ProductKind

        register(FreightKind())
        register(ProductKind())
