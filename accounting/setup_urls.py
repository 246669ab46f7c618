"""Finance > Accounting package setup (namespace `accounting:setup`)."""

from django.urls import path

from accounting.views import setup

app_name = "setup"

urlpatterns = [
    path("", setup.setup_page, name="page"),
    path("restore-options/", setup.setup_restore_options, name="restore_options"),
    path("test-connection/", setup.setup_test_connection, name="test_connection"),
]
