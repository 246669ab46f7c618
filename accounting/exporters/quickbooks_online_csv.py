"""QuickBooks Online CSV (Settings > Import data).

QuickBooks Online imports invoices and journal entries through two different screens,
each with its own layout, and has no CSV import for bills. One file goes through one
screen, so the exporter writes one layout per file, chosen by `options["qbo_invoices_as"]`:

- `"journal"` (the default): every record, of every kind, as a journal entry (Import
  data > Journal entries): Journal No, Journal Date, Account, Debits, Credits,
  Description, Name. One row per GL line that has an amount; the rows of a record share
  its number as Journal No and its debits equal its credits. An invoice debits accounts
  receivable with the customer as Name (QuickBooks needs a Name on every receivable or
  payable row), so it shows as an open charge of the customer and Receive Payment can
  settle it. Amounts are exactly the PSA's, sales tax included. This is the layout that
  takes any batch, including the usual mix of invoices, expenses, freight and products.
- `"invoice"`: invoices as QuickBooks invoices (Import data > Invoices), one row per
  income line: Invoice number, Customer, Invoice date, Due date, Terms, Memo,
  Item(Product/Service), Item Description, Item Quantity (1), Item Rate, Item Amount,
  Item tax code, Service Date. Sales tax is not a row: QuickBooks computes it from the
  Item tax code (the PSA tax code, or `options["qbo_tax_codes"][code]`), so its tax can
  differ from the PSA's by rounding. The item is the income account's name (create one
  Product/Service per income account, named like it, or map account numbers to items in
  `options["qbo_items"]`). Only invoices fit this layout: a batch holding anything else
  stops with an error that says to batch invoices separately or use the journal layout;
  nothing is ever left out of a file silently.

Account is the GL account's name (QuickBooks Online's import matches accounts by name;
turn account numbers off while importing). Dates are MM/DD/YYYY, or DD/MM/YYYY with
`options["qbo_date_format"] == "dmy"`; the due date falls back to the record's date.
"""

from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, TextIO

from accounting.exporters.base import (
    INVOICE_CONTROL_TYPES,
    NAMED_ACCOUNT_TYPES,
    CSVWriter,
    ExportError,
    day_first_date,
    document_kinds,
    money,
    net_debit,
    require_balanced,
    require_control,
    split_control,
    text_cell,
    us_date,
)
from accounting.gl import SALE
from accounting.setup_options import export_options

if TYPE_CHECKING:
    from datetime import date

    from accounting.gl import Posting

JOURNAL_COLUMNS = (
    "Journal No",
    "Journal Date",
    "Account",
    "Debits",
    "Credits",
    "Description",
    "Name",
)
INVOICE_COLUMNS = (
    "Invoice number",
    "Customer",
    "Invoice date",
    "Due date",
    "Terms",
    "Memo",
    "Item(Product/Service)",
    "Item Description",
    "Item Quantity",
    "Item Rate",
    "Item Amount",
    "Item tax code",
    "Service Date",
)
JOURNAL = "journal"
INVOICE = "invoice"
TAX_TYPES = frozenset({"sales_tax"})


class QuickBooksOnlineCSVExporter:
    format = "quickbooks_online_csv"
    extension = "csv"
    content_type = "text/csv; charset=utf-8"
    header_lines = 1  # the rows the file starts with, before any record

    def batch_refusal(self, counts: dict[str, int], options: dict) -> str | None:
        options = export_options(self.format, options)
        sales = document_kinds(SALE)
        others = sum(n for kind, n in counts.items() if kind not in sales)
        if (options.get("qbo_invoices_as") or JOURNAL) == INVOICE and others:
            return (
                "The setup writes QuickBooks Online's invoice layout, which only takes "
                "invoices; batch invoices separately, or set qbo_invoices_as to journal."
            )
        return None

    def write(
        self,
        postings: Iterable["Posting"],
        out: TextIO,
        *,
        batch_identifier: str,
        options: dict,
    ) -> int:
        options = export_options(self.format, options)
        layout = options.get("qbo_invoices_as") or JOURNAL
        if layout not in (JOURNAL, INVOICE):
            raise ExportError(
                f"The QuickBooks Online option qbo_invoices_as is '{layout}'; "
                "use 'journal' (every kind of record) or 'invoice' (invoices only)."
            )
        day_first = options.get("qbo_date_format") == "dmy"
        writer = CSVWriter(out)
        count = 0
        if layout == JOURNAL:
            writer.writerow(JOURNAL_COLUMNS)
            for posting in postings:
                writer.writerows(self._journal_rows(posting, day_first=day_first))
                count += 1
        else:
            writer.writerow(INVOICE_COLUMNS)
            items = options.get("qbo_items") or {}
            tax_codes = options.get("qbo_tax_codes") or {}
            for posting in postings:
                if posting.header.document != SALE:
                    raise ExportError(
                        f"Batch {batch_identifier} holds {posting.header.reference}, which is "
                        "not an invoice, but the setup writes QuickBooks Online's invoice "
                        "layout (qbo_invoices_as = invoice), which only takes invoices. "
                        "Batch invoices separately, or set qbo_invoices_as to journal.",
                        posting=posting,
                    )
                writer.writerows(
                    self._invoice_rows(
                        posting, day_first=day_first, items=items, tax_codes=tax_codes
                    )
                )
                count += 1
        writer.flush()
        return count

    @staticmethod
    def _date(value: "date", *, day_first: bool) -> str:
        return day_first_date(value) if day_first else us_date(value)

    def _journal_rows(self, posting: "Posting", *, day_first: bool) -> list[tuple[str, ...]]:
        require_balanced(posting)
        header = posting.header
        number = text_cell(header.number)
        day = self._date(header.date, day_first=day_first)
        company = text_cell(header.company)
        rows: list[tuple[str, ...]] = []
        for line in posting.lines:
            amount = net_debit(line)
            if amount == 0:
                continue  # QuickBooks rejects a journal line without an amount.
            rows.append(
                (
                    number,
                    day,
                    text_cell(line.account_name),
                    money(amount) if amount > 0 else "",
                    money(-amount) if amount < 0 else "",
                    text_cell(line.memo),
                    company if line.account_type in NAMED_ACCOUNT_TYPES else "",
                )
            )
        return rows

    def _invoice_rows(
        self, posting: "Posting", *, day_first: bool, items: dict, tax_codes: dict
    ) -> list[tuple[str, ...]]:
        require_balanced(posting)
        header = posting.header
        control, others = split_control(posting, INVOICE_CONTROL_TYPES)
        require_control(posting, control, "accounts receivable", "QuickBooks Online invoice")
        tax_lines = [line for line in others if line.account_type in TAX_TYPES]
        item_lines = [line for line in others if line.account_type not in TAX_TYPES]
        if not item_lines:
            raise ExportError(
                f"{header.reference} has no income line, so it cannot be a QuickBooks "
                "Online invoice; use the journal layout (qbo_invoices_as = journal).",
                posting=posting,
            )
        tax = -sum((net_debit(line) for line in tax_lines), Decimal("0"))
        tax_code = ""
        if tax:
            if not header.tax_code:
                raise ExportError(
                    f"{header.reference} charges sales tax but has no tax code, and QuickBooks "
                    "Online's invoice import computes tax from the tax code; set one, or use "
                    "the journal layout (qbo_invoices_as = journal).",
                    posting=posting,
                )
            tax_code = text_cell(tax_codes.get(header.tax_code) or header.tax_code)
        invoice_date = self._date(header.date, day_first=day_first)
        due_date = self._date(header.due_date or header.date, day_first=day_first)
        rows: list[tuple[str, ...]] = []
        for line in item_lines:
            amount = money(-net_debit(line))
            rows.append(
                (
                    text_cell(header.number),
                    text_cell(header.company),
                    invoice_date,
                    due_date,
                    "",
                    text_cell(header.reference),
                    text_cell(items.get(line.account_number) or line.account_name),
                    text_cell(line.memo),
                    "1",
                    amount,
                    amount,
                    tax_code,
                    "",
                )
            )
        return rows
