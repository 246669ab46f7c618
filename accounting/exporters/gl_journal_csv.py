"""Generic GL journal CSV: one row per GL line, for any package or spreadsheet.

Columns: batch, record_type, reference, date (YYYY-MM-DD), account_number,
account_name, debit, credit, memo. The rows of one record share its reference, and
its debits equal its credits.
"""

from collections.abc import Iterable
from typing import TYPE_CHECKING, TextIO

from accounting.exporters.base import CSVWriter, money, require_balanced, text_cell

if TYPE_CHECKING:
    from accounting.gl import Posting

COLUMNS = (
    "batch",
    "record_type",
    "reference",
    "date",
    "account_number",
    "account_name",
    "debit",
    "credit",
    "memo",
)


class GLJournalCSVExporter:
    format = "gl_journal_csv"
    extension = "csv"
    content_type = "text/csv; charset=utf-8"
    header_lines = 1  # the rows the file starts with, before any record

    def batch_refusal(self, counts: dict[str, int], options: dict) -> str | None:
        return None  # every kind of record fits

    def write(
        self,
        postings: Iterable["Posting"],
        out: TextIO,
        *,
        batch_identifier: str,
        options: dict,
    ) -> int:
        writer = CSVWriter(out)
        writer.writerow(COLUMNS)
        batch = text_cell(batch_identifier)
        count = 0
        for posting in postings:
            require_balanced(posting)
            header = posting.header
            kind, reference, day = (
                header.type,
                text_cell(header.reference),
                header.date.isoformat(),
            )
            writer.writerows(
                (
                    batch,
                    kind,
                    reference,
                    day,
                    text_cell(line.account_number),
                    text_cell(line.account_name),
                    money(line.debit),
                    money(line.credit),
                    text_cell(line.memo),
                )
                for line in posting.lines
            )
            count += 1
        writer.flush()
        return count
