"""Fixtures of the browser views: a set-up book and finished records of each kind, made
through the record apps' own services (as tests/workflows makes them), and a signed-in
Finance user."""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User

from accounting import services as accounting
from accounting.models import DefaultGLAccount, GLAccount, GLAccountType, TaxCode, TransferState
from expenses import services as expense_services
from expenses.models import ExpenseType
from invoicing import services as invoice_services
from invoicing.models import InvoiceStatus
from procurement import services as po_services
from psa.models import Company

DAY = dt.date(2026, 11, 3)


def make_user(username: str, role: str) -> User:
    user = User.objects.create_user(username, password="pw", first_name=username.title())
    user.groups.add(Group.objects.get(name=role))
    return User.objects.get(pk=user.pk)


def status(name: str) -> InvoiceStatus:
    return InvoiceStatus.objects.get(name=name)


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def finance(db):
    return make_user("fiona", "Finance")


@pytest.fixture
def approver(db):
    return make_user("arthur", "Approver")


@pytest.fixture
def staff(db):
    return make_user("sam", "Staff")


@pytest.fixture
def finance_client(client, finance):
    client.force_login(finance)
    return client


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
    return {"accounts": accounts, "tax": tax, "client": client, "vendor": vendor, "travel": travel}


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
def make_expense(book, staff, approver):
    def make(*, approved: bool = True, amount: str = "42.50"):
        sheet = expense_services.expense_sheet_create(
            actor=staff, member=staff, period_start=DAY, period_end=DAY + dt.timedelta(6)
        )
        entry = expense_services.expense_entry_create(
            actor=staff,
            sheet=sheet,
            date=DAY,
            expense_type=book["travel"],
            amount=Decimal(amount),
            description="Taxi to client site",
        )
        if approved:
            expense_services.expense_sheet_submit(actor=staff, sheet=sheet)
            expense_services.expense_sheet_approve(actor=approver, sheet=sheet)
        entry.refresh_from_db()
        return entry

    return make


@pytest.fixture
def make_purchase_order(book, finance):
    def make(*, freight: str = "25.00", received: bool = True, closed: bool = True):
        po = po_services.purchase_order_create(
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
        line = po.lines.get()
        if received:
            po_services.purchase_order_line_receive(actor=finance, line=line, received_date=DAY)
        if closed:
            po = po_services.purchase_order_update(
                actor=finance, purchase_order=po, status="closed"
            )
        po.refresh_from_db()
        line.refresh_from_db()
        return po, line

    return make


@pytest.fixture
def send(finance, django_capture_on_commit_callbacks):
    """Batch records through the service and run the transfer (inline)."""

    def run(items, **options):
        with django_capture_on_commit_callbacks(execute=True):
            batch = accounting.batch_create(
                actor=finance, items=items, transfer=options.pop("transfer", "file"), **options
            )
        batch.refresh_from_db()
        assert batch.transfer_state == TransferState.DONE, batch.transfer_error
        return batch

    return run
