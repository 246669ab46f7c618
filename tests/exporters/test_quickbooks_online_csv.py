from collections import Counter, defaultdict
from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given, settings

from accounting.exporters import ExportError, get_exporter
from accounting.exporters.base import money, text_cell
from tests.exporters import samples
from tests.exporters.helpers import assert_crlf_only, assert_golden, csv_rows, net, render
from tests.exporters.strategies import batches

JOURNAL_HEADER = [
    "Journal No",
    "Journal Date",
    "Account",
    "Debits",
    "Credits",
    "Description",
    "Name",
]
INVOICE_HEADER = [
    "Invoice number",
    "Customer",
    "Invoice date",
    "Due date",
    "Terms",
    "Memo",
    "Item(Product/Service)",
    "Item Description",
    "Item Quantity",
    "Item Rate",
    "Item Amount",
    "Item tax code",
    "Service Date",
]
INVOICES_ONLY = {"qbo_invoices_as": "invoice"}


def records(text: str, header: list[str]) -> list[dict[str, str]]:
    assert_crlf_only(text)
    rows = csv_rows(text)
    assert rows[0] == header
    assert all(len(row) == len(header) for row in rows)
    return [dict(zip(header, row, strict=True)) for row in rows[1:]]


def test_exporter_describes_its_file():
    exporter = get_exporter("quickbooks_online_csv")
    assert (exporter.format, exporter.extension) == ("quickbooks_online_csv", "csv")


def test_mixed_batch_is_one_journal_file_by_default_matching_golden_file():
    text = render("quickbooks_online_csv", list(samples.ALL_KINDS))
    assert_golden("qbo_journal_all_kinds.csv", text)
    rows = records(text, JOURNAL_HEADER)
    assert [row["Journal No"] for row in rows] == ["INV-1001"] * 4 + ["EXP-7"] * 2 + [
        "PO-0003-F"
    ] * 2 + ["PO-0003-11"] * 3
    receivable = rows[0]
    assert (receivable["Account"], receivable["Debits"], receivable["Name"]) == (
        "Accounts Receivable",
        "1623.75",
        'Acme "East", Inc.',
    )
    assert rows[2]["Description"] == "Router with setup"


def test_invoices_in_invoice_layout_match_golden_file():
    text = render("quickbooks_online_csv", [samples.INVOICE], INVOICES_ONLY)
    assert_golden("qbo_invoices.csv", text)
    rows = records(text, INVOICE_HEADER)
    # The sales tax is QuickBooks' to compute from the tax code, not a row.
    assert [
        (row["Item(Product/Service)"], row["Item Amount"], row["Item tax code"]) for row in rows
    ] == [("Consulting Income", "1000.00", "TX"), ("Hardware Sales", "500.00", "TX")]


def test_invoice_layout_maps_items_tax_codes_and_day_first_dates():
    options = INVOICES_ONLY | {
        "qbo_items": {"4000": "Consulting"},
        "qbo_tax_codes": {"TX": "Texas"},
        "qbo_date_format": "dmy",
    }
    rows = records(render("quickbooks_online_csv", [samples.INVOICE], options), INVOICE_HEADER)
    assert [row["Item(Product/Service)"] for row in rows] == ["Consulting", "Hardware Sales"]
    assert {row["Item tax code"] for row in rows} == {"Texas"}
    assert {(row["Invoice date"], row["Due date"]) for row in rows} == {
        ("01/03/2026", "31/03/2026")
    }


def test_invoice_layout_refuses_a_record_that_is_not_an_invoice():
    with pytest.raises(ExportError, match="Expense 7, which is not an invoice") as error:
        render("quickbooks_online_csv", [samples.INVOICE, samples.EXPENSE], INVOICES_ONLY)
    assert error.value.code == "export_not_possible"
    assert error.value.extra["items"][0]["reference"] == "Expense 7"


def test_invoice_layout_refuses_tax_without_a_tax_code():
    untaxed = replace(samples.INVOICE, header=samples.INVOICE.header._replace(tax_code=""))
    with pytest.raises(ExportError, match="no tax code"):
        render("quickbooks_online_csv", [untaxed], INVOICES_ONLY)


def test_unknown_layout_is_refused():
    with pytest.raises(ExportError, match="qbo_invoices_as"):
        render("quickbooks_online_csv", [samples.INVOICE], {"qbo_invoices_as": "zip"})


@settings(max_examples=150, deadline=None)
@given(batches())
def test_journal_entries_balance_and_match_the_gl_lines(postings):
    rows = records(render("quickbooks_online_csv", postings), JOURNAL_HEADER)
    by_number = defaultdict(list)
    for row in rows:
        assert bool(row["Debits"]) != bool(row["Credits"])
        by_number[row["Journal No"]].append(row)
    for posting in postings:
        entry = by_number.pop(text_cell(posting.header.number), [])
        debits = sum((Decimal(row["Debits"] or 0) for row in entry), Decimal(0))
        credits = sum((Decimal(row["Credits"] or 0) for row in entry), Decimal(0))
        assert debits == credits == sum((max(net(line), 0) for line in posting.lines), 0)
        assert Counter(
            (row["Account"], row["Debits"] or "-" + row["Credits"]) for row in entry
        ) == Counter(
            (text_cell(line.account_name), money(net(line)))
            for line in posting.lines
            if net(line) != 0
        )
        assert {row["Journal Date"] for row in entry} <= {posting.header.date.strftime("%m/%d/%Y")}
        for row in entry:
            named = row["Name"] == text_cell(posting.header.company)
            assert named or row["Name"] == ""
    assert not by_number


@settings(max_examples=150, deadline=None)
@given(batches(kinds=("invoice",)))
def test_invoice_rows_add_up_to_the_invoice_less_its_tax(postings):
    rows = records(render("quickbooks_online_csv", postings, INVOICES_ONLY), INVOICE_HEADER)
    by_number = defaultdict(list)
    for row in rows:
        assert row["Item Rate"] == row["Item Amount"] and row["Item Quantity"] == "1"
        by_number[row["Invoice number"]].append(row)
    for posting in postings:
        invoice = by_number.pop(text_cell(posting.header.number))
        receivable = sum(
            (net(line) for line in posting.lines if line.account_type == "accounts_receivable"),
            Decimal(0),
        )
        tax = -sum(
            (net(line) for line in posting.lines if line.account_type == "sales_tax"), Decimal(0)
        )
        assert sum(Decimal(row["Item Amount"]) for row in invoice) == receivable - tax
        assert {row["Customer"] for row in invoice} == {text_cell(posting.header.company)}
    assert not by_number
