from collections import Counter, defaultdict
from decimal import Decimal

import pytest
from hypothesis import given, settings

from accounting.exporters import ExportError, get_exporter
from accounting.exporters.base import money, text_cell
from tests.exporters import samples
from tests.exporters.helpers import assert_crlf_only, assert_golden, csv_rows, net, render
from tests.exporters.strategies import batches

SALES_HEADER = [
    "ContactName",
    "EmailAddress",
    "POAddressLine1",
    "POAddressLine2",
    "POAddressLine3",
    "POAddressLine4",
    "POCity",
    "PORegion",
    "POPostalCode",
    "POCountry",
    "InvoiceNumber",
    "Reference",
    "InvoiceDate",
    "DueDate",
    "InventoryItemCode",
    "Description",
    "Quantity",
    "UnitAmount",
    "Discount",
    "AccountCode",
    "TaxType",
    "TrackingName1",
    "TrackingOption1",
    "TrackingName2",
    "TrackingOption2",
    "Currency",
    "BrandingTheme",
]
BILL_HEADER = [
    column for column in SALES_HEADER if column not in ("Reference", "Discount", "BrandingTheme")
]
CONTROL = {"invoice": {"accounts_receivable"}}
BILL_CONTROL = {"accounts_payable", "reimbursement"}


def records(text: str, header: list[str]) -> list[dict[str, str]]:
    assert_crlf_only(text)
    rows = csv_rows(text)
    assert rows[0] == header
    assert all(len(row) == len(header) for row in rows)
    return [dict(zip(header, row, strict=True)) for row in rows[1:]]


def test_exporter_describes_its_file():
    exporter = get_exporter("xero_csv")
    assert (exporter.format, exporter.extension) == ("xero_csv", "csv")


def test_sales_invoices_match_golden_file():
    text = render("xero_csv", [samples.INVOICE])
    assert_golden("xero_sales_invoices.csv", text)
    rows = records(text, SALES_HEADER)
    assert [(row["AccountCode"], row["UnitAmount"]) for row in rows] == [
        ("4000", "1000.00"),
        ("4100", "500.00"),
        ("2200", "123.75"),
    ]
    assert {(row["InvoiceDate"], row["DueDate"], row["TaxType"]) for row in rows} == {
        ("01/03/2026", "31/03/2026", "Tax Exempt")
    }


def test_bills_match_golden_file():
    text = render("xero_csv", list(samples.BILLS))
    assert_golden("xero_bills.csv", text)
    rows = records(text, BILL_HEADER)
    assert [(row["ContactName"], row["InvoiceNumber"], row["UnitAmount"]) for row in rows] == [
        ("Dana Smith", "EXP-7", "84.50"),
        ("Northwind Supply", "PO-0003-F", "25.00"),
        ("Northwind Supply", "PO-0003-11", "400.00"),
        ("Northwind Supply", "PO-0003-11", "33.00"),
    ]


def test_us_dates_tax_type_and_currency_from_options():
    options = {"xero_date_format": "us", "xero_tax_type": "No VAT", "currency": "GBP"}
    rows = records(render("xero_csv", [samples.INVOICE], options), SALES_HEADER)
    assert {
        (row["InvoiceDate"], row["DueDate"], row["TaxType"], row["Currency"]) for row in rows
    } == {("03/01/2026", "03/31/2026", "No VAT", "GBP")}


def test_a_batch_mixing_invoices_and_bills_is_refused():
    with pytest.raises(ExportError, match="mixes sales invoices and bills") as error:
        render("xero_csv", [samples.INVOICE, samples.FREIGHT])
    assert error.value.extra["items"][0]["reference"] == "Freight on PO PO-0003"
    with pytest.raises(ExportError, match=r"\(Invoice INV-1001\)"):
        render("xero_csv", [samples.EXPENSE, samples.INVOICE])


def test_more_than_500_documents_is_refused():
    from dataclasses import replace

    postings = [
        replace(samples.FREIGHT, header=samples.FREIGHT.header._replace(id=n, number=f"F-{n}"))
        for n in range(501)
    ]
    assert len(records(render("xero_csv", postings[:500]), BILL_HEADER)) == 500
    with pytest.raises(ExportError, match="at most that many"):
        render("xero_csv", postings)


def check_documents(postings, rows, *, control_types, sign):
    by_number = defaultdict(list)
    for row in rows:
        assert row["Quantity"] == "1" and row["Description"]
        by_number[row["InvoiceNumber"]].append(row)
    for posting in postings:
        document = by_number.pop(text_cell(posting.header.number))
        control = [line for line in posting.lines if line.account_type in control_types]
        others = [line for line in posting.lines if line.account_type not in control_types]
        total = -sign * sum((net(line) for line in control), Decimal(0))
        assert sum(Decimal(row["UnitAmount"]) for row in document) == total
        assert Counter((row["AccountCode"], row["UnitAmount"]) for row in document) == Counter(
            (text_cell(line.account_number), money(sign * net(line))) for line in others
        )
        assert {row["ContactName"] for row in document} == {text_cell(posting.header.company)}
    assert not by_number


@settings(max_examples=150, deadline=None)
@given(batches(kinds=("invoice",)))
def test_sales_invoices_total_the_receivable_and_match_the_gl_lines(postings):
    rows = records(render("xero_csv", postings), SALES_HEADER)
    check_documents(postings, rows, control_types={"accounts_receivable"}, sign=-1)


@settings(max_examples=150, deadline=None)
@given(batches(kinds=("expense", "freight", "product")))
def test_bills_total_the_payable_and_match_the_gl_lines(postings):
    rows = records(render("xero_csv", postings), BILL_HEADER)
    check_documents(postings, rows, control_types=BILL_CONTROL, sign=1)
