"""The contract every direct-transfer connector keeps (`accounting.connectors.Connector`),
run against each package's connector on a real package: a beancount ledger file, a
GnuCash book in SQLite and one in PostgreSQL (written and read back through piecash),
and Xero (the local server that plays Xero's Accounting API, every request and answer
checked against Xero's published OpenAPI description).

A package is one entry of PACKAGES: a class that makes the package ready in the test's
ledger folder, answers its connector as setup would (`get_connector`), and reads back
what the package holds: how many transactions, and each GL account's balance (debit
positive) by GL account number (`expected` says how the package shows the PSA's
balances). Another package joins with one more entry."""

import os
import re
import secrets
from collections import defaultdict
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from beancount import loader
from beancount.core.data import Transaction

from accounting.connectors import get_connector
from accounting.connectors.gnucash import create_book, create_database_book
from core.errors import ApplicationError
from tests.connectors.xero_fake import FakeXero
from tests.exporters import samples

BALANCES = {  # what samples.ALL_KINDS posts, by GL account number
    "1100": Decimal("1623.75"),
    "4000": Decimal("-1000.00"),
    "4100": Decimal("-500.00"),
    "2200": Decimal("-90.75"),
    "6100": Decimal("84.50"),
    "2100": Decimal("-84.50"),
    "5100": Decimal("25.00"),
    "1300": Decimal("400.00"),
    "2000": Decimal("-458.00"),
}
GL_ACCOUNTS = [(number, name, type_) for number, (name, type_) in samples.ACCOUNTS.items()]


class Package:
    # Whether a record the package cannot take fails alone (`refusals`) while the rest
    # goes in, rather than stopping the send.
    refuses_per_record = False
    needs_db = False

    def expected(self, balances: dict[str, Decimal]) -> dict[str, Decimal]:
        """The PSA's balances as the package shows them."""
        return balances


class Beancount(Package):
    package = "beancount"

    def __init__(self, root: Path) -> None:
        self.path = root / "books" / "psa.beancount"
        self.options = {"ledger_path": "books/psa.beancount"}

    def transactions(self) -> int:
        return len(self._transactions())

    def balances(self) -> dict[str, Decimal]:
        totals: dict[str, Decimal] = defaultdict(Decimal)
        for entry in self._transactions():
            for posting in entry.postings:
                number = re.search(r":A([0-9]+)-", posting.account)[1]
                totals[number] += posting.units.number
        return {number: total for number, total in totals.items() if total}

    def _transactions(self) -> list[Transaction]:
        if not self.path.exists():
            return []
        entries, errors, _ = loader.load_file(str(self.path))
        assert errors == []
        return [entry for entry in entries if isinstance(entry, Transaction)]


class GnuCash(Package):
    package = "gnucash"

    def __init__(self, root: Path) -> None:
        create_book("books/psa.gnucash", GL_ACCOUNTS, root=root)
        self.path = root / "books" / "psa.gnucash"
        self.options = {"ledger_path": "books/psa.gnucash"}

    def transactions(self) -> int:
        with self._book() as book:
            return len(book.transactions)

    def balances(self) -> dict[str, Decimal]:
        with self._book() as book:
            totals = {
                account.code: sum((split.value for split in account.splits), Decimal(0))
                for account in book.accounts
                if account.code
            }
        return {number: total for number, total in totals.items() if total}

    def _book(self):
        import piecash

        return piecash.open_book(str(self.path), readonly=True, open_if_lock=True)

    def close(self) -> None:
        pass


class GnuCashInPostgreSQL(GnuCash):
    """A book in a database of its own on the test's PostgreSQL server, made for the test
    and dropped after it; the connector finds it through GNUCASH_DATABASE_URL."""

    name = "gnucash-postgresql"

    def __init__(self, root: Path) -> None:
        from django.conf import settings

        server = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/psa")
        server = "postgresql://" + server.split("://", 1)[1].rsplit("/", 1)[0]
        self.database = f"psa_test_book_{secrets.token_hex(4)}"
        self.url = f"{server}/{self.database}"
        self.server = f"{server}/postgres"
        try:
            create_database_book(self.url, GL_ACCOUNTS)
        except BaseException:
            self.close()
            raise
        settings.GNUCASH_DATABASE_URL = self.url
        self.options = {"book_database": "postgresql"}

    def _book(self):
        import piecash

        return piecash.open_book(uri_conn=self.url, readonly=True, open_if_lock=True)

    def close(self) -> None:
        from sqlalchemy import create_engine, text

        engine = create_engine(self.server, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)'))
        engine.dispose()


class Xero(Package):
    """The local Xero, connected through a custom connection. Xero posts sales invoices
    to its own receivable and every bill to its own payable: the PSA's receivable,
    payable and reimbursement balances show there."""

    package = "xero"
    refuses_per_record = True
    needs_db = True
    CONTROL = {"1100": "receivable", "2000": "payable", "2100": "payable"}

    def __init__(self, root: Path) -> None:
        from cryptography.fernet import Fernet
        from django.conf import settings

        from accounting.connectors import xero
        from accounting.models import XeroConnection
        from accounting.secrets import encrypt

        self.fake = FakeXero(accounts=set(samples.ACCOUNTS)).start()
        changed = {
            **self.fake.settings_env(),
            "SECRETS_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        }
        self.saved = {name: getattr(settings, name) for name in changed}
        for name, value in changed.items():
            setattr(settings, name, value)
        xero._limits.clear()
        XeroConnection.objects.create(
            pk=1,
            auth=XeroConnection.CUSTOM,
            client_id=self.fake.client_id,
            client_secret=encrypt(self.fake.client_secret),
        )
        self.options = {"xero_tax_types": {"TX": "EXEMPTOUTPUT"}}

    def transactions(self) -> int:
        return len(self.fake.live())

    def balances(self) -> dict[str, Decimal]:
        totals: dict[str, Decimal] = defaultdict(Decimal)
        for invoice in self.fake.live():
            sign = -1 if invoice["Type"] == "ACCREC" else 1
            for line in invoice["LineItems"]:
                totals[line["AccountCode"]] += sign * Decimal(str(line["LineAmount"]))
            control = "receivable" if invoice["Type"] == "ACCREC" else "payable"
            totals[control] -= sign * Decimal(str(invoice["Total"]))
        return {number: total for number, total in totals.items() if total}

    def expected(self, balances: dict[str, Decimal]) -> dict[str, Decimal]:
        shown: dict[str, Decimal] = defaultdict(Decimal)
        for number, total in balances.items():
            shown[self.CONTROL.get(number, number)] += total
        return {number: total for number, total in shown.items() if total}

    def close(self) -> None:
        from django.conf import settings

        self.fake.stop()
        for name, value in self.saved.items():
            setattr(settings, name, value)
        assert self.fake.violations == [], "\n".join(self.fake.violations)


PACKAGES = [Beancount, GnuCash, GnuCashInPostgreSQL, Xero]


@pytest.fixture(
    params=[
        pytest.param(
            package,
            id=getattr(package, "name", package.package),
            marks=[pytest.mark.django_db] if package.needs_db else [],
        )
        for package in PACKAGES
    ]
)
def package(request, ledger_root, settings):
    made = request.param(ledger_root)
    yield made
    if hasattr(made, "close"):
        made.close()


@pytest.fixture
def connector(package):
    return get_connector(package.package, package.options)


def without(balances: dict[str, Decimal], posting) -> dict[str, Decimal]:
    left = dict(balances)
    for line in posting.lines:
        left[line.account_number] -= line.debit - line.credit
    return {number: total for number, total in left.items() if total}


def unbalanced(posting, record_id: int):
    first, *rest = posting.lines
    return replace(
        posting,
        header=posting.header._replace(id=record_id),
        lines=(first._replace(debit=first.debit + Decimal("0.01")), *rest),
    )


def test_send_writes_each_record_once_and_find_finds_it(package, connector):
    answered = connector.send(samples.ALL_KINDS, batch_identifier="GL-1")

    assert set(answered) == {(p.header.type, p.header.id) for p in samples.ALL_KINDS}
    assert all(answered.values())
    assert package.transactions() == 4
    assert package.balances() == package.expected(BALANCES)
    for (record_type, record_id), reference in answered.items():
        found = connector.find(record_type=record_type, record_id=record_id)
        assert [sent.external_reference for sent in found] == [reference]
    assert connector.find(record_type="invoice", record_id=999) == []


def test_a_retried_send_writes_nothing_and_answers_the_same_references(package, connector):
    first = connector.send(samples.ALL_KINDS, batch_identifier="GL-1")

    again = connector.send(iter(samples.ALL_KINDS), batch_identifier="GL-1")

    assert again == first
    assert package.transactions() == 4
    assert package.balances() == package.expected(BALANCES)


def test_a_duplicate_within_one_send_is_written_once(package, connector):
    connector.send([samples.EXPENSE, samples.EXPENSE], batch_identifier="GL-1")
    assert package.transactions() == 1


def test_remove_takes_out_the_record_and_nothing_else(package, connector):
    connector.send(samples.ALL_KINDS, batch_identifier="GL-1")

    assert connector.remove(record_type="invoice", record_id=42, batch_identifier="GL-9") == 0
    assert connector.remove(record_type="invoice", record_id=42) == 1

    assert connector.find(record_type="invoice", record_id=42) == []
    assert package.transactions() == 3
    assert package.balances() == package.expected(without(BALANCES, samples.INVOICE))
    assert connector.remove(record_type="invoice", record_id=42) == 0


def test_a_resend_replaces_the_original(package, connector):
    connector.send(samples.ALL_KINDS, batch_identifier="GL-1")

    answered = connector.send(
        [samples.INVOICE], batch_identifier="GL-2", replacing=[("invoice", 42, "GL-1")]
    )

    found = connector.find(record_type="invoice", record_id=42)
    assert [sent.external_reference for sent in found] == [answered[("invoice", 42)]]
    assert package.transactions() == 4
    assert package.balances() == package.expected(BALANCES)
    # Retried, the re-send finds its original gone and its own record in place.
    again = connector.send(
        [samples.INVOICE], batch_identifier="GL-2", replacing=[("invoice", 42, "GL-1")]
    )
    assert again == answered
    assert package.transactions() == 4


def test_remove_sent_removes_each_send_once_and_skips_those_gone(package, connector):
    connector.send(samples.ALL_KINDS, batch_identifier="GL-1")
    sends = [("invoice", 42, "GL-1"), ("expense", 7, "GL-1"), ("freight", 3, "GL-9")]

    assert connector.remove_sent(sends) == 2
    assert connector.remove_sent(sends) == 0
    assert package.transactions() == 2
    assert package.balances() == package.expected(
        without(without(BALANCES, samples.INVOICE), samples.EXPENSE)
    )


def test_remove_except_removes_the_copies_other_batches_left(package, connector):
    connector.send([samples.INVOICE, samples.EXPENSE], batch_identifier="GL-1")
    connector.send([samples.INVOICE], batch_identifier="GL-2")

    removed = connector.remove_except(
        [("invoice", 42), ("expense", 7), ("freight", 3)], keep_batch="GL-2"
    )

    assert sorted((sent.record_type, sent.record_id) for sent in removed) == [
        ("expense", 7),
        ("invoice", 42),
    ]
    assert len(connector.find(record_type="invoice", record_id=42)) == 1
    assert connector.find(record_type="expense", record_id=7) == []
    assert connector.remove_except([("invoice", 42)], keep_batch="GL-2") == []


def test_a_refused_send_leaves_no_record_half_written_and_a_retry_writes_each_once(
    package, connector
):
    broken = unbalanced(samples.FREIGHT, 3)
    postings = [samples.INVOICE, samples.EXPENSE, broken, samples.PRODUCT]

    if package.refuses_per_record:
        answered = connector.send(postings, batch_identifier="GL-1")
        assert "does not balance" in connector.refusals[("freight", 3)]
        assert ("freight", 3) not in answered and len(answered) == 3
    else:
        with pytest.raises(ApplicationError, match="does not balance"):
            connector.send(postings, batch_identifier="GL-1")

    # Whatever a package kept of the refused send is whole records: every transaction
    # balances, and none is the refused record.
    assert sum(package.balances().values(), Decimal(0)) == 0
    assert connector.find(record_type="freight", record_id=3) == []
    # The retried transfer opens the package anew.
    get_connector(package.package, package.options).send(samples.ALL_KINDS, batch_identifier="GL-1")
    assert package.transactions() == 4
    assert package.balances() == package.expected(BALANCES)


def test_a_connector_opened_anew_sees_what_another_wrote(package, connector):
    connector.send(samples.ALL_KINDS[:2], batch_identifier="GL-1")
    other = get_connector(package.package, package.options)

    other.send(samples.ALL_KINDS, batch_identifier="GL-1")
    connector.send(samples.ALL_KINDS, batch_identifier="GL-1")

    assert package.transactions() == 4
    assert package.balances() == package.expected(BALANCES)


def test_find_sent_reads_back_each_record_with_its_batch_date_and_lines(package, connector):
    """What the books check compares with the transfer log: every sent record, once per
    batch, with the lines as sent (GL account number, debit minus credit)."""
    connector.send(samples.ALL_KINDS, batch_identifier="GL-1")
    connector.send([samples.EXPENSE], batch_identifier="GL-2")

    found = list(connector.find_sent())

    expected = sorted(
        [(p.header.type, p.header.id, "GL-1") for p in samples.ALL_KINDS]
        + [(samples.EXPENSE.header.type, samples.EXPENSE.header.id, "GL-2")]
    )
    assert [(s.record_type, s.record_id, s.batch_identifier) for s in found] == expected
    postings = {(p.header.type, p.header.id): p for p in samples.ALL_KINDS}
    for sent in found:
        posting = postings[(sent.record_type, sent.record_id)]
        assert sent.date == posting.header.date
        assert sent.lines == tuple(
            sorted((line.account_number, line.debit - line.credit) for line in posting.lines)
        )
