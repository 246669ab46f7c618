"""The GnuCash connector's book: opened through piecash, a SQLite book file
inside the ledger folder under its lock (and checked to be the file located), or
a PostgreSQL book under an advisory lock; what goes wrong opening it, in the
product's words; and the book's accounts, found by code or full name."""

import contextlib
import logging
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import piecash
from sqlalchemy import exc as sqlalchemy_errors
from sqlalchemy import text

from accounting.connectors import files
from core.errors import ApplicationError

logger = logging.getLogger(__name__)

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


class BookAccess:
    """How a `GnuCashConnector` opens its book, for reading or writing."""

    name: str
    book_path: str | None
    root: str | os.PathLike | None
    _database_url: str | None

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


def _book_missing(name: str) -> files.LedgerFileError:
    return files.LedgerFileError(
        f"The GnuCash book {name} does not exist in the ledger folder; create it in GnuCash "
        "(File > Save As, SQLite) with the accounts of the GL account mapping, or set "
        "ledger_path in the accounting package setup to the book's name, then retry.",
        problem="No GnuCash book of that name in the ledger folder.",
    )
