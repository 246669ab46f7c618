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

The modules: `connector` (the connector's interface and the transactions it
writes), `book` (opening a book, under its lock, and reading its accounts),
`creation` (making a new book, for a demo or a first book). piecash's warnings are
silenced here, before any of them imports it.
"""

import warnings

from sqlalchemy import exc as sqlalchemy_errors

# piecash is written for SQLAlchemy 1.4 (it pins it): SQLAlchemy's notice that 2.0 will
# not take some of its calls is not ours to act on. And piecash's mappings share the
# slots table between every kind of object, which SQLAlchemy warns about once per
# process: it is how GnuCash's schema is, not a fault.
warnings.filterwarnings("ignore", category=sqlalchemy_errors.RemovedIn20Warning)
warnings.filterwarnings(
    "ignore", message=r"relationship '.*' will copy column", category=sqlalchemy_errors.SAWarning
)

from accounting.connectors.gnucash.book import BookAccounts, accounts_of  # noqa: E402
from accounting.connectors.gnucash.connector import (  # noqa: E402
    BATCH_SLOT,
    RECORD_SLOT,
    GnuCashConnector,
)
from accounting.connectors.gnucash.creation import (  # noqa: E402
    GNUCASH_TYPES,
    create_book,
    create_database_book,
)

__all__ = [
    "BATCH_SLOT",
    "GNUCASH_TYPES",
    "RECORD_SLOT",
    "BookAccounts",
    "GnuCashConnector",
    "accounts_of",
    "create_book",
    "create_database_book",
]
