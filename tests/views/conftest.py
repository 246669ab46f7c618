"""Fixtures of the browser views: a signed-in Finance user and batches sent through the
service. Users, the book and records come from tests/conftest.py."""

import pytest

from tests import helpers


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def finance_client(client, finance):
    client.force_login(finance)
    return client


@pytest.fixture
def send(finance, django_capture_on_commit_callbacks):
    """Batch records through the service and run the transfer (inline)."""

    def run(items, **options):
        options.setdefault("transfer", "file")
        return helpers.send(django_capture_on_commit_callbacks, finance, items, **options)

    return run
