import pytest
from django.db import connection, connections


@pytest.fixture(autouse=True, scope="session")
def _require_postgresql(django_db_setup, django_db_blocker):
    """The suite proves behaviour on the database the product runs on."""
    with django_db_blocker.unblock():
        assert connection.vendor == "postgresql", "set DATABASE_URL to a PostgreSQL database"


@pytest.fixture(scope="session")
def _serialized_contents(django_db_setup):
    """What the migrations put in the test database (roles, statuses, the setup row),
    as serialized when it was created."""
    return {
        alias: getattr(connections[alias], "_test_serialized_contents", None)
        for alias in connections
    }


@pytest.fixture(autouse=True)
def _keep_serialized_contents(_serialized_contents):
    """A transactional test with serialized_rollback restores the migrations' rows from
    the connection object. Playwright's event loop (the browser tests) makes Django hand
    out new connection objects in this thread, without them; give them back."""
    for alias, contents in _serialized_contents.items():
        if contents is not None and not hasattr(connections[alias], "_test_serialized_contents"):
            connections[alias]._test_serialized_contents = contents
