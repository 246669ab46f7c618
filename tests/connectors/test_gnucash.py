"""The GnuCash connector on real SQLite books: what GnuCash's own engine reads of what it
wrote, accounts the book lacks, one transaction per send, and the book's location."""

import json
import os
import socket
import subprocess
from dataclasses import replace
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import piecash
import pytest
from sqlalchemy import text

from accounting.connectors import get_connector
from accounting.connectors.files import LedgerFileError
from accounting.connectors.gnucash import create_book
from core.errors import ApplicationError
from tests.accounting.test_connector_conformance import BALANCES, GL_ACCOUNTS, unbalanced
from tests.exporters import samples

ENGINE_SCRIPT = Path(__file__).with_name("gnucash_engine.py")
GNUCASH_LIBRARIES = "/usr/lib/x86_64-linux-gnu/gnucash"
OPTIONS = {"ledger_path": "books/psa.gnucash"}


def read_with_gnucash(book: Path) -> dict:
    """The book as GnuCash's own engine reads it (Debian's python3-gnucash, which only
    Debian's Python imports): each coded account's balance and the transactions."""
    result = subprocess.run(
        ["/usr/bin/python3", str(ENGINE_SCRIPT), f"sqlite3://{book}"],
        env={**os.environ, "LD_LIBRARY_PATH": GNUCASH_LIBRARIES},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    read = json.loads(result.stdout.strip().splitlines()[-1])
    balances = {
        name: Decimal(Fraction(value).numerator) / Fraction(value).denominator
        for name, value in read["balances"].items()
        if Fraction(value) != 0
    }
    return {"balances": balances, "transactions": read["transactions"]}


@pytest.fixture
def book(ledger_root) -> Path:
    create_book(OPTIONS["ledger_path"], GL_ACCOUNTS, root=ledger_root)
    return ledger_root / "books" / "psa.gnucash"


@pytest.fixture
def connector(book):
    return get_connector("gnucash", OPTIONS)


def table_rows(book: Path) -> dict[str, int]:
    with piecash.open_book(str(book), readonly=True, open_if_lock=True) as opened:
        return {
            table: opened.session.execute(text(f"SELECT count(*) FROM {table}")).scalar()
            for table in ("transactions", "splits", "slots", "accounts")
        }


def test_gnucash_itself_reads_the_balances_sent_before_and_after_a_resend(connector, book):
    connector.send(samples.ALL_KINDS, batch_identifier="GL-1")

    assert read_with_gnucash(book) == {"balances": BALANCES, "transactions": 4}

    corrected = replace(
        samples.EXPENSE,
        lines=(
            samples.debit("6100", "100.00", "Taxi, corrected"),
            samples.credit("2100", "100.00"),
        ),
    )
    connector.send([corrected], batch_identifier="GL-2", replacing=[("expense", 7, "GL-1")])

    expected = {**BALANCES, "6100": Decimal("100.00"), "2100": Decimal("-100.00")}
    assert read_with_gnucash(book) == {"balances": expected, "transactions": 4}


def test_each_record_is_one_transaction_with_its_reference_and_tags(connector, book):
    answered = connector.send([samples.INVOICE], batch_identifier="GL-1")

    with piecash.open_book(str(book), readonly=True) as opened:
        (transaction,) = opened.transactions
        assert transaction.guid == answered[("invoice", 42)]
        assert (transaction.description, transaction.num) == ("Invoice INV-1001", "INV-1001")
        assert transaction.notes == 'Acme "East", Inc.'
        assert transaction.post_date == samples.INVOICE.header.date
        assert (transaction["psa-record"].value, transaction["psa-batch"].value) == (
            "invoice:42",
            "GL-1",
        )
        splits = sorted((s.account.fullname, s.value) for s in transaction.splits)
    assert splits == [
        ("Assets:Accounts Receivable", Decimal("1623.75")),
        ("Income:Consulting Income", Decimal("-1000.00")),
        ("Income:Hardware Sales", Decimal("-500.00")),
        ("Liabilities:Sales Tax Payable", Decimal("-123.75")),
    ]


def test_accounts_are_found_by_full_name_when_the_book_has_no_code(ledger_root):
    create_book(OPTIONS["ledger_path"], GL_ACCOUNTS, root=ledger_root)
    book = ledger_root / "books" / "psa.gnucash"
    with piecash.open_book(str(book), readonly=False, do_backup=False) as opened:
        travel = opened.accounts(code="6100")
        travel.code = ""
        travel.name = "Travel"  # full name Expenses:Travel
        opened.save()
    line = samples.EXPENSE.lines[0]._replace(account_number="6999", account_name="Expenses:Travel")
    expense = replace(samples.EXPENSE, lines=(line, *samples.EXPENSE.lines[1:]))

    get_connector("gnucash", OPTIONS).send([expense], batch_identifier="GL-1")

    assert read_with_gnucash(book)["balances"]["Expenses.Travel"] == Decimal("84.50")


def test_accounts_the_book_lacks_are_refused_by_name_before_anything_is_written(connector, book):
    connector.send([samples.EXPENSE], batch_identifier="GL-1")
    before = table_rows(book)
    strange = replace(
        samples.INVOICE,
        lines=(
            *samples.INVOICE.lines[:-1],
            samples.INVOICE.lines[-1]._replace(account_number="2250", account_name="Use Tax"),
        ),
    )

    with pytest.raises(ApplicationError) as refused:
        connector.send([samples.FREIGHT, strange], batch_identifier="GL-2")

    assert "GL account 2250 Use Tax has no account in the book" in refused.value.message
    assert "never creates them" in refused.value.message
    assert table_rows(book) == before


def test_a_failed_resend_leaves_the_original_in_place(connector, book):
    connector.send(samples.ALL_KINDS, batch_identifier="GL-1")
    before = table_rows(book)

    with pytest.raises(ApplicationError, match="does not balance"):
        connector.send(
            [samples.INVOICE, unbalanced(samples.EXPENSE, 7)],
            batch_identifier="GL-2",
            replacing=[("invoice", 42, "GL-1"), ("expense", 7, "GL-1")],
        )

    assert table_rows(book) == before
    assert read_with_gnucash(book) == {"balances": BALANCES, "transactions": 4}


def test_a_refused_send_writes_nothing_at_all(connector, book):
    before = table_rows(book)
    with pytest.raises(ApplicationError, match="does not balance"):
        connector.send([samples.INVOICE, unbalanced(samples.FREIGHT, 3)], batch_identifier="GL-1")
    assert table_rows(book) == before


def test_a_book_open_in_gnucash_is_not_written_to(connector, book):
    with piecash.open_book(str(book), readonly=False, do_backup=False) as opened:
        opened.session.execute(
            text("INSERT INTO gnclock (hostname, pid) VALUES (:host, 4242)"),
            {"host": socket.gethostname()},
        )
        opened.save()

    with pytest.raises(ApplicationError, match="is open in GnuCash") as refused:
        connector.send(samples.ALL_KINDS, batch_identifier="GL-1")

    assert refused.value.code == "book_locked"
    assert table_rows(book)["transactions"] == 0


def test_a_missing_book_is_refused_not_created(ledger_root):
    connector = get_connector("gnucash", {"ledger_path": "books/none.gnucash"})
    with pytest.raises(LedgerFileError, match="does not exist") as refused:
        connector.send(samples.ALL_KINDS, batch_identifier="GL-1")
    assert refused.value.extra["fields"] == {
        "options.ledger_path": ["No GnuCash book of that name in the ledger folder."]
    }
    assert not (ledger_root / "books" / "none.gnucash").exists()


def test_a_file_that_is_no_gnucash_book_is_refused_in_words(ledger_root):
    (ledger_root / "books").mkdir()
    (ledger_root / "books" / "notes.gnucash").write_text("not a book\n")
    connector = get_connector("gnucash", {"ledger_path": "books/notes.gnucash"})
    with pytest.raises(ApplicationError, match="cannot be opened as a GnuCash book"):
        connector.send(samples.ALL_KINDS, batch_identifier="GL-1")
    assert (ledger_root / "books" / "notes.gnucash").read_text() == "not a book\n"


def test_a_book_linked_from_outside_the_ledger_folder_is_refused(ledger_root, tmp_path):
    create_book("outside.gnucash", GL_ACCOUNTS, root=tmp_path)
    (ledger_root / "books").mkdir()
    (ledger_root / "books" / "psa.gnucash").symlink_to(tmp_path / "outside.gnucash")

    with pytest.raises(LedgerFileError, match="leads outside the ledger folder"):
        get_connector("gnucash", OPTIONS).send(samples.ALL_KINDS, batch_identifier="GL-1")
    assert table_rows(tmp_path / "outside.gnucash")["transactions"] == 0


def test_a_book_over_the_size_limit_is_not_opened(connector, book, settings):
    settings.LEDGER_MAX_BYTES = 1024
    with pytest.raises(LedgerFileError, match="LEDGER_MAX_BYTES"):
        connector.send(samples.ALL_KINDS, batch_identifier="GL-1")


def test_create_book_never_overwrites(book, ledger_root):
    with pytest.raises(LedgerFileError, match="exists already"):
        create_book(OPTIONS["ledger_path"], GL_ACCOUNTS, root=ledger_root)
    assert table_rows(book)["accounts"] > 0
