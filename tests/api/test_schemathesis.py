"""schemathesis against the running app's own schema: stateless, property-based
requests to every operation through the WSGI application, as Finance, with valid and
invalid input. No answer may be a 5xx, and every answer must be one the schema
documents (status code, content type, body)."""

import itertools

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import override_settings
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounting import services as accounting
from config.wsgi import application
from core.tokens import token_issue

EXAMPLES_PER_OPERATION = 8
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


# The schema as /api/schema/ serves it; requests go to the WSGI application.
with override_settings(API_DOCS_PUBLIC=True):
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)


@pytest.fixture
def _keep_the_test_connection():
    """Django's WSGI handler closes the database connection around each request, which
    would end the test's transaction: as Django's test client does, keep it open."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def world(
    _keep_the_test_connection, finance, book, make_invoice, make_expense, make_purchase_order
):
    """Finance's token, and records of every kind (one of them in a batch)."""
    closed, draft = make_invoice(), make_invoice(closed=False)
    entry = make_expense()
    order, line = make_purchase_order()
    batch = accounting.batch_create(actor=finance, items=[{"type": "invoice", "id": closed.pk}])
    ids = {
        "/api/v1/accounting/batches/": batch.pk,
        "/api/v1/accounting/gl-accounts/": book["accounts"]["income"].pk,
        "/api/v1/accounting/tax-codes/": book["tax"].pk,
        "/api/v1/companies/": book["client"].pk,
        "/api/v1/expense-entries/": entry.pk,
        "/api/v1/expense-sheets/": entry.sheet_id,
        "/api/v1/expense-types/": book["travel"].pk,
        "/api/v1/invoice-statuses/": draft.status_id,
        "/api/v1/invoices/": draft.pk,
        "/api/v1/purchase-order-lines/": line.pk,
        "/api/v1/purchase-orders/": order.pk,
    }
    return token_issue(user=finance)[1], ids


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_api_answers_within_its_schema(case, world):
    token, ids = world
    # Every other request aims at a record that exists, so that the fuzzed input reaches
    # the services rather than stopping at "not found".
    prefix = case.operation.path.split("{id}")[0]
    if case.path_parameters and prefix in ids and next(_alternate):
        case.path_parameters["id"] = ids[prefix]
    case.call_and_validate(headers={"Authorization": f"Token {token}"}, checks=CHECKS)


_alternate = itertools.cycle([True, False])
