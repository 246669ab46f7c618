"""Direct-transfer connectors: push postings into an accounting package and find or
remove what was pushed, by the record's identity.

`get_connector(package, options)` answers the connector of a package, or None for a
package that only takes export files.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from psa.errors import ApplicationError

if TYPE_CHECKING:
    from accounting.gl import Posting

__all__ = ["Connector", "SentRecord", "get_connector"]


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


def get_connector(package: str, options: dict) -> Connector | None:
    if package == "beancount":
        from accounting.connectors.beancount import BeancountConnector

        ledger_path = (options or {}).get("ledger_path")
        if not ledger_path:
            raise ApplicationError(
                "The beancount connector needs the ledger file's path: set ledger_path in "
                "the accounting package setup's options.",
                code="validation_error",
                status_code=400,
                extra={"fields": {"options": ["Set ledger_path."]}},
            )
        return BeancountConnector(
            ledger_path=ledger_path, currency=(options or {}).get("currency") or "USD"
        )
    return None
