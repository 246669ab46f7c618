"""Browser tests: Debian's Chromium driven by Playwright against pytest-django's live
server, on a transactional database, with Celery tasks inline.

Playwright's sync API runs an event loop in the test's thread; Django would take the
ORM calls of the test (fixtures, checks) for calls from async code, so they are
allowed explicitly here.
"""

import datetime as dt
import os
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from django.contrib.auth.models import Group, Permission, User

from accounting.models import (
    AccountingSetup,
    DefaultGLAccount,
    GLAccount,
    GLAccountType,
    TaxCode,
)
from expenses import services as expense_services
from expenses.models import ExpenseType
from invoicing import services as invoice_services
from invoicing.models import InvoiceStatus
from procurement import services as po_services
from psa.models import Company
from psa.roles import ROLE_PERMISSIONS

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
DAY = dt.date(2026, 11, 3)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is missing at {CHROMIUM}: apt-get install -y chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1366, "height": 900}, accept_downloads=True
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def shot(page):
    """Save a full-page screenshot for a reviewer: test-output/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


# --- the book -------------------------------------------------------------------------


@pytest.fixture
def base_rows(transactional_db):
    """Rows the migrations make (roles, invoice statuses, the setup row); a flushed
    transactional database may have lost them."""
    for role, names in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        for name in names:
            app_label, codename = name.split(".")
            group.permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
    for order, (name, is_closed) in enumerate([("New", False), ("Sent", False), ("Closed", True)]):
        InvoiceStatus.objects.get_or_create(
            name=name, defaults={"is_closed": is_closed, "sort_order": order}
        )
    AccountingSetup.objects.get_or_create(pk=1)


def make_user(username: str, role: str) -> User:
    user = User.objects.create_user(username, password="pw", first_name=username.title())
    user.groups.add(Group.objects.get(name=role))
    return User.objects.get(pk=user.pk)


def status(name: str) -> InvoiceStatus:
    return InvoiceStatus.objects.get(name=name)


@pytest.fixture
def finance(base_rows):
    user = make_user("fiona", "Finance")
    user.last_name = "Finch"
    user.save(update_fields=["last_name"])
    return user


@pytest.fixture
def approver(base_rows):
    return make_user("arthur", "Approver")


@pytest.fixture
def staff(base_rows):
    return make_user("sam", "Staff")


@pytest.fixture
def book(base_rows):
    accounts = {}
    for number, account_type in enumerate(GLAccountType.values, start=1100):
        accounts[account_type] = GLAccount.objects.create(
            number=str(number), name=account_type.replace("_", " ").title(), type=account_type
        )
        DefaultGLAccount.objects.create(type=account_type, gl_account=accounts[account_type])
    tax = TaxCode.objects.create(
        code="ST", name="State tax", rate=Decimal("8.25"), gl_account=accounts["sales_tax"]
    )
    client = Company.objects.create(identifier="ACME", name="Acme Dental Group")
    vendor = Company.objects.create(
        identifier="DIST", name="Ingram Distribution", is_client=False, is_vendor=True
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
                    "description": "Managed services - per seat",
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
def signed_in(page, finance):
    """Sign in through the login form, as Finance."""
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("fiona")
    page.get_by_label("Password").fill("pw")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")
    return page
