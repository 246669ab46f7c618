"""Fixtures for the API tests: users in each role, a set-up book, records made through
the services, and API clients that check every response against the served schema."""

import datetime as dt
import json
import re
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.core.cache import cache
from django.test import Client
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounting.models import (
    AccountingSetup,
    DefaultGLAccount,
    GLAccount,
    GLAccountType,
    TaxCode,
    TransferState,
)
from expenses import services as expense_services
from expenses.models import ExpenseType
from invoicing import services as invoice_services
from invoicing.models import InvoiceStatus
from procurement import services as po_services
from psa.models import Company
from psa.roles import APPROVER, FINANCE, STAFF

DAY = dt.date(2026, 11, 3)
SCHEMA_URI = "urn:psa-api-schema"


# --- the served schema, and clients that hold every response to it -----------------------


@pytest.fixture(scope="session")
def openapi_schema(django_db_blocker) -> dict[str, Any]:
    with django_db_blocker.unblock():
        response = Client().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200, response.content[:500]
    return json.loads(response.content)


class SchemaChecker:
    """Finds the operation a request hit and validates the response against it."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema
        resource = Resource.from_contents(schema, default_specification=DRAFT202012)
        self.registry = Registry().with_resource(SCHEMA_URI, resource)
        self.routes = []
        for template in schema["paths"]:
            pattern = re.sub(r"\{[^}/]+\}", r"[^/]+", template)
            # Literal paths before templated ones, so /setup/restore-options/ wins.
            self.routes.append((template.count("{"), re.compile(f"^{pattern}$"), template))
        self.routes.sort(key=lambda route: route[0])

    def operation(self, method: str, path: str) -> tuple[str, dict] | None:
        for _, pattern, template in self.routes:
            if pattern.match(path):
                operation = self.schema["paths"][template].get(method.lower())
                return (template, operation) if operation else None
        return None

    def check(self, method: str, path: str, response) -> None:
        found = self.operation(method, path)
        if found is None:
            return  # not an operation of the schema (a test of unknown paths)
        template, operation = found
        responses = operation["responses"]
        code = str(response.status_code)
        assert code in responses or "default" in responses, (
            f"{method} {template} answered {code}, which its schema does not document "
            f"({', '.join(responses)}): {response.content[:300]!r}"
        )
        documented = responses.get(code) or responses["default"]
        content = documented.get("content")
        if not content:
            assert not response.content, f"{method} {template} {code} should have no body"
            return
        media_type = response["Content-Type"].split(";")[0].strip()
        assert media_type in content, (
            f"{method} {template} {code} answered {media_type}; documented: {list(content)}"
        )
        if media_type != "application/json":
            return
        pointer = "/".join(
            part.replace("~", "~0").replace("/", "~1")
            for part in (
                "paths",
                template,
                method.lower(),
                "responses",
                code,
                "content",
                media_type,
                "schema",
            )
        )
        validator = Draft202012Validator(
            {"$ref": f"{SCHEMA_URI}#/{pointer}"},
            registry=self.registry,
            format_checker=FormatChecker(),
        )
        body = json.loads(response.content)
        errors = sorted(validator.iter_errors(body), key=lambda error: list(error.path))
        assert not errors, f"{method} {template} {code} does not match its schema: " + "; ".join(
            f"{list(e.path)}: {e.message}" for e in errors[:5]
        )


@pytest.fixture(scope="session")
def schema_checker(openapi_schema) -> SchemaChecker:
    return SchemaChecker(openapi_schema)


class CheckedClient(APIClient):
    """An APIClient whose every response is checked against the served schema."""

    checker: SchemaChecker

    def request(self, **request: Any):
        response = super().request(**request)
        self.checker.check(request["REQUEST_METHOD"], request["PATH_INFO"], response)
        return response


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Users are made for nearly every test; the production hasher is slow on purpose.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_throttle_counts():
    # The token endpoint's throttle counts in the cache; each test starts afresh.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api(schema_checker, db):
    """`api(user)`: a client sending the user's API token, as an integration does;
    `api()` is anonymous."""

    def make(user: User | None = None) -> CheckedClient:
        client = CheckedClient()
        client.checker = schema_checker
        if user is not None:
            token, _ = Token.objects.get_or_create(user=user)
            client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return make


# --- users in each role ---------------------------------------------------------------------


def make_user(username: str, role: str | None = None, **fields: Any) -> User:
    user = User.objects.create_user(username, password="pw-Secret-42", **fields)
    if role:
        user.groups.add(Group.objects.get(name=role))
    return User.objects.get(pk=user.pk)  # a fresh permission cache


@pytest.fixture
def finance(db):
    return make_user("fiona", FINANCE, first_name="Fiona")


@pytest.fixture
def approver(db):
    return make_user("arthur", APPROVER, first_name="Arthur")


@pytest.fixture
def staff(db):
    return make_user("sam", STAFF, first_name="Sam")


@pytest.fixture
def administrator(db):
    return User.objects.create_superuser("root", password="pw-Secret-42")


# --- the book and records ----------------------------------------------------------------------


@pytest.fixture
def book(db):
    accounts = {}
    for number, account_type in enumerate(GLAccountType.values, start=1100):
        accounts[account_type] = GLAccount.objects.create(
            number=str(number), name=account_type.replace("_", " ").title(), type=account_type
        )
        DefaultGLAccount.objects.create(type=account_type, gl_account=accounts[account_type])
    tax = TaxCode.objects.create(
        code="ST", name="State tax", rate=Decimal("8.25"), gl_account=accounts["sales_tax"]
    )
    client = Company.objects.create(identifier="ACME", name="Acme Corp")
    vendor = Company.objects.create(
        identifier="DIST", name="Distributor Inc", is_client=False, is_vendor=True
    )
    travel = ExpenseType.objects.create(
        code="TRAVEL", name="Travel", gl_account=accounts["expense"]
    )
    AccountingSetup.objects.update_or_create(
        pk=1, defaults={"package": "other", "direct_transfer": False, "options": {}}
    )
    return {"accounts": accounts, "tax": tax, "client": client, "vendor": vendor, "travel": travel}


def status(name: str) -> InvoiceStatus:
    return InvoiceStatus.objects.get(name=name)


@pytest.fixture
def make_invoice(book, finance):
    def make(*, closed: bool = True, price: str = "150.00", quantity: str = "10"):
        invoice = invoice_services.invoice_create(
            actor=finance,
            company=book["client"],
            date=DAY,
            due_date=DAY + dt.timedelta(30),
            tax_code=book["tax"],
            lines=[
                {
                    "description": "Managed services",
                    "quantity": Decimal(quantity),
                    "unit_price": Decimal(price),
                }
            ],
        )
        if closed:
            invoice = invoice_services.invoice_update(
                actor=finance, invoice=invoice, status=status("Closed")
            )
        return invoice

    return make


@pytest.fixture
def make_sheet(book, staff):
    def make(*, member: User | None = None, entries: int = 1):
        member = member or staff
        sheet = expense_services.expense_sheet_create(
            actor=member, member=member, period_start=DAY, period_end=DAY + dt.timedelta(6)
        )
        for _ in range(entries):
            expense_services.expense_entry_create(
                actor=member,
                sheet=sheet,
                date=DAY,
                expense_type=book["travel"],
                amount=Decimal("42.50"),
                description="Taxi to client site",
            )
        return sheet

    return make


@pytest.fixture
def make_expense(make_sheet, staff, approver):
    def make(*, approved: bool = True):
        sheet = make_sheet()
        if approved:
            expense_services.expense_sheet_submit(actor=staff, sheet=sheet)
            expense_services.expense_sheet_approve(actor=approver, sheet=sheet)
        return sheet.entries.get()

    return make


@pytest.fixture
def make_purchase_order(book, finance):
    def make(*, freight: str = "25.00", received: bool = True, closed: bool = True):
        purchase_order = po_services.purchase_order_create(
            actor=finance,
            vendor=book["vendor"],
            date=DAY,
            tax_code=book["tax"],
            freight_amount=Decimal(freight),
            lines=[
                {
                    "description": "Firewall appliance",
                    "quantity": Decimal("2"),
                    "unit_cost": Decimal("400.00"),
                }
            ],
        )
        line = purchase_order.lines.get()
        if received:
            po_services.purchase_order_line_receive(actor=finance, line=line, received_date=DAY)
        if closed:
            purchase_order = po_services.purchase_order_update(
                actor=finance, purchase_order=purchase_order, status="closed"
            )
        purchase_order.refresh_from_db()
        line.refresh_from_db()
        return purchase_order, line

    return make


@pytest.fixture
def send(api, finance, django_capture_on_commit_callbacks):
    """Create a batch through the API, running its transfer as the commit would."""

    def post(items: list[dict] | None = None, *, expect: int = 201, **body: Any) -> dict:
        if items is not None:
            body["items"] = items
        client = api(finance)
        # Tests run in a transaction: the transfer runs when the capture ends, as it
        # runs when the request's transaction commits in production.
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post("/api/v1/accounting/batches/", body)
        assert response.status_code == expect, response.json()
        if expect != 201:
            return response.json()
        batch = client.get(f"/api/v1/accounting/batches/{response.json()['id']}/").json()
        assert batch["transfer"]["state"] == TransferState.DONE, batch
        return batch

    return post
