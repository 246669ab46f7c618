"""`conditions`, `orderBy` and `fields`: a table of accepted expressions with the
records they select, and of rejected ones with their 400s in ConnectWise's error shape
(unknown field, bad operator, unbalanced parenthesis, wrong types, injection attempts).
Nothing but the whitelist reaches the ORM, and no input gives a 500."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db.models import Q

from core.models import Company
from cwapi.conditions import Field, parse_conditions
from cwapi.errors import CwError
from invoicing import services as invoice_services
from tests.cwapi import cw_models as m
from tests.cwapi.conftest import ACCOUNTING
from tests.helpers import DAY, status

UNPOSTED = ACCOUNTING + "unpostedinvoices"


@pytest.fixture
def invoices(finance, book):
    """Three closed invoices: ACME 100.00 (day), ACME 250.00 (day + 1, no tax code),
    GLOBEX "O'Brien \"quoted\"" 40.00 (day + 2)."""
    globex = Company.objects.create(identifier="GLOBEX", name='O\'Brien "quoted" & Co')
    made = []
    for company, price, offset, tax in [
        (book["client"], "100.00", 0, None),
        (book["client"], "250.00", 1, None),
        (globex, "40.00", 2, None),
    ]:
        invoice = invoice_services.invoice_create(
            actor=finance,
            company=company,
            date=DAY + dt.timedelta(offset),
            tax_code=tax,
            lines=[{"description": "Work", "quantity": Decimal(1), "unit_price": Decimal(price)}],
        )
        made.append(
            invoice_services.invoice_update(actor=finance, invoice=invoice, status=status("Closed"))
        )
    return made


ACCEPTED = [
    ('company/identifier = "ACME"', [0, 1]),
    ('company/identifier="acme"', [0, 1]),  # text compares case-insensitively, as CW does
    ('company/identifier != "ACME"', [2]),
    ("total > 100", [1]),
    ("total >= 100", [0, 1]),
    ("total < 100.5 and total > 40", [0]),
    ("total <= 40", [2]),
    ('total = 250 or company/identifier = "GLOBEX"', [1, 2]),
    ('(total = 250 or total = 40) and company/identifier = "ACME"', [1]),
    ("not (total = 250)", [0, 2]),
    ("invoiceDate = [2026-11-04T00:00:00Z]", [1]),
    ("invoiceDate >= [2026-11-04T00:00:00Z]", [1, 2]),
    ("invoiceDate <= [2026-11-04T03:00:00+05:00]", [0]),  # 3 Nov 22:00 UTC
    ('company/name contains "brien"', [2]),
    ('company/name not contains "brien"', [0, 1]),
    ('company/name like "acme%"', [0, 1]),
    ('company/name like "*\\"quoted\\"*"', [2]),
    ('company/name = "O\'Brien \\"quoted\\" & Co"', [2]),
    ("total in (100, 40)", [0, 2]),
    ("total not in (100, 40)", [1]),
    ('company/identifier in ("acme", "nobody")', [0, 1]),
    ("taxCode/id = null", [0, 1, 2]),
    ("taxCode/id != null", []),
    ("dueDate = null", [0, 1, 2]),
    ("  total  >  200  AND  company/id > 0 ", [1]),
    ("", [0, 1, 2]),
]


@pytest.mark.parametrize(("conditions", "expected"), ACCEPTED)
def test_accepted_conditions_select_the_records(tool, invoices, conditions, expected):
    response = tool.get(UNPOSTED, {"conditions": conditions})
    assert response.status_code == 200, response.json()
    rows = m.parse(m.UnpostedInvoice, response.json(), many=True)
    assert [row.id for row in rows] == [invoices[i].pk for i in expected]
    count = tool.get(UNPOSTED + "/count", {"conditions": conditions}).json()["count"]
    assert count == len(expected)


def test_id_conditions_use_the_records_own_ids(tool, invoices):
    response = tool.get(UNPOSTED, {"conditions": f"id = {invoices[1].pk}"})
    assert [row["id"] for row in response.json()] == [invoices[1].pk]


REJECTED = [
    ('status = "Closed"', "status is not a field"),  # not in the whitelist
    ("password = 1", "password is not a field"),
    ('company/password = "x"', "company/password is not a field"),
    ("gl_batch_id = null", "gl_batch_id is not a field"),  # a column, but not a CW field
    ("total == 100", "total takes a number; found '='"),
    ("total => 100", "total takes a number; found '>'"),
    ("total ~ 100", "unexpected character"),
    ("total between 1 and 2", "expected an operator"),
    ("(total = 100", "unbalanced '('"),
    ("total = 100)", "unbalanced ')'"),
    ("((total = 100)", "unbalanced '('"),
    ("total = ", "found the end"),
    ("total", "expected an operator"),
    ("and total = 1", "expected a field"),
    ("total = 1 and", "expected a field"),
    ("total = 1 total = 2", "expected 'and' or 'or'"),
    ('total = "100"', "takes a number"),
    ("invoiceNumber = INV", "takes a quoted text"),
    ("invoiceDate = 2026-11-03", "takes a date"),
    ("invoiceDate = [yesterday]", "is not a date"),
    ("invoiceDate = [2026-13-45T00:00:00Z]", "is not a date"),
    ("total > null", "null can only be compared"),
    ("total contains 1", "contains needs a text field"),
    ("id = 1.5", "takes a whole number"),
    ("id = 99999999999999999999999", "takes a whole number"),
    ("total in ()", "total takes a number; found ')'"),
    ("total in (1, null)", "cannot hold null"),
    ('invoiceNumber = "x"; DROP TABLE invoicing_invoice; --', "unexpected character"),
    ("invoiceNumber = '' OR 1=1", "unexpected character"),
    ('invoiceNumber = "" or 1 = 1', "expected a field"),
    ('invoiceNumber = "a" /* comment */', "unexpected character"),
    ("total = 1 union select 1", "expected 'and' or 'or'"),
    ('company/identifier = "ACME" or company__identifier = "x"', "is not a field"),
    ('invoiceNumber = "unterminated', "unexpected character"),
    ("(" * 40 + "total = 1" + ")" * 40, "nested more than"),
    ("total = 1 and " * 120 + "total = 1", "at most 100 comparisons"),
    ("x" * 5000, "at most 4000 characters"),
]


@pytest.mark.parametrize(("conditions", "message"), REJECTED)
def test_rejected_conditions_are_400_naming_the_problem(tool, invoices, conditions, message):
    for path in (UNPOSTED, UNPOSTED + "/count"):
        response = tool.get(path, {"conditions": conditions})
        assert response.status_code == 400, (conditions, response.content)
        error = m.parse(m.Error, response.json())
        assert error.code == "InvalidObject"
        assert message in error.message, error.message
        assert error.errors[0].field == "conditions"
    assert len(invoices) == 3  # the table is still there


def test_parser_builds_orm_filters_over_the_whitelist_only():
    fields = {"total": Field("total", "decimal"), "company/name": Field("company__name", "string")}
    assert parse_conditions('total > 5 and company/name = "A"', fields) == Q(
        total__gt=Decimal(5)
    ) & Q(company__name__iexact="A")
    assert parse_conditions("not total = 1 or total = 2", fields) == ~Q(
        total__exact=Decimal(1)
    ) | Q(total__exact=Decimal(2))
    assert parse_conditions('company/name like "a%b*c.d"', fields) == Q(
        company__name__iregex=r"^a.*b.*c\.d$"
    )
    with pytest.raises(CwError):
        parse_conditions("company__name = 1", fields)


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        ("total desc", [1, 0, 2]),
        ("total asc", [2, 0, 1]),
        ("total", [2, 0, 1]),
        ("company/identifier asc, total desc", [1, 0, 2]),
        ("invoiceDate desc", [2, 1, 0]),
    ],
)
def test_order_by(tool, invoices, order_by, expected):
    response = tool.get(UNPOSTED, {"orderBy": order_by})
    assert [row["id"] for row in response.json()] == [invoices[i].pk for i in expected]


@pytest.mark.parametrize(
    "order_by", ["secret desc", "total sideways", "total desc extra", "company__name"]
)
def test_order_by_outside_the_whitelist_is_400(tool, invoices, order_by):
    response = tool.get(UNPOSTED, {"orderBy": order_by})
    assert response.status_code == 400
    assert m.parse(m.Error, response.json()).errors[0].field == "orderBy"


def test_fields_returns_only_those_fields(tool, invoices):
    response = tool.get(
        UNPOSTED, {"fields": "id,total,company/identifier,_info/lastUpdated", "orderBy": "total"}
    )
    assert response.status_code == 200
    first = response.json()[0]
    assert set(first) == {"id", "total", "company", "_info"}
    assert first["company"] == {"identifier": "GLOBEX"}
    assert set(first["_info"]) == {"lastUpdated"}
    one = tool.get(UNPOSTED + f"/{invoices[0].pk}", {"fields": "invoiceNumber"}).json()
    assert one == {"invoiceNumber": invoices[0].number}


def test_procurement_conditions_span_products_and_freight(tool, make_purchase_order):
    make_purchase_order()
    both = tool.get(ACCOUNTING + "unpostedprocurement", {"conditions": "total > 10"}).json()
    assert len(both) == 2
    products = tool.get(ACCOUNTING + "unpostedprocurement", {"conditions": "total > 100"}).json()
    assert [row["description"] for row in products] == ["Firewall appliance"]
    ordered = tool.get(ACCOUNTING + "unpostedprocurement", {"orderBy": "total desc"}).json()
    assert [row["total"] for row in ordered] == [866.0, 25.0]
    vendor = tool.get(
        ACCOUNTING + "unpostedprocurement/count", {"conditions": 'vendor/identifier = "DIST"'}
    )
    assert vendor.json() == {"count": 2}
