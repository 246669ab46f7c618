"""Export-file writers: the GL lines of a batch's records in the layout an accounting
package imports.

Writers are pure: they take `accounting.gl.Posting` objects (never the database), stream
them to a text stream opened with `newline=""` (each writer chooses its line ends) and
return how many postings they wrote. A batch that the chosen format cannot carry stops
with `ExportError` (an `ApplicationError`, code `export_not_possible`, naming the record)
rather than leaving a record out of the file.
"""

from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol, TextIO

from accounting.exporters.base import ExportError
from accounting.exporters.gl_journal_csv import GLJournalCSVExporter
from accounting.exporters.iif import IIFExporter
from accounting.exporters.quickbooks_online_csv import QuickBooksOnlineCSVExporter
from accounting.exporters.xero_csv import XeroCSVExporter
from core.errors import ApplicationError

if TYPE_CHECKING:
    from accounting.gl import Posting

__all__ = ["ExportError", "Exporter", "get_exporter"]


class Exporter(Protocol):
    format: str  # "iif" | "quickbooks_online_csv" | "xero_csv" | "gl_journal_csv"
    extension: str  # "iif", "csv"
    content_type: str
    # How many rows (each ending CRLF) `write` puts before the first record's: a file
    # joined from parts written apart keeps the first part's and drops the others'.
    header_lines: int

    def write(
        self,
        postings: Iterable["Posting"],
        out: TextIO,
        *,
        batch_identifier: str,
        options: dict,
    ) -> int:
        """Stream the postings to `out`; return how many were written."""
        ...

    def batch_refusal(self, counts: dict[str, int], options: dict) -> str | None:
        """Why a batch holding these numbers of records of each kind cannot be written
        in this format (None when it can), so that the batch is refused when it is
        made instead of failing in transfer."""
        ...


# Typed by the Protocol, so that an exporter that does not fit it fails the type check.
_EXPORTERS: dict[str, type[Exporter]] = {
    exporter.format: exporter
    for exporter in (
        IIFExporter,
        QuickBooksOnlineCSVExporter,
        XeroCSVExporter,
        GLJournalCSVExporter,
    )
}


def get_exporter(format: str) -> Exporter:
    try:
        return _EXPORTERS[format]()
    except KeyError:
        raise ApplicationError(
            f"'{format}' is not an export format; use one of {', '.join(_EXPORTERS)}.",
            code="validation_error",
            status_code=400,
        ) from None
