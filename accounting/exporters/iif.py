"""QuickBooks Desktop IIF (File > Utilities > Import > IIF Files).

Tab-separated, CRLF line ends, no byte-order mark. The file starts with the three
header rows `!TRNS`, `!SPL`, `!ENDTRNS`; every data row has exactly as many fields as its
header row. Each record is one transaction: a `TRNS` row, one `SPL` row per other GL
line, then `ENDTRNS`. Amounts are debit positive, credit negative, so the rows of a
transaction sum to zero.

- invoice: `INVOICE`, the TRNS row on the accounts receivable line (+total), income and
  sales tax SPL rows negative.
- freight, product: `BILL`, the TRNS row on the accounts payable line (-total), the
  freight, inventory, expense and purchase tax SPL rows positive.
- expense: `BILL` against the employee (TRNS on the payable or reimbursement line; in
  QuickBooks that account must be an Accounts Payable account and the employee a
  vendor), or, with `options["expenses_as"] == "general_journal"`, a `GENERAL JOURNAL`
  entry: the first GL line on the TRNS row, the others on SPL rows.
- any other kind: `GENERAL JOURNAL`.

ACCNT is the GL account's name exactly as the GL account table has it (QuickBooks
matches accounts by name; a mismatch silently creates a new account). NAME is the
customer or vendor on the TRNS row of an INVOICE or BILL and on every accounts receivable
or payable row. DOCNUM is the record's number. Dates are MM/DD/YYYY. Tabs, newlines and
other control characters in text become spaces, and text that a spreadsheet would read
as a formula gets a single quote in front (amounts stay numbers: a credit is -12.50).
QuickBooks has no duplicate detection for IIF: importing a file twice posts everything
twice.
"""

from collections.abc import Iterable
from typing import TYPE_CHECKING, TextIO

from accounting import gl
from accounting.exporters.base import (
    BILL_CONTROL_TYPES,
    INVOICE_CONTROL_TYPES,
    NAMED_ACCOUNT_TYPES,
    ExportError,
    money,
    net_debit,
    require_balanced,
    require_control,
    split_control,
    text_cell,
    us_date,
)
from accounting.setup_options import export_options

if TYPE_CHECKING:
    from accounting.gl import GLLine, Posting

TRNS_FIELDS = ("TRNSID", "TRNSTYPE", "DATE", "ACCNT", "NAME", "AMOUNT", "DOCNUM", "MEMO", "DUEDATE")
SPL_FIELDS = ("SPLID", "TRNSTYPE", "DATE", "ACCNT", "NAME", "AMOUNT", "DOCNUM", "MEMO")
CRLF = "\r\n"

INVOICE = "INVOICE"
BILL = "BILL"
GENERAL_JOURNAL = "GENERAL JOURNAL"


def _row(fields: Iterable[str]) -> str:
    return "\t".join(fields) + CRLF


ENDTRNS_ROW = _row(("ENDTRNS",))


class IIFExporter:
    format = "iif"
    extension = "iif"
    content_type = "text/plain; charset=utf-8"
    header_lines = 3  # the rows the file starts with, before any record

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
        options = export_options(self.format, options)
        expenses_as_journal = options.get("expenses_as") == "general_journal"
        out.write(_row(("!TRNS", *TRNS_FIELDS)))
        out.write(_row(("!SPL", *SPL_FIELDS)))
        out.write(_row(("!ENDTRNS",)))
        count = 0
        for posting in postings:
            out.write(self._transaction(posting, expenses_as_journal=expenses_as_journal))
            count += 1
        return count

    def _transaction(self, posting: "Posting", *, expenses_as_journal: bool) -> str:
        require_balanced(posting)
        kind, document = posting.header.type, posting.header.document
        if document == gl.SALE:
            transaction_type = INVOICE
            control, others = split_control(posting, INVOICE_CONTROL_TYPES)
            require_control(posting, control, "accounts receivable", "QuickBooks invoice")
        elif document == gl.BILL and not (kind == "expense" and expenses_as_journal):
            transaction_type = BILL
            control, others = split_control(posting, BILL_CONTROL_TYPES)
            require_control(posting, control, "accounts payable", "QuickBooks bill")
        else:
            transaction_type = GENERAL_JOURNAL
            control, others = [], list(posting.lines)
        # The TRNS row carries the document's total; any further control line is a split.
        ordered = [*control, *others]
        if not ordered:
            raise ExportError(f"{posting.header.reference} has no GL lines.", posting=posting)
        first, rest = ordered[0], ordered[1:]
        header = posting.header
        named = transaction_type != GENERAL_JOURNAL
        day = us_date(header.date)
        docnum, company = text_cell(header.number), text_cell(header.company)
        due = us_date(header.due_date) if header.due_date and named else ""
        # Fields in the order of TRNS_FIELDS and SPL_FIELDS; TRNSID and SPLID stay empty.
        rows = [
            _row(
                (
                    "TRNS",
                    "",
                    transaction_type,
                    day,
                    *self._line_fields(first, company, docnum, named=named),
                    due,
                )
            )
        ]
        rows += [
            _row(("SPL", "", transaction_type, day, *self._line_fields(line, company, docnum)))
            for line in rest
        ]
        rows.append(ENDTRNS_ROW)
        return "".join(rows)

    def _line_fields(
        self, line: "GLLine", company: str, docnum: str, *, named: bool = False
    ) -> tuple[str, str, str, str, str]:
        """ACCNT, NAME, AMOUNT, DOCNUM, MEMO of a line's row."""
        needs_name = named or line.account_type in NAMED_ACCOUNT_TYPES
        return (
            text_cell(line.account_name),
            company if needs_name else "",
            money(net_debit(line)),
            docnum,
            text_cell(line.memo),
        )
