"""Direct-transfer connectors: push postings into an accounting package and find or
remove what was pushed, by the record's identity.

`get_connector(package, options)` answers the connector of a package, or None for a
package that only takes export files. Connectors read and write only inside the ledger
folder (`settings.LEDGER_ROOT`, see `accounting.connectors.files`).
"""

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from core.errors import ApplicationError

if TYPE_CHECKING:
    from accounting.gl import Posting

__all__ = ["Connector", "RecordPayment", "SentRecord", "get_connector", "has_connector"]


@dataclass(frozen=True)
class SentRecord:
    """A transaction the package holds for a record this product sent. A connector that
    can read them back also answers the batch it carries, its date and its lines, each
    (GL account number, debit minus credit), in account order: what the books check
    compares with the transfer log."""

    record_type: str
    record_id: int
    external_reference: str
    batch_identifier: str = ""
    date: dt.date | None = None
    lines: tuple[tuple[str, Decimal], ...] | None = None


@dataclass(frozen=True)
class RecordPayment:
    """What the package says was paid against a record sent as a sale: the amount paid
    in all, and the date of the last payment."""

    record_type: str
    record_id: int
    amount_paid: Decimal
    last_paid_on: dt.date


class Connector(Protocol):
    def test_connection(self, gl_accounts: Iterable[tuple[str, str]]) -> dict[str, Any]:
        """Open the package as a transfer would and say what it holds, checking the
        setup's GL accounts (number, name) against it; refusals in the product's words."""
        ...

    def send(
        self,
        postings: Iterable["Posting"],
        *,
        batch_identifier: str,
        replacing: Iterable[tuple[str, int, str]] = (),
    ) -> dict[tuple[str, int], str]:
        """Write each posting once per batch; answer (type, id) -> external reference.
        A posting whose (type, id, batch) is already in the package is not written
        again: its existing reference is answered. `replacing`: the (type, id, batch)
        sends a re-send replaces, removed first (as `remove_sent` does), in the same
        write where the package allows (a GnuCash book: the same transaction)."""
        ...

    def find(self, *, record_type: str, record_id: int) -> list[SentRecord]:
        """Every transaction in the package for the record, from any batch."""
        ...

    def find_sent(self) -> Iterator[SentRecord]:
        """Every transaction in the package that carries this product's tag, in the
        order of (record type, record id, batch): what the books check reads. The
        package is read before the first one is answered, and nothing is held while
        the caller works through them."""
        ...

    def find_payments(self) -> Iterator[RecordPayment]:
        """For each sent record the package holds payments against, the amount paid
        and the date of the last payment (a connector that cannot read payments
        answers none)."""
        ...

    def remove(
        self, *, record_type: str, record_id: int, batch_identifier: str | None = None
    ) -> int:
        """Remove what `find` answers (only that batch's, when given); answer how many."""
        ...

    def remove_sent(self, sends: Iterable[tuple[str, int, str]]) -> int:
        """Remove the transactions of each (type, id, batch) send, all in one pass over
        the package; answer how many. A send no longer there is skipped (a retried
        transfer removes what its first run may have removed already)."""
        ...

    def remove_except(
        self, records: Iterable[tuple[str, int]], *, keep_batch: str
    ) -> list[SentRecord]:
        """Remove every transaction of the (type, id) records that carries a batch other
        than `keep_batch`; answer what was removed. Cheap when there is none: a lookup
        per record in what the connector already knows of the package."""
        ...

    # Optional, for a package that refuses single documents (Xero): `refusals` maps
    # (type, id) to why a record was not sent, or why its original was not removed
    # (the transfer then does not send it again); the rest of the batch goes on.
    # `on_wait(until)` is set by the transfer: the connector calls it while it waits
    # out the package's rate limit (None when the wait is over).


def has_connector(package: str) -> bool:
    """Whether the package takes direct transfers (its options are declared in
    `accounting.setup_options.DIRECT_TRANSFER_OPTIONS`)."""
    return package in ("beancount", "gnucash", "xero")


def reads_back(package: str) -> bool:
    """Whether the package's connector reads back what the package holds, for the books
    check and payments (`find_sent`, `find_payments`): every connector does."""
    return has_connector(package)


def ensure_reads_back(package: str, label: str, doing: str) -> None:
    """Refuse, with the way out, what needs the package read back when it cannot be."""
    if reads_back(package):
        return
    raise ApplicationError(
        f"{label} takes export files only: no connector can read what it holds. Set "
        f"up a package with direct transfer to {doing}.",
        code="no_connector",
    )


def get_connector(package: str, options: dict) -> Connector | None:
    """The package's connector, from the setup's options as they are held. Options it
    cannot use raise an ApplicationError in the product's words (the ledger's disk is
    checked only when the connector opens it)."""
    if not has_connector(package):
        return None
    # Imported here, not at the top: the beancount connector imports this package
    # (SentRecord, files) and loads the beancount library, needed only for a direct
    # transfer; setup_options imports this package's files module (import cycles).
    from accounting.setup_options import direct_transfer_options

    values = direct_transfer_options(package, options)
    if package == "gnucash":
        return _gnucash_connector(values)
    if package == "xero":
        from accounting.connectors.xero import XeroConnector

        return XeroConnector(options=values)
    from accounting.connectors.beancount import BeancountConnector

    if not values["ledger_path"]:
        raise ApplicationError(
            "The beancount connector needs the ledger's name: set ledger_path in the "
            "accounting package setup's options to a file inside the ledger folder, for "
            "example books/main.beancount.",
            code="validation_error",
            status_code=400,
            extra={"fields": {"options.ledger_path": ["Set ledger_path."]}},
        )
    return BeancountConnector(ledger_path=values["ledger_path"], currency=values["currency"])


def _gnucash_connector(values: dict) -> Connector:
    from django.conf import settings

    from accounting.connectors.gnucash import GnuCashConnector

    if values["book_database"] == "postgresql":
        if not settings.GNUCASH_DATABASE_URL:
            raise ApplicationError(
                "The GnuCash book is set to be in a PostgreSQL database, but the server's "
                "operator has not set its connection (GNUCASH_DATABASE_URL); ask them to "
                "set it, or set book_database to file in the accounting package setup.",
                code="validation_error",
                status_code=400,
                extra={
                    "fields": {"options.book_database": ["The server has no GnuCash database set."]}
                },
            )
        return GnuCashConnector(database_url=settings.GNUCASH_DATABASE_URL)
    if not values["ledger_path"]:
        raise ApplicationError(
            "The GnuCash connector needs the book's name: set ledger_path in the "
            "accounting package setup's options to a SQLite book inside the ledger folder, "
            "for example books/main.gnucash.",
            code="validation_error",
            status_code=400,
            extra={"fields": {"options.ledger_path": ["Set ledger_path."]}},
        )
    return GnuCashConnector(book_path=values["ledger_path"])
