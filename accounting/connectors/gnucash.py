"""Direct transfer into a GnuCash book, through `piecash`: a SQLite book file inside the
ledger folder (`options["ledger_path"]`, confined as ledgers are, see
`accounting.connectors.files`), or a book in a PostgreSQL database whose connection URL
the server's operator sets (`settings.GNUCASH_DATABASE_URL`, a secret: never stored in
the setup, shown back or logged).

What it writes
- One GnuCash transaction per record: description the record's reference ("Invoice
  INV-1001"), number the document number, notes the company (or employee), dated the
  record's date, in the book's default currency. One split per GL line, debit positive
  and credit negative, with the line's memo. An invoice (a SALE posting) so debits
  Accounts Receivable against its income and tax accounts; an expense, freight or
  product (a BILL posting) credits Accounts Payable (or the reimbursement account).
- Two string slots identify what this connector wrote: `psa-record` ("invoice:42") and
  `psa-batch` (the batch identifier); `find` and the removals read nothing else.
- Accounts are the book's own: each GL account is found by its code (the GL account
  number), else by its full name ("Income:Consulting" or the GL account's name). None
  is ever created: a send whose GL accounts the book lacks is refused before anything is
  written, naming every missing account. A placeholder account, or one in another
  currency than the book's, is refused the same way.

Safety
- Every send and removal is one database transaction in the book: committed whole, or
  rolled back whole when anything fails (a refused record, an error, a killed process:
  SQLite's journal and PostgreSQL undo what was not committed). A send given the sends
  it replaces (`replacing`) removes them in the same transaction.
- A (record, batch) already in the book is not written again: its transaction's id is
  answered, so a retried or redelivered transfer never duplicates a record.
- Writers take turns: an exclusive `fcntl` lock on `<book>.lock` beside a SQLite book
  (as the beancount connector does), a transaction-scoped advisory lock in a PostgreSQL
  book. A book GnuCash itself has open (its lock row in `gnclock`) is not written to.
- A SQLite book is located inside the ledger folder each time and opened through its
  folder's descriptor (`/proc/self/fd/<folder>/<file>`), so a folder swapped for a
  symbolic link after the check is never followed; the file itself must be a regular
  file (not a link) no larger than `LEDGER_MAX_BYTES`, and the file opened must be the
  one checked. A missing book is refused: it is made in GnuCash (or by
  `manage.py demo_gnucash` for the demo), never by a transfer.
"""

import contextlib
import logging
import os
import warnings
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import exc as sqlalchemy_errors
from sqlalchemy import text

from accounting.connectors import RecordPayment, SentRecord, files
from accounting.exporters.base import clean_text, money
from core.errors import ApplicationError

# piecash is written for SQLAlchemy 1.4 (it pins it): SQLAlchemy's notice that 2.0 will
# not take some of its calls is not ours to act on. And piecash's mappings share the
# slots table between every kind of object, which SQLAlchemy warns about once per
# process: it is how GnuCash's schema is, not a fault.
warnings.filterwarnings("ignore", category=sqlalchemy_errors.RemovedIn20Warning)
warnings.filterwarnings(
    "ignore", message=r"relationship '.*' will copy column", category=sqlalchemy_errors.SAWarning
)

import piecash  # noqa: E402  (after the filters above)

if TYPE_CHECKING:
    from accounting.gl import Posting

logger = logging.getLogger(__name__)

RECORD_SLOT = "psa-record"
BATCH_SLOT = "psa-batch"
# The identity of every transaction this connector wrote: (guid, record, batch).
_SENT = text(
    "SELECT r.obj_guid, r.string_val, b.string_val FROM slots r "
    "JOIN slots b ON b.obj_guid = r.obj_guid AND b.name = :batch_slot "
    "JOIN transactions t ON t.guid = r.obj_guid "
    "WHERE r.name = :record_slot"
)
# A PostgreSQL book's writers take turns on this advisory lock (a constant of ours).
_ADVISORY_LOCK = zlib.crc32(b"psa-gnucash-book")


@dataclass(frozen=True)
class BookAccounts:
    """The book's accounts, by code and by full name, and its currency."""

    by_code: dict[str, list[Any]]
    by_full_name: dict[str, Any]
    currency: Any

    def find(self, number: str, name: str) -> Any | None:
        coded = self.by_code.get(number.strip())
        if coded:
            return coded[0]
        return self.by_full_name.get(name.strip())


def accounts_of(book: Any) -> BookAccounts:
    by_code: dict[str, list[Any]] = {}
    by_full_name: dict[str, Any] = {}
    for account in book.accounts:
        if account.code and account.code.strip():
            by_code.setdefault(account.code.strip(), []).append(account)
        by_full_name[account.fullname] = account
    return BookAccounts(by_code, by_full_name, book.default_currency)


class GnuCashConnector:
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

    @contextlib.contextmanager
    def _book(self, *, write: bool) -> Iterator[Any]:
        opener = self._database_book if self._database_url else self._file_book
        with opener(write=write) as book:
            try:
                yield book
            except BaseException:
                with contextlib.suppress(Exception):
                    book.cancel()
                raise

    @contextlib.contextmanager
    def _database_book(self, *, write: bool) -> Iterator[Any]:
        assert self._database_url is not None, "a book in PostgreSQL is reached by its URL"
        book = self._open(self._database_url, write=write)
        try:
            if write:  # held until the transaction ends: writers take turns
                book.session.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK}
                )
            yield book
        finally:
            _close(book)

    @contextlib.contextmanager
    def _file_book(self, *, write: bool) -> Iterator[Any]:
        location = files.locate(self.book_path, root=self.root)
        with files.locked(location, exclusive=write, name=self.name) as folder:
            checked = files.open_in_folder(folder, location.file, os.O_RDONLY, name=self.name)
            if checked is None:
                raise _book_missing(self.name)
            try:
                _check_size(checked, self.name)
                book = self._open(f"sqlite:////proc/self/fd/{folder}/{location.file}", write=write)
                try:
                    # The file SQLite opened is the one checked (not a link swapped in).
                    opened = os.stat(location.file, dir_fd=folder, follow_symlinks=False)
                    if (opened.st_ino, opened.st_dev) != _identity(checked):
                        raise files.LedgerFileError(
                            f"The GnuCash book {self.name} changed while it was opened; "
                            "retry the transfer.",
                            problem="It changed while it was opened.",
                        )
                    yield book
                finally:
                    _close(book)
            finally:
                os.close(checked)

    def _open(self, uri: str, *, write: bool) -> Any:
        """The book through piecash; what goes wrong is told in the product's words (the
        library's own words, which may quote the location, go nowhere)."""
        try:
            return piecash.open_book(
                uri_conn=uri,
                readonly=not write,
                open_if_lock=not write,
                do_backup=False,
                check_exists=False,
            )
        except piecash.GnucashException as error:
            if "Lock" in str(error):
                raise ApplicationError(
                    f"The GnuCash book {self.name} is open in GnuCash (it holds the book's "
                    "lock); close it there, then retry.",
                    code="book_locked",
                ) from None
            raise self._unreadable(error) from None
        except (
            ValueError,
            AssertionError,
            ImportError,
            sqlalchemy_errors.SQLAlchemyError,
            OSError,
        ) as error:
            raise self._unreadable(error) from None

    def _unreadable(self, error: Exception) -> ApplicationError:
        logger.warning(
            "The GnuCash book %s could not be opened (%s)", self.name, type(error).__name__
        )
        return ApplicationError(
            f"The GnuCash book {self.name} cannot be opened as a GnuCash book (GnuCash 3 "
            "or 4, SQLite or PostgreSQL); check it in GnuCash, then retry.",
            code="book_invalid",
        )


# Where create_book puts each type of GL account: GnuCash's account type, under the root
# accounting's models give it (Assets, Liabilities, Income, Expenses).
GNUCASH_TYPES = {
    "accounts_receivable": "RECEIVABLE",
    "inventory": "ASSET",
    "accounts_payable": "PAYABLE",
    "sales_tax": "LIABILITY",
    "reimbursement": "LIABILITY",
    "income": "INCOME",
    "expense": "EXPENSE",
    "freight": "EXPENSE",
}
_ROOT_TYPES = {
    "Assets": "ASSET",
    "Liabilities": "LIABILITY",
    "Income": "INCOME",
    "Expenses": "EXPENSE",
}


def create_book(
    book_path: str,
    gl_accounts: Iterable[tuple[str, str, str]],
    *,
    currency: str = "USD",
    root: str | os.PathLike | None = None,
) -> None:
    """Make a new SQLite GnuCash book inside the ledger folder with an account for each
    (number, name, type) GL account: named as the GL account, its code the GL account's
    number, under a placeholder Assets, Liabilities, Income or Expenses. For a demo or a
    first book; an existing book is refused, never overwritten."""
    location = files.locate(book_path, root=root)
    with files.folder_descriptor(location) as folder:
        # Made empty here (no link followed, refused if it exists), then filled in.
        try:
            made = os.open(
                location.file,
                os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                0o644,
                dir_fd=folder,
            )
        except FileExistsError:
            raise files.LedgerFileError(
                f"The GnuCash book {book_path} exists already; it is left as it is.",
                problem="A book of that name exists already.",
            ) from None
        os.close(made)
        try:
            # The file just made empty is the one piecash fills ("overwrite" it).
            _made_book(
                f"sqlite:////proc/self/fd/{folder}/{location.file}",
                gl_accounts,
                currency,
                overwrite=True,
            )
        except BaseException:
            os.unlink(location.file, dir_fd=folder)
            raise


def create_database_book(
    database_url: str, gl_accounts: Iterable[tuple[str, str, str]], *, currency: str = "USD"
) -> None:
    """Make a new GnuCash book in the PostgreSQL database `database_url` (a database
    that exists already is refused), with the accounts `create_book` makes."""
    _made_book(database_url, gl_accounts, currency, overwrite=False)


def _made_book(
    uri: str, gl_accounts: Iterable[tuple[str, str, str]], currency: str, *, overwrite: bool
) -> None:
    from accounting.models import GL_ACCOUNT_ROOTS

    book = piecash.create_book(uri_conn=uri, currency=currency, overwrite=overwrite)
    try:
        parents: dict[str, Any] = {}
        for number, name, gl_type in gl_accounts:
            top = str(GL_ACCOUNT_ROOTS[gl_type])
            if top not in parents:
                parents[top] = piecash.Account(
                    top,
                    _ROOT_TYPES[top],
                    book.default_currency,
                    parent=book.root_account,
                    placeholder=1,  # an integer column in PostgreSQL books
                )
            piecash.Account(
                name,
                GNUCASH_TYPES[gl_type],
                book.default_currency,
                parent=parents[top],
                code=number,
            )
        book.save()
    finally:
        _close(book)


def _account_problem(accounts: BookAccounts, number: str, name: str) -> str | None:
    coded = accounts.by_code.get(number.strip(), [])
    if len(coded) > 1:
        return (
            f"GL account {number} {name}: the book has {len(coded)} accounts with the code "
            f"{number} ({', '.join(sorted(a.fullname for a in coded))})."
        )
    account = accounts.find(number, name)
    if account is None:
        return (
            f"GL account {number} {name} has no account in the book (by code {number} "
            f"or full name '{name}')."
        )
    if account.placeholder:
        return (
            f"GL account {number} {name}: the book's account {account.fullname} is a placeholder."
        )
    if account.commodity != accounts.currency:
        return (
            f"GL account {number} {name}: the book's account {account.fullname} is in "
            f"{account.commodity.mnemonic}, not the book's {accounts.currency.mnemonic}."
        )
    return None


def _identity(descriptor: int) -> tuple[int, int]:
    state = os.fstat(descriptor)
    return state.st_ino, state.st_dev


def _check_size(descriptor: int, name: str) -> None:
    from django.conf import settings

    if os.fstat(descriptor).st_size > settings.LEDGER_MAX_BYTES:
        raise files.LedgerFileError(
            f"The GnuCash book {name} is larger than the server reads (LEDGER_MAX_BYTES); "
            "ask the server's operator to raise the limit.",
            problem="It is larger than the server reads (LEDGER_MAX_BYTES).",
        )


def _close(book: Any) -> None:
    engine = book.session.bind
    try:
        book.close()
    finally:
        engine.dispose()  # no pooled connection outlives the folder's descriptor


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


def _book_missing(name: str) -> files.LedgerFileError:
    return files.LedgerFileError(
        f"The GnuCash book {name} does not exist in the ledger folder; create it in GnuCash "
        "(File > Save As, SQLite) with the accounts of the GL account mapping, or set "
        "ledger_path in the accounting package setup to the book's name, then retry.",
        problem="No GnuCash book of that name in the ledger folder.",
    )
