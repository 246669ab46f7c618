"""Making a new GnuCash book (a SQLite file in the ledger folder, or a PostgreSQL
database) with an account for each GL account: for a demo or a first book, never
by a transfer."""

import os
from collections.abc import Iterable
from typing import Any

import piecash

from accounting.connectors import files
from accounting.connectors.gnucash.book import _close

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
