"""Direct-transfer connectors: push postings into an accounting package and find or
remove what was pushed, by the record's identity.

`get_connector(package, options)` answers the connector of a package, or None for a
package that only takes export files. Connectors read and write only inside the ledger
folder (`settings.LEDGER_ROOT`, see `accounting.connectors.files`).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from psa.errors import ApplicationError

if TYPE_CHECKING:
    from accounting.gl import Posting

__all__ = ["Connector", "SentRecord", "get_connector", "has_connector"]


@dataclass(frozen=True)
class SentRecord:
    record_type: str
    record_id: int
    external_reference: str


class Connector(Protocol):
    def send(
        self, postings: Iterable["Posting"], *, batch_identifier: str
    ) -> dict[tuple[str, int], str]:
        """Write each posting once per batch; answer (type, id) -> external reference.
        A posting whose (type, id, batch) is already in the package is not written
        again: its existing reference is answered."""
        ...

    def find(self, *, record_type: str, record_id: int) -> list[SentRecord]:
        """Every transaction in the package for the record, from any batch."""
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
    return package in ("beancount", "xero")


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
