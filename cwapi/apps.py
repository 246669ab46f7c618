from django.apps import AppConfig


class CwApiConfig(AppConfig):
    name = "cwapi"
    verbose_name = "ConnectWise-compatible API"
    default_auto_field = "django.db.models.BigAutoField"
