import io
from decimal import Decimal

import pytest
from hypothesis import given, settings

from accounting.exporters import ExportError, get_exporter
from accounting.exporters.base import CSVWriter, money, text_cell
from accounting.gl import GLLine, Posting
from core.errors import ApplicationError
from tests.exporters import samples
from tests.exporters.helpers import assert_crlf_only, assert_golden, csv_rows, render
from tests.exporters.strategies import batches

HEADER = [
    "batch",
    "record_type",
    "reference",
    "date",
    "account_number",
    "account_name",
    "debit",
    "credit",
    "memo",
]


def test_exporter_describes_its_file():
    exporter = get_exporter("gl_journal_csv")
    assert (exporter.format, exporter.extension) == ("gl_journal_csv", "csv")
    assert exporter.content_type.startswith("text/csv")


def test_gl_journal_of_every_kind_matches_golden_file():
    text = render("gl_journal_csv", list(samples.ALL_KINDS))
    assert_golden("gl_journal_all_kinds.csv", text)
    assert_crlf_only(text)


def test_one_row_per_gl_line_with_tabs_and_newlines_flattened():
    rows = csv_rows(render("gl_journal_csv", [samples.INVOICE]))
    assert rows[0] == HEADER
    assert len(rows) == 1 + len(samples.INVOICE.lines)
    assert rows[3][-1] == "Router with setup"
    assert rows[1][:8] == [
        "GL-0042",
        "invoice",
        "Invoice INV-1001",
        "2026-03-01",
        "1100",
        "Accounts Receivable",
        "1623.75",
        "0.00",
    ]


def test_an_unbalanced_posting_is_refused():
    lines = (
        *samples.FREIGHT.lines[:1],
        GLLine("2000", "Accounts Payable", "accounts_payable", Decimal("0.00"), Decimal("24.99")),
    )
    with pytest.raises(ExportError, match="does not balance"):
        render("gl_journal_csv", [Posting(samples.FREIGHT.header, lines)])


@pytest.mark.parametrize(
    ("format", "postings"),
    [
        ("gl_journal_csv", samples.ALL_KINDS * 1500),
        ("iif", samples.ALL_KINDS * 1500),
        ("quickbooks_online_csv", samples.ALL_KINDS * 1500),
        ("xero_csv", samples.BILLS * 160),
    ],
)
def test_writers_stream_rows_at_most_a_few_thousand_behind_the_postings(format, postings):
    """A batch of any size is written with bounded memory: while the writer reads the
    postings, it is fewer than CSVWriter.ROWS_PER_WRITE rows behind them."""
    out = io.StringIO(newline="")
    header_rows = render(format, []).count("\r\n")
    rows_of = [render(format, [posting]).count("\r\n") - header_rows for posting in postings]

    def read_one_at_a_time():
        due = header_rows
        for posting, rows in zip(postings, rows_of, strict=True):
            written = out.getvalue().count("\r\n")
            assert due - written < CSVWriter.ROWS_PER_WRITE
            yield posting
            due += rows

    written = get_exporter(format).write(
        read_one_at_a_time(), out, batch_identifier="GL-1", options={}
    )
    assert written == len(postings)
    assert out.getvalue().count("\r\n") == header_rows + sum(rows_of)


@settings(max_examples=150, deadline=None)
@given(batches())
def test_every_record_balances_and_matches_its_gl_lines(postings):
    text = render("gl_journal_csv", postings, batch_identifier="GL\t7")
    assert_crlf_only(text)
    rows = csv_rows(text)
    assert rows[0] == HEADER
    body = iter(rows[1:])
    for posting in postings:
        record_rows = [next(body) for _ in posting.lines]
        assert all(len(row) == len(HEADER) for row in record_rows)
        assert {row[0] for row in record_rows} == {"GL 7"}
        assert {(row[1], row[2], row[3]) for row in record_rows} == {
            (
                posting.header.type,
                text_cell(posting.header.reference),
                posting.header.date.isoformat(),
            )
        }
        debits = sum(Decimal(row[6]) for row in record_rows)
        credits = sum(Decimal(row[7]) for row in record_rows)
        assert debits == credits == posting.total_debit
        assert [(row[4], row[5], row[6], row[7]) for row in record_rows] == [
            (
                text_cell(line.account_number),
                text_cell(line.account_name),
                money(line.debit),
                money(line.credit),
            )
            for line in posting.lines
        ]
    assert next(body, None) is None


def test_unknown_format_is_a_validation_error():
    with pytest.raises(ApplicationError, match="not an export format") as error:
        get_exporter("ofx")
    assert error.value.code == "validation_error"


@pytest.mark.parametrize(
    ("format", "extension"),
    [
        ("iif", "iif"),
        ("quickbooks_online_csv", "csv"),
        ("xero_csv", "csv"),
        ("gl_journal_csv", "csv"),
    ],
)
def test_every_format_has_an_exporter_and_an_empty_batch_is_just_a_header(format, extension):
    exporter = get_exporter(format)
    assert (exporter.format, exporter.extension) == (format, extension)
    assert exporter.content_type.endswith("charset=utf-8")
    out = io.StringIO(newline="")
    assert exporter.write(iter(()), out, batch_identifier="GL-0", options={}) == 0
    assert out.getvalue().endswith("\r\n") and out.getvalue().count("\r\n") in (1, 3)
