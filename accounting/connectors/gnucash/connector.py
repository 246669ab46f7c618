"""The GnuCash connector's interface (see the package's description): send,
find, read back what was sent and the payments, remove, and test the connection;
and the transactions it wrote, known by their `psa-record` and `psa-batch` slots."""

import os
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import piecash
from sqlalchemy import text

from accounting.connectors import RecordPayment, SentRecord, files
from accounting.connectors.gnucash.book import (
    BookAccess,
    BookAccounts,
    _account_problem,
    accounts_of,
)
from accounting.exporters.base import clean_text, money
from core.errors import ApplicationError

if TYPE_CHECKING:
    from accounting.gl import Posting

RECORD_SLOT = "psa-record"
BATCH_SLOT = "psa-batch"
# The identity of every transaction this connector wrote: (guid, record, batch).
_SENT = text(
    "SELECT r.obj_guid, r.string_val, b.string_val FROM slots r "
    "JOIN slots b ON b.obj_guid = r.obj_guid AND b.name = :batch_slot "
    "JOIN transactions t ON t.guid = r.obj_guid "
    "WHERE r.name = :record_slot"
)


class GnuCashConnector(BookAccess):
    def __init__(
        self,
        *,
        book_path: str | None = None,
        database_url: str | None = None,
        root: str | os.PathLike | None = None,
    ) -> None:
        """`book_path` (the setup's ledger_path) names a SQLite book inside `root` (the
        ledger folder, `settings.LEDGER_ROOT` when not given); or `database_url` is a
        PostgreSQL book's SQLAlchemy URL. Only the name's text is checked here."""
        if (book_path is None) == (database_url is None):
            raise AssertionError("a GnuCash book is either a file or a database")
        if book_path is not None:
            problem = files.name_problem(book_path)
            if problem:
                raise files.LedgerFileError(
                    "The accounting package setup's ledger_path cannot be used: "
                    f"{problem} Set it in the setup, then retry.",
                    problem=problem,
                )
        self.name = book_path or "in the PostgreSQL database the server's operator set"
        self.book_path = book_path
        self._database_url = database_url
        self.root = root

    def __repr__(self) -> str:  # never the database URL
        return f"GnuCashConnector({self.name!r})"

    # The interface ------------------------------------------------------------------

    def send(
        self,
        postings: Iterable["Posting"],
        *,
        batch_identifier: str,
        replacing: Iterable[tuple[str, int, str]] = (),
    ) -> dict[tuple[str, int], str]:
        batch = _batch(batch_identifier)
        postings = list(postings)
        replaced = {(t, int(i), _batch(b)) for t, i, b in replacing}
        with self._book(write=True) as book:
            accounts = accounts_of(book)
            chosen = self._accounts_for(postings, accounts)
            sent = self._sent(book)
            self._delete(book, [guid for key, guid in sent.items() if key in replaced])
            sent = {key: guid for key, guid in sent.items() if key not in replaced}
            answered: dict[tuple[str, int], str] = {}
            made = []
            for posting in postings:
                header = posting.header
                key = (header.type, header.id)
                existing = sent.get((*key, batch))
                if existing is not None:
                    answered[key] = existing
                    continue
                if not posting.is_balanced():
                    raise ApplicationError(
                        f"{header.reference} does not balance (debits "
                        f"{money(posting.total_debit)}, credits "
                        f"{money(posting.total_credit)}); none of the records sent with it was "
                        "written to the GnuCash book.",
                        code="validation_error",
                        status_code=400,
                    )
                transaction = piecash.Transaction(
                    currency=accounts.currency,
                    description=clean_text(header.reference),
                    num=clean_text(header.number),
                    notes=clean_text(header.company),
                    post_date=header.date,
                    splits=[
                        piecash.Split(
                            account=chosen[(line.account_number, line.account_name)],
                            value=line.debit - line.credit,
                            memo=clean_text(line.memo),
                        )
                        for line in posting.lines
                    ],
                )
                transaction[RECORD_SLOT] = _record_key(*key)
                transaction[BATCH_SLOT] = batch
                made.append((key, transaction))
                sent[(*key, batch)] = ""  # a record twice in one send is written once
            book.flush()
            for key, transaction in made:
                answered[key] = transaction.guid
            book.save()
        return answered

    def find(self, *, record_type: str, record_id: int) -> list[SentRecord]:
        with self._book(write=False) as book:
            return [
                SentRecord(record_type, record_id, guid)
                for (t, i, _batch_id), guid in self._sent(book).items()
                if (t, i) == (record_type, int(record_id))
            ]

    def find_sent(self) -> Iterator[SentRecord]:
        """Each transaction this connector wrote, with its batch, date and lines (each
        split's account code, or full name where it has none, and value), read in one
        pass over the book and answered once the book is closed."""
        found = []
        with self._book(write=False) as book:
            guids = {guid: key for key, guid in self._sent(book).items()}
            for transaction in self._transactions(book, list(guids)):
                record_type, record_id, batch = guids[transaction.guid]
                lines = sorted(
                    (split.account.code or split.account.fullname, split.value)
                    for split in transaction.splits
                )
                found.append(
                    SentRecord(
                        record_type,
                        record_id,
                        transaction.guid,
                        batch_identifier=batch,
                        date=transaction.post_date,
                        lines=tuple(lines),
                    )
                )
        return iter(sorted(found, key=lambda r: (r.record_type, r.record_id, r.batch_identifier)))

    def find_payments(self) -> Iterator[RecordPayment]:
        """Payments are transactions this connector did not write with a split in an
        accounts-receivable account and the number (Num) of a sent sale, as GnuCash's
        register is used to settle an invoice: each such split is a payment of minus its
        value (a credit to the receivable). Answered per record, sorted by (type, id)."""
        with self._book(write=False) as book:
            records = {guid: key[:2] for key, guid in self._sent(book).items()}
            ours = set(records)
            numbers = {
                transaction.num: records[transaction.guid]
                for transaction in self._transactions(book, list(ours))
                if transaction.num
            }
            paid: dict[tuple[str, int], list] = {}
            for split in (
                book.session.query(piecash.Split)
                .join(piecash.Account)
                .filter(piecash.Account.type == "RECEIVABLE")
            ):
                transaction = split.transaction
                key = numbers.get(transaction.num or "")
                if transaction.guid in ours or key is None or not split.value:
                    continue
                total = paid.setdefault(key, [Decimal("0"), transaction.post_date])
                total[0] -= split.value
                total[1] = max(total[1], transaction.post_date)
        return iter(
            RecordPayment(record_type, record_id, amount, last)
            for (record_type, record_id), (amount, last) in sorted(paid.items())
        )

    def remove(
        self, *, record_type: str, record_id: int, batch_identifier: str | None = None
    ) -> int:
        batch = None if batch_identifier is None else _batch(batch_identifier)
        with self._book(write=True) as book:
            doomed = [
                guid
                for (t, i, b), guid in self._sent(book).items()
                if (t, i) == (record_type, int(record_id)) and batch in (None, b)
            ]
            return self._delete_and_save(book, doomed)

    def remove_sent(self, sends: Iterable[tuple[str, int, str]]) -> int:
        wanted = {(t, int(i), _batch(b)) for t, i, b in sends}
        if not wanted:
            return 0
        with self._book(write=True) as book:
            doomed = [guid for key, guid in self._sent(book).items() if key in wanted]
            return self._delete_and_save(book, doomed)

    def remove_except(
        self, records: Iterable[tuple[str, int]], *, keep_batch: str
    ) -> list[SentRecord]:
        keep = _batch(keep_batch)
        wanted = {(t, int(i)) for t, i in records}
        with self._book(write=True) as book:
            doomed = {
                guid: (t, i)
                for (t, i, b), guid in self._sent(book).items()
                if (t, i) in wanted and b != keep
            }
            self._delete_and_save(book, list(doomed))
        return [SentRecord(t, i, guid) for guid, (t, i) in doomed.items()]

    def test_connection(self, gl_accounts: Iterable[tuple[str, str]]) -> dict[str, Any]:
        """The setup's "Test connection": open the book as a transfer would and report
        what it holds (currency, accounts, transactions, those this connector wrote),
        and each of the (number, name) GL accounts it has no usable account for."""
        with self._book(write=False) as book:
            accounts = accounts_of(book)
            problems = [
                problem
                for number, name in gl_accounts
                if (problem := _account_problem(accounts, number, name))
            ]
            found = {
                "currency": accounts.currency.mnemonic,
                "accounts": len(book.accounts),
                "transactions": len(book.transactions),
                "sent_transactions": len(self._sent(book)),
            }
        message = (
            f"Opened the GnuCash book {self.name}: {found['accounts']} accounts in "
            f"{found['currency']}, {found['transactions']} transactions "
            f"({found['sent_transactions']} sent by direct transfer)."
        )
        if problems:
            message += f" {len(problems)} GL accounts have no account there; add them in GnuCash."
        else:
            message += " Every GL account has its account there."
        return {"ok": not problems, "message": message, "found": found, "problems": problems}

    # The book -----------------------------------------------------------------------

    @staticmethod
    def _sent(book: Any) -> dict[tuple[str, int, str], str]:
        """(type, id, batch) -> the guid of the transaction this connector wrote."""
        rows = book.session.execute(
            _SENT, {"record_slot": RECORD_SLOT, "batch_slot": BATCH_SLOT}
        ).fetchall()
        sent = {}
        for guid, record, batch in rows:
            record_type, _, record_id = (record or "").partition(":")
            if record_type and record_id.isdigit() and batch:
                sent[(record_type, int(record_id), batch)] = guid
        return sent

    @staticmethod
    def _transactions(book: Any, guids: list[str]) -> list[Any]:
        if not guids:
            return []
        return (
            book.session.query(piecash.Transaction)
            .filter(piecash.Transaction.guid.in_(guids))
            .all()
        )

    @classmethod
    def _delete(cls, book: Any, guids: list[str]) -> None:
        if not guids:
            return
        for transaction in cls._transactions(book, guids):
            book.delete(transaction)
        book.flush()

    def _delete_and_save(self, book: Any, guids: list[str]) -> int:
        self._delete(book, guids)
        if guids:
            book.save()
        return len(guids)

    def _accounts_for(
        self, postings: list["Posting"], accounts: BookAccounts
    ) -> dict[tuple[str, str], Any]:
        """The book's account of each GL account the postings use; refused, naming every
        one the book lacks, before anything is written."""
        chosen: dict[tuple[str, str], Any] = {}
        problems: list[str] = []
        for posting in postings:
            for line in posting.lines:
                key = (line.account_number, line.account_name)
                if key in chosen:
                    continue
                problem = _account_problem(accounts, *key)
                if problem:
                    if problem not in problems:
                        problems.append(problem)
                    chosen[key] = None
                else:
                    chosen[key] = accounts.find(*key)
        if problems:
            raise ApplicationError(
                f"The GnuCash book {self.name} cannot take this transfer: "
                + " ".join(problems[:10])
                + (f" (and {len(problems) - 10} more)" if len(problems) > 10 else "")
                + " Nothing was written. Add or correct the accounts in GnuCash (the "
                "transfer never creates them), then retry.",
                code="validation_error",
                status_code=400,
            )
        return chosen


def _record_key(record_type: str, record_id: int) -> str:
    return f"{record_type}:{record_id}"


def _batch(batch_identifier: str) -> str:
    batch = clean_text(batch_identifier)
    if not batch:
        raise ApplicationError(
            "A batch identifier is needed to send to the GnuCash book.",
            code="validation_error",
            status_code=400,
        )
    return batch
