"""Fixtures every folder shares: users in each role, a set-up book, and records of each
kind made through the services; and the database checks of the whole suite."""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.db import connection, connections

from core.roles import APPROVER, FINANCE, STAFF
from expenses import services as expense_services
from invoicing import services as invoice_services
from procurement import services as po_services
from tests.factories import (
    CompanyFactory,
    ExpenseTypeFactory,
    TaxCodeFactory,
    VendorFactory,
    setup_default_accounts,
)
from tests.helpers import DAY, make_user, status


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


# --- users in each role ----------------------------------------------------------------


@pytest.fixture
def finance(db):
    return make_user("fiona", FINANCE)


@pytest.fixture
def approver(db):
    return make_user("arthur", APPROVER)


@pytest.fixture
def staff(db):
    return make_user("sam", STAFF)


# --- the book and records, made through the record apps' own services --------------------


@pytest.fixture
def book(db):
    """The setup's default GL account of every type, a tax code, a client, a vendor and
    an expense type. (`db` follows the test's marker: transactional where it says so.)"""
    accounts = setup_default_accounts()
    return {
        "accounts": accounts,
        "tax": TaxCodeFactory(
            code="ST", name="State tax", rate=Decimal("8.25"), gl_account=accounts["sales_tax"]
        ),
        "client": CompanyFactory(identifier="ACME", name="Acme Corp"),
        "vendor": VendorFactory(identifier="DIST", name="Distributor Inc"),
        "travel": ExpenseTypeFactory(code="TRAVEL", name="Travel", gl_account=accounts["expense"]),
    }


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
    """`make_sheet(member=..., entries=...)`: an open expense sheet (Staff's by default)
    with that many travel entries."""

    def make(*, member: User | None = None, entries: int = 1, amount: str = "42.50"):
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
                amount=Decimal(amount),
                description="Taxi to client site",
            )
        return sheet

    return make


@pytest.fixture
def make_expense(make_sheet, staff, approver):
    """An expense entry of Staff's, on a sheet the Approver approved (unless not)."""

    def make(*, approved: bool = True, amount: str = "42.50"):
        sheet = make_sheet(amount=amount)
        if approved:
            expense_services.expense_sheet_submit(actor=staff, sheet=sheet)
            expense_services.expense_sheet_approve(actor=approver, sheet=sheet)
        return sheet.entries.get()

    return make


@pytest.fixture
def make_purchase_order(book, finance):
    """`(purchase_order, line)`: one product line, received, and the order closed with
    its freight (unless not)."""

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


# --- the folder ledgers live in ------------------------------------------------------------


@pytest.fixture
def ledger_root(tmp_path, settings):
    """LEDGER_ROOT, an empty folder of its own for the test: setup names ledgers
    relative to it. Its parent (`tmp_path`) stands for the rest of the server's disk."""
    root = tmp_path / "ledgers"
    root.mkdir()
    settings.LEDGER_ROOT = root
    return root
