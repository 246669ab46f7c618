import pytest
from django.db import connection


@pytest.fixture(autouse=True, scope="session")
def _require_postgresql(django_db_setup, django_db_blocker):
    """The suite proves behaviour on the database the product runs on."""
    with django_db_blocker.unblock():
        assert connection.vendor == "postgresql", "set DATABASE_URL to a PostgreSQL database"
