from collections import Counter
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accounting.exporters import ExportError, get_exporter
from accounting.exporters.base import money, text_cell
from accounting.gl import Posting
from tests.exporters import samples
from tests.exporters.helpers import assert_crlf_only, assert_golden, gl_multiset, net, render
from tests.exporters.strategies import batches

CONTROL_TYPES = {
    "INVOICE": {"accounts_receivable"},
    "BILL": {"accounts_payable", "reimbursement"},
}


def parse_iif(text: str) -> list[list[dict[str, str]]]:
    """Check the structure QuickBooks insists on and return the transactions' rows."""
    assert_crlf_only(text)
    lines = text.split("\r\n")[:-1]
    headers = {}
    for expected, line in zip(("!TRNS", "!SPL", "!ENDTRNS"), lines[:3], strict=True):
        fields = line.split("\t")
        assert fields[0] == expected
        headers[expected[1:]] = fields
    transactions, current = [], None
    for line in lines[3:]:
        fields = line.split("\t")
        kind = fields[0]
        header = headers[kind]
        assert len(fields) == len(header), line
        row = dict(zip(header[1:], fields[1:], strict=True)) | {"kind": kind}
        if kind == "TRNS":
            assert current is None, "TRNS without ENDTRNS"
            current = [row]
        elif kind == "SPL":
            assert current is not None
            current.append(row)
        else:
            assert current is not None and len(current) >= 2
            transactions.append(current)
            current = None
    assert current is None, "TRNS without ENDTRNS"
    return transactions


def test_exporter_describes_its_file():
    exporter = get_exporter("iif")
    assert (exporter.format, exporter.extension) == ("iif", "iif")


def test_invoice_and_bills_match_golden_file():
    text = render("iif", list(samples.ALL_KINDS))
    assert_golden("iif_all_kinds.iif", text)
    transactions = parse_iif(text)
    assert [rows[0]["TRNSTYPE"] for rows in transactions] == ["INVOICE", "BILL", "BILL", "BILL"]


def test_expense_as_general_journal_matches_golden_file():
    text = render("iif", list(samples.BILLS), {"expenses_as": "general_journal"})
    assert_golden("iif_expenses_as_general_journal.iif", text)
    types = [rows[0]["TRNSTYPE"] for rows in parse_iif(text)]
    assert types == ["GENERAL JOURNAL", "BILL", "BILL"]


def test_invoice_trns_is_receivable_with_customer_and_splits_are_negative():
    invoice = parse_iif(render("iif", [samples.INVOICE]))[0]
    assert invoice[0] | {} == {
        "kind": "TRNS",
        "TRNSID": "",
        "TRNSTYPE": "INVOICE",
        "DATE": "03/01/2026",
        "ACCNT": "Accounts Receivable",
        "NAME": 'Acme "East", Inc.',
        "AMOUNT": "1623.75",
        "DOCNUM": "INV-1001",
        "MEMO": "Invoice INV-1001",
        "DUEDATE": "03/31/2026",
    }
    assert [(row["ACCNT"], row["AMOUNT"], row["NAME"]) for row in invoice[1:]] == [
        ("Consulting Income", "-1000.00", ""),
        ("Hardware Sales", "-500.00", ""),
        ("Sales Tax Payable", "-123.75", ""),
    ]
    assert invoice[2]["MEMO"] == "Router with setup"


def test_bill_trns_is_payable_with_vendor_and_negative_total():
    bill = parse_iif(render("iif", [samples.PRODUCT]))[0]
    assert (bill[0]["ACCNT"], bill[0]["NAME"], bill[0]["AMOUNT"]) == (
        "Accounts Payable",
        "Northwind Supply",
        "-433.00",
    )
    assert [row["AMOUNT"] for row in bill[1:]] == ["400.00", "33.00"]


def test_invoice_without_receivable_line_is_refused_with_its_reference():
    posting = Posting(samples.INVOICE.header, samples.INVOICE.lines[1:] + samples.INVOICE.lines[:1])
    parse_iif(render("iif", [posting]))  # order does not matter
    broken = Posting(samples.INVOICE.header, samples.FREIGHT.lines)
    with pytest.raises(ExportError, match="Invoice INV-1001 has no accounts receivable") as error:
        render("iif", [broken])
    assert error.value.extra["items"] == [
        {"type": "invoice", "id": 42, "reference": "Invoice INV-1001"}
    ]


@settings(max_examples=200, deadline=None)
@given(batches(), st.sampled_from([{}, {"expenses_as": "general_journal"}]))
def test_every_transaction_sums_to_zero_and_matches_its_gl_lines(postings, options):
    transactions = parse_iif(render("iif", postings, options))
    assert len(transactions) == len(postings)
    for posting, rows in zip(postings, transactions, strict=True):
        header = posting.header
        assert sum(Decimal(row["AMOUNT"]) for row in rows) == 0
        assert Counter((row["ACCNT"], row["AMOUNT"]) for row in rows) == gl_multiset(posting.lines)
        assert {row["DOCNUM"] for row in rows} == {text_cell(header.number)}
        assert {row["DATE"] for row in rows} == {header.date.strftime("%m/%d/%Y")}
        trns = rows[0]
        transaction_type = trns["TRNSTYPE"]
        assert {row["TRNSTYPE"] for row in rows} == {transaction_type}
        if header.type == "invoice":
            assert transaction_type == "INVOICE"
        elif header.type == "expense" and options:
            assert transaction_type == "GENERAL JOURNAL"
            assert trns["ACCNT"] == text_cell(posting.lines[0].account_name)
        else:
            assert transaction_type == "BILL"
        if transaction_type in CONTROL_TYPES:
            control = next(
                line
                for line in posting.lines
                if line.account_type in CONTROL_TYPES[transaction_type]
            )
            assert trns["ACCNT"] == text_cell(control.account_name)
            assert trns["AMOUNT"] == money(net(control))
            assert trns["NAME"] == text_cell(header.company)
        for row in rows:
            assert "\t" not in row["MEMO"] and "\n" not in row["MEMO"]


def test_a_kind_without_a_quickbooks_document_goes_as_general_journal():
    payment = Posting(
        samples.INVOICE.header._replace(type="payment", document=""), samples.INVOICE.lines
    )
    (rows,) = parse_iif(render("iif", [payment]))
    assert {row["TRNSTYPE"] for row in rows} == {"GENERAL JOURNAL"}
    # In a journal, only the receivable row names the customer.
    assert [row["NAME"] for row in rows] == ['Acme "East", Inc.', "", "", ""]
    assert rows[0]["DUEDATE"] == ""
