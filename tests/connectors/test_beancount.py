import os
import tempfile
import threading
from collections import defaultdict
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from beancount import loader
from beancount.core import realization
from beancount.core.data import Open, Transaction
from hypothesis import HealthCheck, given, settings

from accounting.connectors import SentRecord, get_connector
from accounting.connectors.beancount import ROOTS, BeancountConnector, account_name_for
from accounting.exporters.base import clean_text
from accounting.gl import GLLine, Posting
from core.errors import ApplicationError
from tests.exporters import samples
from tests.exporters.strategies import batches

AR = "Assets:AccountsReceivable:A1100-AccountsReceivable"
INVENTORY = "Assets:Inventory:A1300-Inventory"
AP = "Liabilities:AccountsPayable:A2000-AccountsPayable"
REIMBURSEMENT = "Liabilities:Reimbursement:A2100-EmployeeReimbursements"
SALES_TAX = "Liabilities:SalesTax:A2200-SalesTaxPayable"
CONSULTING = "Income:Income:A4000-ConsultingIncome"
HARDWARE = "Income:Income:A4100-HardwareSales"
FREIGHT = "Expenses:Freight:A5100-FreightIn"
TRAVEL = "Expenses:Expense:A6100-Travel"

EXPECTED_BALANCES = {
    AR: Decimal("1623.75"),
    CONSULTING: Decimal("-1000.00"),
    HARDWARE: Decimal("-500.00"),
    SALES_TAX: Decimal("-90.75"),  # 123.75 charged on the invoice, 33.00 paid on the PO
    TRAVEL: Decimal("84.50"),
    REIMBURSEMENT: Decimal("-84.50"),
    FREIGHT: Decimal("25.00"),
    INVENTORY: Decimal("400.00"),
    AP: Decimal("-458.00"),
}


def load(path: Path):
    entries, errors, options = loader.load_file(str(path))
    assert errors == []
    return entries, options


def balances(path: Path) -> dict[str, Decimal]:
    """Every account's USD balance, from beancount's own realization."""
    entries, _ = load(path)
    root = realization.realize(entries)
    result = {}
    for real_account in realization.iter_children(root):
        if real_account.txn_postings and real_account.account:
            amount = real_account.balance.get_currency_units("USD").number
            result[real_account.account] = amount
    return {account: amount for account, amount in result.items() if amount != 0}


def transactions(path: Path) -> list[Transaction]:
    entries, _ = load(path)
    return [entry for entry in entries if isinstance(entry, Transaction)]


@pytest.fixture
def ledger(ledger_root) -> Path:
    return ledger_root / "books" / "psa.beancount"


@pytest.fixture
def connector(ledger) -> BeancountConnector:
    ledger.parent.mkdir()
    return get_connector("beancount", {"ledger_path": "books/psa.beancount"})


def test_file_only_packages_have_no_connector_and_beancount_needs_a_ledger_path(ledger_root):
    for package in ("quickbooks_desktop", "quickbooks_online", "other"):
        assert get_connector(package, {"ledger_path": "x"}) is None
    with pytest.raises(ApplicationError, match="ledger_path") as error:
        get_connector("beancount", {})
    assert error.value.code == "validation_error"
    with pytest.raises(ApplicationError, match="currency"):
        get_connector("beancount", {"ledger_path": "x", "currency": "us$"})


def test_send_creates_the_ledger_and_it_balances_per_account(connector, ledger):
    answered = connector.send(samples.ALL_KINDS, batch_identifier="GL-0042")

    assert answered == {
        ("invoice", 42): "^psa-invoice-42@GL-0042",
        ("expense", 7): "^psa-expense-7@GL-0042",
        ("freight", 3): "^psa-freight-3@GL-0042",
        ("product", 11): "^psa-product-11@GL-0042",
    }
    first, second = ledger.read_text().splitlines()[:2]
    assert first.startswith("; psa-begin GL-0042 ")  # what one send appends is one block
    assert second == 'option "operating_currency" "USD"'
    _, options = load(ledger)
    assert options["operating_currency"] == ["USD"]
    assert balances(ledger) == EXPECTED_BALANCES


def test_each_record_is_one_tagged_transaction(connector, ledger):
    connector.send(samples.ALL_KINDS, batch_identifier="GL-0042")

    invoice = transactions(ledger)[0]
    assert invoice.date == samples.INVOICE.header.date
    assert (invoice.payee, invoice.narration) == ('Acme "East", Inc.', "Invoice INV-1001")
    assert invoice.links == {"psa-invoice-42"}
    assert (invoice.meta["psa_record"], invoice.meta["psa_batch"]) == ("invoice:42", "GL-0042")
    assert [(p.account, p.units.number) for p in invoice.postings] == [
        (AR, Decimal("1623.75")),
        (CONSULTING, Decimal("-1000.00")),
        (HARDWARE, Decimal("-500.00")),
        (SALES_TAX, Decimal("-123.75")),
    ]
    assert invoice.postings[2].meta["memo"] == "Router with setup"
    assert [entry.meta["psa_record"] for entry in transactions(ledger)] == [
        "invoice:42",
        "expense:7",
        "freight:3",
        "product:11",
    ]


def test_accounts_are_opened_once_with_the_gl_account_they_stand_for(connector, ledger):
    connector.send(samples.ALL_KINDS, batch_identifier="GL-0042")
    connector.send([samples.FREIGHT], batch_identifier="GL-0043")

    entries, _ = load(ledger)
    opens = {entry.account: entry for entry in entries if isinstance(entry, Open)}
    assert set(opens) == set(EXPECTED_BALANCES)
    assert (opens[AR].meta["psa_account_number"], opens[AR].meta["psa_account_type"]) == (
        "1100",
        "accounts_receivable",
    )
    assert opens[AR].currencies == ["USD"]


def test_a_renamed_gl_account_keeps_its_ledger_account(connector, ledger):
    connector.send([samples.FREIGHT], batch_identifier="GL-1")
    renamed = replace(
        samples.FREIGHT,
        header=samples.FREIGHT.header._replace(id=4),
        lines=tuple(
            line._replace(account_name=line.account_name + " (new)")
            for line in samples.FREIGHT.lines
        ),
    )
    connector.send([renamed], batch_identifier="GL-2")

    assert balances(ledger) == {FREIGHT: Decimal("50.00"), AP: Decimal("-50.00")}


def test_account_names_are_valid_beancount_components():
    line = GLLine("11.00 a", "Crédit & Débit — 2ème", "accounts_payable", Decimal(1), Decimal(0))
    assert account_name_for(line) == "Liabilities:AccountsPayable:A11-00-a-CreditDebit2eme"
    line = line._replace(account_name="!!!")
    assert account_name_for(line) == "Liabilities:AccountsPayable:A11-00-a"
    with pytest.raises(ApplicationError, match="cannot place"):
        account_name_for(line._replace(account_type="equity"))


def test_resending_a_batch_writes_nothing_and_answers_the_same_references(connector, ledger):
    first = connector.send(samples.ALL_KINDS, batch_identifier="GL-0042")
    before = ledger.read_bytes()

    again = connector.send(iter(samples.ALL_KINDS), batch_identifier="GL-0042")

    assert again == first
    assert ledger.read_bytes() == before


def test_a_duplicate_within_one_send_is_written_once(connector, ledger):
    connector.send([samples.EXPENSE, samples.EXPENSE], batch_identifier="GL-1")
    assert len(transactions(ledger)) == 1


def test_a_transfer_in_chunks_reads_the_ledger_once(connector, ledger, monkeypatch):
    parses = []
    parse = connector._parse
    monkeypatch.setattr(connector, "_parse", lambda: parses.append(1) or parse())

    for posting in samples.ALL_KINDS:
        connector.send([posting], batch_identifier="GL-1")

    assert len(parses) == 1
    assert len(transactions(ledger)) == len(samples.ALL_KINDS)


def test_a_ledger_another_writer_changed_between_chunks_is_read_again(connector, ledger):
    first, second = samples.ALL_KINDS[:2]
    connector.send([first], batch_identifier="GL-1")
    BeancountConnector(ledger_path="books/psa.beancount").send([second], batch_identifier="GL-1")

    connector.send([first, second], batch_identifier="GL-1")

    assert len(transactions(ledger)) == 2


def test_find_answers_every_transaction_of_the_record(connector):
    connector.send(samples.ALL_KINDS, batch_identifier="GL-0042")
    connector.send([samples.INVOICE], batch_identifier="GL-0050")

    assert connector.find(record_type="invoice", record_id=42) == [
        SentRecord("invoice", 42, "^psa-invoice-42@GL-0042"),
        SentRecord("invoice", 42, "^psa-invoice-42@GL-0050"),
    ]
    assert connector.find(record_type="expense", record_id=7) == [
        SentRecord("expense", 7, "^psa-expense-7@GL-0042")
    ]
    assert connector.find(record_type="invoice", record_id=7) == []


def test_find_and_remove_on_a_ledger_not_yet_created(connector, ledger):
    assert connector.find(record_type="invoice", record_id=42) == []
    assert connector.remove(record_type="invoice", record_id=42) == 0
    assert not ledger.exists()


def test_remove_takes_out_only_that_records_transactions(connector, ledger):
    connector.send(samples.ALL_KINDS, batch_identifier="GL-0042")

    assert connector.remove(record_type="invoice", record_id=42) == 1

    assert connector.find(record_type="invoice", record_id=42) == []
    remaining = {
        account: amount
        for account, amount in EXPECTED_BALANCES.items()
        if account not in (AR, CONSULTING, HARDWARE)
    }
    remaining[SALES_TAX] = Decimal("33.00")
    assert balances(ledger) == remaining
    assert [entry.meta["psa_record"] for entry in transactions(ledger)] == [
        "expense:7",
        "freight:3",
        "product:11",
    ]


def test_remove_of_one_batch_keeps_the_other_batches(connector, ledger):
    connector.send([samples.INVOICE], batch_identifier="GL-1")
    connector.send([samples.INVOICE], batch_identifier="GL-2")
    connector.send([samples.INVOICE], batch_identifier="GL-3")

    assert connector.remove(record_type="invoice", record_id=42, batch_identifier="GL-2") == 1
    assert [r.external_reference for r in connector.find(record_type="invoice", record_id=42)] == [
        "^psa-invoice-42@GL-1",
        "^psa-invoice-42@GL-3",
    ]
    assert connector.remove(record_type="invoice", record_id=42, batch_identifier="GL-9") == 0
    assert connector.remove(record_type="invoice", record_id=42) == 2
    assert transactions(ledger) == []
    assert balances(ledger) == {}


def test_remove_then_send_writes_the_record_again(connector, ledger):
    connector.send(samples.ALL_KINDS, batch_identifier="GL-0042")
    connector.remove(record_type="product", record_id=11, batch_identifier="GL-0042")
    assert connector.find(record_type="product", record_id=11) == []

    answered = connector.send(samples.ALL_KINDS, batch_identifier="GL-0042")

    assert answered[("product", 11)] == "^psa-product-11@GL-0042"
    assert balances(ledger) == EXPECTED_BALANCES
    assert len(transactions(ledger)) == 4


def test_remove_keeps_what_people_wrote_in_the_ledger(connector, ledger):
    ledger.write_text(
        'option "operating_currency" "USD"\r\n'
        "; the owner's own books\r\n"
        "2000-01-01 open Assets:Bank USD\r\n"
        "2000-01-01 open Equity:Opening USD\r\n"
        "\r\n"
        '2026-01-01 * "Opening balance" #opening\r\n'
        "  Assets:Bank      100.00 USD\r\n"
        "  Equity:Opening  -100.00 USD\r\n"
        "; no line end after this comment"
    )
    own = ledger.read_bytes()
    os.chmod(ledger, 0o640)

    connector.send([samples.INVOICE, samples.EXPENSE], batch_identifier="GL-1")
    assert balances(ledger)[AR] == Decimal("1623.75")
    connector.remove(record_type="invoice", record_id=42)
    connector.remove(record_type="expense", record_id=7)

    text = ledger.read_bytes()
    assert text.startswith(own + b"\n")  # the owner's lines are byte for byte as they were
    assert balances(ledger) == {
        "Assets:Bank": Decimal("100.00"),
        "Equity:Opening": Decimal("-100.00"),
    }
    assert ledger.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in ledger.parent.iterdir()) == [
        "psa.beancount",
        "psa.beancount.lock",
    ]


def test_an_account_opened_by_hand_under_the_same_name_is_used(connector, ledger):
    ledger.write_text(f"2020-01-01 open {FREIGHT}\n")
    connector.send([samples.FREIGHT], batch_identifier="GL-1")
    assert balances(ledger) == {FREIGHT: Decimal("25.00"), AP: Decimal("-25.00")}


def test_text_that_would_break_the_ledger_is_escaped(connector, ledger):
    header = samples.EXPENSE.header._replace(
        company='Dana "DJ" Smith \\ Co\n', reference="Expense\t7"
    )
    expense = Posting(header, samples.EXPENSE.lines)
    batch = 'GL "7"\tspring'

    connector.send([expense], batch_identifier=batch)
    connector.send([expense], batch_identifier=batch)

    (entry,) = transactions(ledger)
    assert (entry.payee, entry.narration) == ('Dana "DJ" Smith \\ Co', "Expense 7")
    assert entry.meta["psa_batch"] == 'GL "7" spring'
    assert connector.remove(record_type="expense", record_id=7, batch_identifier=batch) == 1


def test_an_unparseable_ledger_is_not_touched(connector, ledger):
    ledger.write_text("2026-01-01 this is not beancount\n")
    before = ledger.read_bytes()
    with pytest.raises(ApplicationError, match="does not parse") as error:
        connector.send([samples.FREIGHT], batch_identifier="GL-1")
    assert error.value.code == "ledger_invalid"
    with pytest.raises(ApplicationError, match="does not parse"):
        connector.remove(record_type="freight", record_id=3)
    assert ledger.read_bytes() == before


def test_an_unbalanced_posting_is_refused_and_earlier_ones_are_kept(connector, ledger):
    unbalanced = Posting(samples.FREIGHT.header._replace(id=99), samples.FREIGHT.lines[:1])
    with pytest.raises(ApplicationError, match="does not balance"):
        connector.send([samples.EXPENSE, unbalanced], batch_identifier="GL-1")
    assert [entry.meta["psa_record"] for entry in transactions(ledger)] == ["expense:7"]


def test_missing_folders_are_made_inside_the_ledger_folder(ledger_root):
    connector = get_connector("beancount", {"ledger_path": "nope/deeper/x.beancount"})
    assert connector.find(record_type="freight", record_id=3) == []
    connector.send([samples.FREIGHT], batch_identifier="GL-1")
    folder = ledger_root / "nope" / "deeper"
    assert sorted(os.listdir(folder)) == ["x.beancount", "x.beancount.lock"]
    assert len(transactions(folder / "x.beancount")) == 1


def test_concurrent_writers_never_interleave(connector, ledger):
    """Eight threads, each with its own connector (its own lock file handle), send and
    remove at once; the ledger always loads and holds exactly what was sent."""
    errors = []

    def work(worker: int) -> None:
        try:
            mine = get_connector("beancount", {"ledger_path": "books/psa.beancount"})
            for round_ in range(10):
                posting = replace(
                    samples.INVOICE,
                    header=samples.INVOICE.header._replace(id=worker * 100 + round_),
                )
                mine.send([posting, samples.FREIGHT], batch_identifier=f"GL-{round_ % 3}")
                if round_ % 2:
                    mine.remove(record_type="invoice", record_id=worker * 100 + round_)
        except Exception as error:
            errors.append(error)

    threads = [threading.Thread(target=work, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    records = [entry.meta["psa_record"] for entry in transactions(ledger)]
    assert sorted(records) == sorted(
        [f"invoice:{w * 100 + r}" for w in range(8) for r in range(0, 10, 2)] + ["freight:3"] * 3
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches(max_size=8))
def test_any_batch_loads_without_errors_and_balances_like_its_gl_lines(postings):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "ledger.beancount"
        connector = BeancountConnector(ledger_path=path.name, root=Path(folder))
        expected = defaultdict(Decimal)  # by GL account: (number, type)
        for posting in postings:
            for line in posting.lines:
                gl_account = (clean_text(line.account_number), line.account_type)
                expected[gl_account] += line.debit - line.credit

        answered = connector.send(postings, batch_identifier="GL-P")
        before = path.read_bytes()
        assert connector.send(postings, batch_identifier="GL-P") == answered
        assert path.read_bytes() == before

        entries, _ = load(path)
        opened = {
            (entry.meta["psa_account_number"], entry.meta["psa_account_type"]): entry.account
            for entry in entries
            if isinstance(entry, Open)
        }
        assert set(opened) == set(expected)
        assert len(set(opened.values())) == len(opened)  # one ledger account per GL account
        for (_, account_type), account in opened.items():
            assert account.startswith(ROOTS[account_type] + ":")
        assert balances(path) == {
            opened[gl_account]: amount for gl_account, amount in expected.items() if amount
        }
        assert len(transactions(path)) == len(postings)

        for posting in postings:
            found = connector.find(record_type=posting.header.type, record_id=posting.header.id)
            assert found == [
                SentRecord(
                    posting.header.type,
                    posting.header.id,
                    answered[(posting.header.type, posting.header.id)],
                )
            ]
            assert (
                connector.remove(record_type=posting.header.type, record_id=posting.header.id) == 1
            )
        assert transactions(path) == []
        assert balances(path) == {}
