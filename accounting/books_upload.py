"""The books check of a package that takes export files: the user uploads the
package's own export of the period, and the run compares it with the file transfers
to the package as a connector's read-back is compared (`accounting.reconciliation`).

Three exports are read, strictly: a row the reader does not understand stops the upload
with the line's number and what is wrong, and nothing is kept.

- `gl_journal_csv`: this product's GL journal CSV (`accounting.exporters.gl_journal_csv`),
  as the package exports it back: the header row `batch, record_type, reference, date,
  account_number, account_name, debit, credit, memo`, one row per GL line. A document
  is the record's type and reference; its copies are told apart by the batch column.
- `quickbooks_gl_report`: QuickBooks' General Ledger report exported to CSV (Online:
  Reports > General Ledger > Export to CSV; Desktop: Reports > Accountant & Taxes >
  General Ledger > Excel > CSV). A few title lines, then the column row (Date,
  Transaction Type, Num, Name, Memo/Description, Split, Debit, Credit, Balance; the
  report must show Debit and Credit: Customize > Rows/Columns), then per account a row
  naming it, its transactions (first cell empty), and "Total for <account>". A
  document is the transaction's Num, the record's number as the export files carry it
  (DOCNUM, Journal No, Invoice number); the account is matched to a GL account by name.
- `xero_gl_report`: Xero's General Ledger Detail (or Account Transactions) report
  exported to CSV: title lines, the column row (Date, Source, Description, Reference,
  Invoice Number, Debit, Credit, Running Balance; an Account Code column when shown),
  then per account a row naming it ("200 - Sales" or "Sales (200)"), Opening Balance,
  its transactions, Total and Closing Balance rows. A document is the Invoice Number
  (or, without it, the Reference); the account is the account code, the GL account's
  number.

An upload is parsed in the request, a chunk of rows at a time, into
`ReconciliationUploadLine` rows of its run; the run's task resolves each document to a
record (by the references and numbers of what the transfer log holds), then reads the
lines back in the order of (record type, record id) as `SentRecord`s. Memory holds one
chunk, whatever the size of the file.
"""

import csv
import io
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import IO

from django.conf import settings
from django.db import connection
from django.db.models import F
from django.db.models.functions import Collate

from accounting.connectors import SentRecord
from accounting.exporters.base import BILL_CONTROL_TYPES, FORMULA_STARTS, INVOICE_CONTROL_TYPES
from accounting.exporters.gl_journal_csv import COLUMNS as GL_JOURNAL_COLUMNS
from accounting.gl import AccountBook
from accounting.models import (
    GLAccount,
    Reconciliation,
    ReconciliationUploadLine,
    TransferLog,
    UploadFormat,
)
from accounting.postables import get_kind, kind_types
from core.errors import ApplicationError

CHUNK = 5000
CONTROL_TYPES = INVOICE_CONTROL_TYPES | BILL_CONTROL_TYPES
# Title lines before the column row of a report (name, company, period, basis).
MAX_TITLE_LINES = 20


class UploadError(ApplicationError):
    """The uploaded export cannot be read; the message names the line."""

    def __init__(self, message: str, *, line: int | None = None) -> None:
        text = f"Line {line}: {message}" if line is not None else message
        fields = {"file": [text]}
        super().__init__(text, code="validation_error", status_code=400, extra={"fields": fields})


def max_upload_bytes() -> int:
    return settings.BOOKS_CHECK_UPLOAD_MAX_BYTES


@dataclass(frozen=True)
class ReportLine:
    """One amount line of an export: which document, and where its amount went."""

    line_no: int
    document: str
    record_type: str  # known from the export itself (the GL journal CSV), else ""
    copy_key: str
    date: date
    account: str  # a GL account number, or (by_name) its name in the package
    by_name: bool
    amount: Decimal  # debit minus credit


# ---------------------------------------------------------------- cells


_MONEY_CLEAN = re.compile(r"[\s$€£¥,]")


def _amount(text: str, line: int, column: str) -> Decimal:
    """An amount cell: empty is zero; currency symbols and thousands separators are
    dropped; (12.50) and -12.50 are negative."""
    raw = text.strip()
    if not raw:
        return Decimal("0")
    value = _MONEY_CLEAN.sub("", raw)
    negative = False
    if value.startswith("(") and value.endswith(")"):
        negative, value = True, value[1:-1]
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise UploadError(f"{column} is '{raw[:40]}', which is not an amount.", line=line) from None
    if not amount.is_finite() or abs(amount) >= Decimal("1e13"):
        raise UploadError(f"{column} is '{raw[:40]}', which is not an amount.", line=line)
    return -amount if negative else amount


_MONTH_NAMES = ("%d %b %Y", "%d %B %Y", "%b %d, %Y", "%B %d, %Y", "%d-%b-%Y", "%d-%b-%y")


def _date(text: str, line: int, *, day_first: bool) -> date:
    """YYYY-MM-DD, the slash form in the order the package writes (MM/DD/YYYY, or
    DD/MM/YYYY when day first), or a month's name (1 Mar 2026, Mar 1, 2026)."""
    raw = text.strip()
    formats = ["%Y-%m-%d", "%d/%m/%Y" if day_first else "%m/%d/%Y", *_MONTH_NAMES]
    for form in formats:
        try:
            return datetime.strptime(raw, form).date()
        except ValueError:
            continue
    order = "DD/MM/YYYY" if day_first else "MM/DD/YYYY"
    raise UploadError(f"'{raw[:40]}' is not a date (YYYY-MM-DD, {order} or 1 Mar 2026).", line=line)


def _iso_date(text: str, line: int) -> date:
    """The GL journal CSV's date: YYYY-MM-DD, as the product writes it."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise UploadError(f"'{text.strip()[:40]}' is not a date (YYYY-MM-DD).", line=line) from None


def _is_date(text: str, *, day_first: bool) -> bool:
    try:
        _date(text, 0, day_first=day_first)
    except UploadError:
        return False
    return True


def _text(value: str) -> str:
    """A text cell as the exporter wrote it: a leading quote that kept a spreadsheet
    from reading it as a formula is dropped."""
    value = value.strip()
    if len(value) > 1 and value[0] == "'" and value[1] in FORMULA_STARTS:
        return value[1:]
    return value


def _rows(stream: IO[bytes]) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) of each row of a CSV file in UTF-8 (a byte-order mark is
    dropped); a file that is not text stops with the line it stopped on."""
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    reader = csv.reader(text, strict=True)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except UnicodeDecodeError:
            raise UploadError(
                "the file is not UTF-8 text; export it again as CSV (UTF-8).",
                line=reader.line_num + 1,
            ) from None
        except csv.Error as error:
            raise UploadError(f"the CSV does not parse ({error}).", line=reader.line_num) from None
        if "\x00" in "".join(row):
            raise UploadError(
                "the file holds NUL characters; it is not a CSV export.", line=reader.line_num
            )
        yield reader.line_num, row


def _header_name(cell: str) -> str:
    """A report's column name without its currency ("Debit (USD)") and case."""
    return re.sub(r"\s*\([^)]*\)\s*$", "", cell.strip()).lower()


# ---------------------------------------------------------------- readers


def read_gl_journal_csv(stream: IO[bytes], *, day_first: bool = False) -> Iterator[ReportLine]:
    rows = _rows(stream)
    first = next(rows, None)
    if first is None:
        raise UploadError("The file is empty; upload the GL journal CSV the package exported.")
    line, header = first
    names = [cell.strip().lower() for cell in header]
    if tuple(names) != GL_JOURNAL_COLUMNS:
        missing = [name for name in GL_JOURNAL_COLUMNS if name not in names]
        raise UploadError(
            "the first row must name the GL journal CSV's columns "
            f"({', '.join(GL_JOURNAL_COLUMNS)})"
            + (f"; missing: {', '.join(missing)}." if missing else ", in that order."),
            line=line,
        )
    known = set(kind_types())
    for line, row in rows:
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(GL_JOURNAL_COLUMNS):
            raise UploadError(
                f"the row has {len(row)} fields; the header row has {len(GL_JOURNAL_COLUMNS)}.",
                line=line,
            )
        batch, record_type, reference, day, number, _name, debit, credit, _memo = row
        record_type = record_type.strip()
        if record_type not in known:
            raise UploadError(
                f"record_type is '{record_type[:40]}'; use one of {', '.join(sorted(known))}.",
                line=line,
            )
        reference, number = _text(reference), _text(number)
        if not reference:
            raise UploadError("reference is empty.", line=line)
        if not number:
            raise UploadError("account_number is empty.", line=line)
        yield ReportLine(
            line_no=line,
            document=reference[:200],
            record_type=record_type,
            copy_key=_text(batch)[:50],
            date=_iso_date(day, line),
            account=number[:200],
            by_name=False,
            amount=_amount(debit, line, "debit") - _amount(credit, line, "credit"),
        )


def _report_header(
    rows: Iterator[tuple[int, list[str]]], needed: dict[str, tuple[str, ...]], what: str, how: str
):
    """Skip a report's title lines to its column row; answer {key: index} of the
    columns `needed` names (each key: the names it may have)."""
    for line, row in rows:
        names = [_header_name(cell) for cell in row]
        if "date" in names and ("debit" in names or "credit" in names or "num" in names):
            found: dict[str, int] = {}
            for key, options in needed.items():
                index = next((names.index(o) for o in options if o in names), None)
                if index is not None:
                    found[key] = index
            missing = [
                needed[key][0]
                for key in ("date", "document", "debit", "credit")
                if key not in found
            ]
            if missing:
                raise UploadError(
                    f"the column row has no {', '.join(missing)} column; {how}", line=line
                )
            return line, found, len(row)
        if line > MAX_TITLE_LINES:
            break
    raise UploadError(
        f"The file is not {what}: no column row with Date, Debit and Credit in its first "
        f"{MAX_TITLE_LINES} lines. {how}"
    )


def _report_rows(
    rows: Iterator[tuple[int, list[str]]], width: int
) -> Iterator[tuple[int, list[str]]]:
    """A report's rows after its column row: cells stripped, blank rows left out, each
    padded to the column row's width; a row with more filled fields is refused."""
    for line, row in rows:
        cells = [cell.strip() for cell in row]
        if not any(cells):
            continue
        if len(cells) > width and any(cells[width:]):
            raise UploadError(
                f"the row has {len(cells)} fields; the column row has {width}.", line=line
            )
        yield line, cells + [""] * (width - len(cells))


QUICKBOOKS_HOW = (
    "export the General Ledger report to CSV with the Debit and Credit columns shown "
    "(Customize > Rows/Columns)."
)


def read_quickbooks_gl_report(
    stream: IO[bytes], *, day_first: bool = False
) -> Iterator[ReportLine]:
    rows = _rows(stream)
    _line, columns, width = _report_header(
        rows,
        {
            "date": ("date",),
            "document": ("num", "no.", "no"),
            "debit": ("debit",),
            "credit": ("credit",),
            "account": ("account", "account full name"),
            "type": ("transaction type", "type"),
        },
        "a QuickBooks General Ledger report",
        QUICKBOOKS_HOW,
    )
    date_at, num_at, debit_at, credit_at = (
        columns["date"],
        columns["document"],
        columns["debit"],
        columns["credit"],
    )
    account_at = columns.get("account")
    account = ""
    for line, cells in _report_rows(rows, width):
        lead = cells[0] if date_at != 0 else ""
        day = cells[date_at]
        if lead and not any(cells[1:]):
            # An account's heading (or the report's footnote after the last total).
            account = (
                "" if lead.lower().startswith(("total", "accrual basis", "cash basis")) else lead
            )
            continue
        if lead.lower().startswith("total") or (not lead and day.lower().startswith("total")):
            continue
        if not day or day.lower().startswith("beginning balance"):
            continue
        if date_at == 0 and not _is_date(day, day_first=day_first) and not any(cells[1:]):
            account = day
            continue
        where = cells[account_at] if account_at is not None and cells[account_at] else account
        if not where:
            raise UploadError(
                "a transaction before any account's heading; export the General Ledger "
                "report as QuickBooks writes it.",
                line=line,
            )
        number = _text(cells[num_at])
        when = _date(day, line, day_first=day_first)
        amount = _amount(cells[debit_at], line, "Debit") - _amount(cells[credit_at], line, "Credit")
        if not number:
            continue  # a payment or deposit without a number: not a record this product sent
        yield ReportLine(
            line_no=line,
            document=number[:200],
            record_type="",
            copy_key="",
            date=when,
            account=where[:200],
            by_name=True,
            amount=amount,
        )


XERO_HOW = (
    "export the General Ledger Detail (or Account Transactions) report to CSV with the "
    "Date, Reference (or Invoice Number), Debit and Credit columns."
)
_XERO_CODE_FIRST = re.compile(r"^(\S+) - (.+)$")
_XERO_CODE_LAST = re.compile(r"^(.+) \(([^()]+)\)$")


def _xero_account(heading: str) -> tuple[str, bool]:
    """(account, by_name) of an account's heading: "200 - Sales" and "Sales (200)"
    give the code; a heading without one gives the name."""
    if match := _XERO_CODE_FIRST.match(heading):
        return match[1], False
    if match := _XERO_CODE_LAST.match(heading):
        return match[2], False
    return heading, True


def read_xero_gl_report(stream: IO[bytes], *, day_first: bool = True) -> Iterator[ReportLine]:
    rows = _rows(stream)
    _line, columns, width = _report_header(
        rows,
        {
            "date": ("date",),
            "document": ("invoice number", "reference"),
            "reference": ("reference",),
            "debit": ("debit",),
            "credit": ("credit",),
            "account": ("account code", "code"),
        },
        "a Xero General Ledger report",
        XERO_HOW,
    )
    date_at, debit_at, credit_at = columns["date"], columns["debit"], columns["credit"]
    number_at, reference_at = columns["document"], columns.get("reference")
    code_at = columns.get("account")
    account, by_name = "", False
    for line, cells in _report_rows(rows, width):
        day = cells[date_at]
        if not _is_date(day, day_first=day_first):
            label = day.lower()
            if label.startswith(("total", "opening balance", "closing balance", "net movement")):
                continue
            others = [cell for i, cell in enumerate(cells) if i != date_at]
            if day and not any(others):
                account, by_name = _xero_account(day)
                continue
            raise UploadError(
                f"'{day[:40]}' is not a date (1 Mar 2026, YYYY-MM-DD or the organisation's "
                "DD/MM/YYYY).",
                line=line,
            )
        where, named = (
            (cells[code_at], False)
            if code_at is not None and cells[code_at]
            else (account, by_name)
        )
        if not where:
            raise UploadError(
                "a transaction before any account's heading; export the report grouped by "
                "account, or with the Account Code column.",
                line=line,
            )
        document = _text(cells[number_at]) or (
            _text(cells[reference_at]) if reference_at is not None else ""
        )
        amount = _amount(cells[debit_at], line, "Debit") - _amount(cells[credit_at], line, "Credit")
        when = _date(day, line, day_first=day_first)
        if not document:
            continue  # a bank line or manual journal without a reference: not this product's
        yield ReportLine(
            line_no=line,
            document=document[:200],
            record_type="",
            copy_key="",
            date=when,
            account=where[:200],
            by_name=named,
            amount=amount,
        )


READERS = {
    UploadFormat.GL_JOURNAL_CSV: read_gl_journal_csv,
    UploadFormat.QUICKBOOKS_GL_REPORT: read_quickbooks_gl_report,
    UploadFormat.XERO_GL_REPORT: read_xero_gl_report,
}


def day_first_for(upload_format: str, options: dict) -> bool:
    """The order of a slash date, as the setup's export options write it."""
    if upload_format == UploadFormat.XERO_GL_REPORT:
        return options.get("xero_date_format") != "us"
    return options.get("qbo_date_format") == "dmy"


# ---------------------------------------------------------------- staging


class AccountMap:
    """A package's account (number, or name as QuickBooks writes it) as a GL account
    number, and whether it is a document's control account (receivable, payable)."""

    def __init__(self) -> None:
        self.numbers: dict[str, str] = {}
        self.names: dict[str, str] = {}
        self.control: set[str] = set()
        for number, name, account_type in GLAccount.objects.values_list("number", "name", "type"):
            self.numbers[number] = number
            self.names.setdefault(name.lower(), number)
            # QuickBooks shows a sub-account as "Parent:Child" or by its own name.
            self.names.setdefault(name.rsplit(":", 1)[-1].strip().lower(), number)
            if account_type in CONTROL_TYPES:
                self.control.add(number)

    def number(self, account: str, *, by_name: bool) -> str:
        if not by_name:
            return account
        key = account.lower()
        found = self.names.get(key) or self.names.get(key.rsplit(":", 1)[-1].strip())
        if found is None and account in self.numbers:
            return account
        return found or account


def stage(run: Reconciliation, upload_format: str, stream: IO[bytes], *, day_first: bool) -> dict:
    """Read the export into the run's upload lines, a chunk at a time; answer the rows
    read and the first and last dates. An `UploadError` leaves the caller's transaction
    to be rolled back."""
    reader = READERS[UploadFormat(upload_format)]
    accounts = AccountMap()
    read = {"rows": 0, "first": None, "last": None}

    def lines() -> Iterator[tuple]:
        first: date | None = None
        last: date | None = None
        for item in reader(stream, day_first=day_first):
            number = accounts.number(item.account, by_name=item.by_name)
            read["rows"] += 1
            first = item.date if first is None or item.date < first else first
            last = item.date if last is None or item.date > last else last
            read["first"], read["last"] = first, last
            yield (
                run.pk,
                item.line_no,
                item.document,
                item.record_type,
                item.copy_key,
                item.date,
                number,
                item.amount,
                number in accounts.control,
            )

    if connection.vendor == "postgresql":
        _copy_lines(lines())
    else:
        pending = []
        for row in lines():
            pending.append(ReconciliationUploadLine(**dict(zip(_COLUMNS, row, strict=True))))
            if len(pending) >= CHUNK:
                ReconciliationUploadLine.objects.bulk_create(pending)
                pending = []
        ReconciliationUploadLine.objects.bulk_create(pending)
    return read


_COLUMNS = (
    "reconciliation_id",
    "line_no",
    "document",
    "record_type",
    "copy_key",
    "date",
    "account_number",
    "amount",
    "control",
)


def _copy_lines(rows: Iterable[tuple]) -> None:
    """The rows into the upload lines with PostgreSQL's COPY, as they are read."""
    table = ReconciliationUploadLine._meta.db_table
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg's own cursor
        with raw.copy(f"COPY {table} ({', '.join(_COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def resolve(run: Reconciliation) -> None:
    """Name the record each uploaded document belongs to, from what the transfer log
    holds of the records this product sent (to any package, by any means): by the
    record's type and reference (the GL journal CSV), by its reference, then by its
    number, computed as a transfer computes it, a chunk of records at a time."""
    table = ReconciliationUploadLine._meta.db_table
    log = TransferLog._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""UPDATE {table} AS line SET record_id = log.record_id,
                       record_type = log.record_type
                  FROM {log} AS log
                 WHERE line.reconciliation_id = %s AND line.record_id IS NULL
                   AND log.reference = line.document
                   AND (line.record_type = '' OR line.record_type = log.record_type)""",
            [run.pk],
        )
    if run.upload_format == UploadFormat.GL_JOURNAL_CSV:
        return  # its rows name the reference, never the number
    book = AccountBook()
    records = (
        TransferLog.objects.order_by("record_type", "record_id")
        .values_list("record_type", "record_id")
        .distinct()
    )
    wanted: dict[str, list[int]] = defaultdict(list)

    def flush() -> None:
        values: list[tuple[str, str, int]] = []
        for record_type, ids in wanted.items():
            kind = get_kind(record_type)
            for posting in kind.bulk_postings(kind.model.objects.filter(pk__in=ids), book):
                values.append((posting.header.number, record_type, posting.header.id))
        wanted.clear()
        if not values:
            return
        rows = ", ".join(["(%s, %s, %s)"] * len(values))
        with connection.cursor() as cursor:
            cursor.execute(
                f"""UPDATE {table} AS line SET record_type = v.record_type,
                           record_id = v.record_id
                      FROM (VALUES {rows}) AS v(number, record_type, record_id)
                     WHERE line.reconciliation_id = %s AND line.record_id IS NULL
                       AND line.document = v.number""",
                [*(value for triple in values for value in triple), run.pk],
            )

    known = set(kind_types())
    count = 0
    for record_type, record_id in records.iterator(chunk_size=CHUNK):
        if record_type not in known:
            continue
        wanted[record_type].append(record_id)
        count += 1
        if count % 2000 == 0:
            flush()
    flush()


def staged_copies(run: Reconciliation) -> Iterator[SentRecord]:
    """The run's resolved upload lines as the package's transactions, in the order of
    (record type, record id), streamed. A document's lines with the same copy key are
    one transaction, or as many as they hold control lines (a document imported
    twice): each copy takes its share of every repeated line."""
    rows = (
        ReconciliationUploadLine.objects.filter(reconciliation=run, record_id__isnull=False)
        .order_by(Collate("record_type", "C"), "record_id", "copy_key", "id")
        .values_list(
            "record_type",
            "record_id",
            "copy_key",
            "document",
            "date",
            "account_number",
            "amount",
            F("control"),
        )
    )
    group: list[tuple] = []
    key = None
    for row in rows.iterator(chunk_size=CHUNK):
        if (row[0], row[1], row[2]) != key and group:
            yield from _copies(group)
            group = []
        key = (row[0], row[1], row[2])
        group.append(row)
    if group:
        yield from _copies(group)


def _copies(rows: list[tuple]) -> Iterable[SentRecord]:
    record_type, record_id, copy_key, document, day = rows[0][:5]
    count = max(1, sum(1 for row in rows if row[7]))
    seen: dict[tuple[str, Decimal], int] = defaultdict(int)
    shares: list[dict[str, Decimal]] = [defaultdict(Decimal) for _ in range(count)]
    for row in rows:
        account, amount = row[5], row[6]
        index = seen[(account, amount)] % count
        seen[(account, amount)] += 1
        shares[index][account] += amount
    for share in shares:
        yield SentRecord(
            record_type=record_type,
            record_id=record_id,
            external_reference=document,
            batch_identifier=copy_key,
            date=day,
            lines=tuple(sorted(share.items())),
        )


def discard(run: Reconciliation) -> None:
    """The run's upload lines, once compared (its differences keep both sides)."""
    ReconciliationUploadLine.objects.filter(reconciliation=run).delete()


def open_upload(file) -> IO[bytes]:
    """The uploaded file's bytes, checked against the size limit first."""
    limit = max_upload_bytes()
    if file.size is not None and file.size > limit:
        raise ApplicationError(
            f"The file is {file.size:,} bytes; an export up to {limit:,} bytes is read. "
            "Export a shorter period (a month at a time).",
            code="request_too_large",
            status_code=413,
        )
    file.seek(0)
    return file
