"""Hand-built postings of every kind, shaped like the GL lines the record apps post."""

from datetime import date
from decimal import Decimal

from accounting.gl import BILL, SALE, GLLine, Posting, PostingHeader

ZERO = Decimal("0.00")

ACCOUNTS = {
    "1100": ("Accounts Receivable", "accounts_receivable"),
    "1300": ("Inventory", "inventory"),
    "2000": ("Accounts Payable", "accounts_payable"),
    "2100": ("Employee Reimbursements", "reimbursement"),
    "2200": ("Sales Tax Payable", "sales_tax"),
    "4000": ("Consulting Income", "income"),
    "4100": ("Hardware Sales", "income"),
    "5100": ("Freight In", "freight"),
    "6100": ("Travel", "expense"),
}


def debit(number: str, amount: str, memo: str = "") -> GLLine:
    name, type_ = ACCOUNTS[number]
    return GLLine(number, name, type_, Decimal(amount), ZERO, memo)


def credit(number: str, amount: str, memo: str = "") -> GLLine:
    name, type_ = ACCOUNTS[number]
    return GLLine(number, name, type_, ZERO, Decimal(amount), memo)


INVOICE = Posting(
    header=PostingHeader(
        type="invoice",
        document=SALE,
        id=42,
        reference="Invoice INV-1001",
        number="INV-1001",
        date=date(2026, 3, 1),
        due_date=date(2026, 3, 31),
        company='Acme "East", Inc.',
        company_identifier="ACME",
        tax_code="TX",
    ),
    lines=(
        debit("1100", "1623.75", "Invoice INV-1001"),
        # Text a spreadsheet would take for a formula: written with a quote in front.
        credit("4000", "1000.00", '=HYPERLINK("https://evil.example","March consulting, 10 h")'),
        credit("4100", "500.00", "Router\twith\r\nsetup"),
        credit("2200", "123.75", "Sales tax TX"),
    ),
)

EXPENSE = Posting(
    header=PostingHeader(
        type="expense",
        document=BILL,
        id=7,
        reference="Expense 7",
        number="EXP-7",
        date=date(2026, 3, 2),
        company="Dana Smith",
        company_identifier="dana",
    ),
    lines=(
        debit("6100", "84.50", "Travel: Taxi to client\nsite"),
        credit("2100", "84.50", "Reimburse Dana Smith"),
    ),
)

FREIGHT = Posting(
    header=PostingHeader(
        type="freight",
        document=BILL,
        id=3,
        reference="Freight on PO PO-0003",
        number="PO-0003-F",
        date=date(2026, 3, 3),
        company="Northwind Supply",
        company_identifier="NORTHWIND",
    ),
    lines=(
        debit("5100", "25.00", "+Freight PO PO-0003"),
        credit("2000", "25.00", "Freight PO PO-0003"),
    ),
)

PRODUCT = Posting(
    header=PostingHeader(
        type="product",
        document=BILL,
        id=11,
        reference="Product 11 on PO PO-0003",
        number="PO-0003-11",
        date=date(2026, 3, 4),
        company="Northwind Supply",
        company_identifier="NORTHWIND",
        tax_code="TX",
    ),
    lines=(
        debit("1300", "400.00", "Switch, 24 port"),
        debit("2200", "33.00", "Tax TX"),
        credit("2000", "433.00", "PO PO-0003"),
    ),
)

ALL_KINDS = (INVOICE, EXPENSE, FREIGHT, PRODUCT)
BILLS = (EXPENSE, FREIGHT, PRODUCT)
