"""The fingerprint of a posting: what the transfer log keeps to tell whether a record
sent before has changed since."""

import json
from datetime import date
from decimal import Decimal

import pytest

from accounting.gl import GLLine, Posting
from tests.exporters import samples
from tests.helpers import fingerprint_over_line_objects


def copy(posting: Posting) -> Posting:
    return Posting(posting.header._replace(), tuple(line._replace() for line in posting.lines))


@pytest.mark.parametrize("posting", samples.ALL_KINDS, ids=lambda p: p.header.type)
def test_equal_postings_have_equal_fingerprints(posting):
    assert copy(posting).fingerprint() == posting.fingerprint()
    assert len(posting.fingerprint()) == 64
    int(posting.fingerprint(), 16)  # a hex digest


HEADER_CHANGES = {
    "type": "payment",
    "id": 4242,
    "reference": "Invoice INV-1002",
    "number": "INV-1002",
    "date": date(2026, 3, 2),
    "company": "Acme East, Inc.",
    "company_identifier": "ACME2",
    "due_date": None,
    "tax_code": "TX2",
}
LINE_CHANGES = {
    "account_number": "4001",
    "account_name": "Consulting",
    "account_type": "other_income",
    "debit": Decimal("0.01"),
    "credit": Decimal("1000.01"),
    "memo": "March consulting, 11 h",
}


@pytest.mark.parametrize("field", HEADER_CHANGES)
def test_any_change_to_the_header_changes_the_fingerprint(field):
    posting = samples.INVOICE
    changed = Posting(posting.header._replace(**{field: HEADER_CHANGES[field]}), posting.lines)
    assert changed.fingerprint() != posting.fingerprint()


@pytest.mark.parametrize("field", LINE_CHANGES)
def test_any_change_to_a_line_changes_the_fingerprint(field):
    posting = samples.INVOICE
    lines = list(posting.lines)
    lines[1] = lines[1]._replace(**{field: LINE_CHANGES[field]})
    changed = Posting(posting.header, tuple(lines))
    assert changed.fingerprint() != posting.fingerprint()


def test_lines_json_text_is_the_lines_as_json():
    posting = samples.INVOICE
    assert json.loads(posting.lines_json_text()) == posting.lines_json()
    assert posting.lines_json()[0] == [
        "1100",
        "Accounts Receivable",
        "accounts_receivable",
        "1623.75",
        "0.00",
        "Invoice INV-1001",
    ]


def test_amounts_are_logged_with_two_places():
    line = GLLine("4000", "Consulting Income", "income", Decimal("12.5"), Decimal("0"))
    logged = Posting(samples.INVOICE.header, (line,)).lines_json()
    assert logged[0][3:5] == ["12.50", "0.00"]
    same = line._replace(debit=Decimal("12.50"), credit=Decimal("0.00"))
    assert Posting(samples.INVOICE.header, (same,)).lines_json() == logged


@pytest.mark.parametrize("posting", samples.ALL_KINDS, ids=lambda p: p.header.type)
def test_a_posting_matches_its_fingerprint_from_before_lines_were_logged_as_arrays(posting):
    older = fingerprint_over_line_objects(posting)
    assert older != posting.fingerprint()
    assert copy(posting).matches(older)
    assert copy(posting).matches(posting.fingerprint())
    changed = Posting(posting.header._replace(number="OTHER-1"), posting.lines)
    assert not changed.matches(older)
    assert not changed.matches(posting.fingerprint())


@pytest.mark.parametrize("posting", samples.ALL_KINDS, ids=lambda p: p.header.type)
def test_the_document_type_leaves_the_fingerprint_as_logged_before_it_existed(posting):
    """A record sent before postings said sale or bill still counts as unchanged."""
    before = Posting(posting.header._replace(document=""), posting.lines)
    assert posting.header.document
    assert posting.fingerprint() == before.fingerprint()
