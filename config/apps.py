from django.apps import AppConfig


class ConfigConfig(AppConfig):
    """The project's wiring (settings, URLs, Celery, the home page, the demo book): an
    app only so that its management command and template tags are found."""

    name = "config"
    verbose_name = "Project"
