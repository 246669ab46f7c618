from django.apps import AppConfig


class CwApiConfig(AppConfig):
    name = "cwapi"
    verbose_name = "ConnectWise-compatible API"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The OpenAPI document's description of Basic auth with member keys.
        from cwapi import schema  # noqa: F401
