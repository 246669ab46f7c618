from django.apps import AppConfig


class ProcurementConfig(AppConfig):
    name = "procurement"

    def ready(self) -> None:
        from accounting.postables import register
        from procurement.postables import FreightKind, ProductKind

        register(FreightKind())
        register(ProductKind())
