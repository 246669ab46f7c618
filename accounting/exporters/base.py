"""What every export writer shares: amounts, dates, text, and which GL line is the
document's control line (accounts receivable on an invoice, payable on a bill).

A writer says what each cell is by how it makes it: an amount with `money`, a date with
`us_date`, `day_first_date` or `date.isoformat`, a fixed word of the format (a column
name, a transaction type) as it is, and any other text with `text_cell`. Export files
are opened in spreadsheets, which read a cell starting with = + - @ as a formula:
`text_cell` writes such text with a single quote in front, amounts stay numbers.
"""

import re
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, TextIO

from accounting.gl import to_cents
from accounting.postables import kinds
from core.errors import ApplicationError

if TYPE_CHECKING:
    from accounting.gl import GLLine, Posting

# Where the document total sits, per kind: the invoice's receivable, the bill's payable.
# An expense entry owes the employee, so its bill is against the reimbursement liability
# when the setup has no payable account on it.
INVOICE_CONTROL_TYPES = frozenset({"accounts_receivable"})
BILL_CONTROL_TYPES = frozenset({"accounts_payable", "reimbursement"})
# Lines that need a customer or vendor NAME in QuickBooks.
NAMED_ACCOUNT_TYPES = frozenset({"accounts_receivable", "accounts_payable"})

_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]+")
# The first characters that make a spreadsheet read a cell as a formula (OWASP, "CSV
# injection"): = + - @, tab and carriage return, and the full-width = + - @ that
# spreadsheets in East Asian locales take as the same.
FORMULA_STARTS = frozenset("=+-@\t\r\uff1d\uff0b\uff0d\uff20")


class ExportError(ApplicationError):
    """The batch cannot be written in the chosen format; the message says what to do."""

    def __init__(self, message: str, *, posting: "Posting | None" = None) -> None:
        items = []
        if posting is not None:
            header = posting.header
            items = [{"type": header.type, "id": header.id, "reference": header.reference}]
        super().__init__(message, code="export_not_possible", extra={"items": items})


def document_kinds(document: str) -> frozenset[str]:
    """The kinds whose postings are this document (SALE or BILL), as their adapters say."""
    return frozenset(kind.type for kind in kinds() if kind.document == document)


def money(value: Decimal) -> str:
    """2 decimals, no currency symbol, no thousands separator, never "-0.00"."""
    rounded = to_cents(value)
    # Two places: str() writes them in full ("1234.50"), never with an exponent.
    return str(rounded) if rounded else "0.00"


def clean_text(value: str | None) -> str:
    """One line of text: tabs, newlines and other control characters become a space.
    A tab or newline inside a field shifts the columns of an IIF row and breaks the
    row-per-line CSV importers. For text that no spreadsheet opens (a ledger); a cell of
    an export file is made with `text_cell`."""
    if not value:
        return ""
    if value.isprintable():  # the common case, without the regular expression
        return value.strip()
    return _CONTROL_CHARACTERS.sub(" ", value).strip()


def text_cell(value: str | None) -> str:
    """A text cell of an export file: one line (as `clean_text`), and text that a
    spreadsheet would read as a formula (`=HYPERLINK(...)`, `+cmd|...`, `-2+3`,
    `@SUM(...)`) written with a single quote in front, which makes it text, as OWASP
    recommends. Only the first character is looked at: the check costs next to nothing
    on the millions of cells of a big batch. Never for amounts: `money` writes those."""
    if not value:
        return ""
    text = value.strip() if value.isprintable() else _CONTROL_CHARACTERS.sub(" ", value).strip()
    return "'" + text if text and text[0] in FORMULA_STARTS else text


def csv_text(rows: list[Sequence[str]]) -> str:
    """Rows of text fields as `csv.writer` writes them in its default dialect, byte for
    byte: commas between fields, a field in double quotes (its quotes doubled) when it
    holds a comma, a quote or a line break, CRLF after each row. `csv.writer` walks every
    character of every field; here the rows are joined as they are and the text checked
    once: when it holds no quote, no line break but the row ends and no comma but the
    separators (nearly always), no field needed quotes."""
    if not rows:
        return ""
    text = "\r\n".join(map(",".join, rows)) + "\r\n"
    count = len(rows)
    if (
        text.count(",") == sum(map(len, rows)) - count
        and text.count("\n") == count == text.count("\r")
        and '"' not in text
        # An empty line: a row of one empty field, which csv.writer writes as "".
        and not text.startswith("\r\n")
        and "\n\r\n" not in text
    ):
        return text
    return "".join(map(_csv_line, rows))


def _csv_line(fields: Sequence[str]) -> str:
    if len(fields) == 1 and not fields[0]:
        return '""\r\n'
    return ",".join(map(_csv_field, fields)) + "\r\n"


def _csv_field(field: str) -> str:
    if '"' in field:
        return '"' + field.replace('"', '""') + '"'
    if "," in field or "\r" in field or "\n" in field:
        return f'"{field}"'
    return field


class CSVWriter:
    """`csv.writer`'s writerow and writerows for rows of text, written through
    `csv_text` a few thousand rows at a time; `flush` writes the rows still held."""

    ROWS_PER_WRITE = 4096

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.pending: list[Sequence[str]] = []

    def writerow(self, fields: Sequence[str]) -> None:
        self.writerows((fields,))

    def writerows(self, rows: Iterable[Sequence[str]]) -> None:
        self.pending.extend(rows)
        if len(self.pending) >= self.ROWS_PER_WRITE:
            self.flush()

    def flush(self) -> None:
        self.out.write(csv_text(self.pending))
        self.pending = []


# A batch's records share a few hundred dates at most: each is formatted once.
@lru_cache(maxsize=4096)
def us_date(value: date) -> str:
    return f"{value.month:02d}/{value.day:02d}/{value.year:04d}"


@lru_cache(maxsize=4096)
def day_first_date(value: date) -> str:
    return f"{value.day:02d}/{value.month:02d}/{value.year:04d}"


def net_debit(line: "GLLine") -> Decimal:
    """Debit positive, credit negative."""
    return line.debit - line.credit


def split_control(
    posting: "Posting", control_types: Iterable[str]
) -> tuple[list["GLLine"], list["GLLine"]]:
    """The posting's control lines (receivable or payable) and its other lines, in order."""
    control_types = frozenset(control_types)
    control = [line for line in posting.lines if line.account_type in control_types]
    others = [line for line in posting.lines if line.account_type not in control_types]
    return control, others


def require_control(posting: "Posting", control: list["GLLine"], what: str, document: str) -> None:
    if not control:
        raise ExportError(
            f"{posting.header.reference} has no {what} line, which a {document} needs; "
            "check the GL accounts on the record and the default accounts in the setup.",
            posting=posting,
        )


def require_balanced(posting: "Posting") -> None:
    if not posting.is_balanced():
        raise ExportError(
            f"{posting.header.reference} does not balance (debits "
            f"{money(posting.total_debit)}, credits {money(posting.total_credit)}); "
            "nothing unbalanced is exported.",
            posting=posting,
        )
