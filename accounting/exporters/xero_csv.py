"""Xero CSV: sales invoices (Business > Invoices > Import) and bills (Business > Bills to
pay > Import).

Xero imports sales invoices and bills through two different screens, and its manual
journals refuse the accounts receivable and payable system accounts, so no single Xero
layout takes every kind of record. One file goes through one screen: the first record of
the batch decides the layout, and a record of the other group stops the export with an
error that says to batch invoices apart from expenses, freight and products (the batch
screen's type filter does exactly that). Nothing is ever left out of a file silently.

- invoice: the sales invoice template, one row per GL line other than accounts
  receivable, Quantity 1, UnitAmount the line's credit (a debit line, such as a discount,
  is negative). The PSA's sales tax is a line of its own on the tax GL account, so the
  invoice total in Xero is exactly the receivable the PSA posted.
- expense, freight, product: the bill template (ContactName is the vendor, or the
  employee for an expense; InvoiceNumber is the record's number), one row per GL line
  other than the payable or reimbursement line, UnitAmount the line's debit. Xero credits
  its own accounts payable.

AccountCode is the GL account number. TaxType is `options["xero_tax_type"]` (default
"Tax Exempt") on every row: the PSA has already computed the tax, so the rate must be a
zero rate or Xero would add tax again (a PSA tax code is not mapped to a Xero tax rate
for that reason). Dates are DD/MM/YYYY, or MM/DD/YYYY with
`options["xero_date_format"] == "us"`; the due date falls back to the record's date.
Currency is `options["currency"]` when set. Xero takes at most 500 invoices or bills a
file; a bigger batch stops with an error before the 501st.
"""

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING, NamedTuple, TextIO

from accounting.exporters.base import (
    BILL_CONTROL_TYPES,
    INVOICE_CONTROL_TYPES,
    CSVWriter,
    ExportError,
    clean_text,
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
from accounting.gl import BILL, SALE
from accounting.setup_options import export_options

if TYPE_CHECKING:
    from accounting.gl import Posting

SALES_INVOICE_COLUMNS = (
    "ContactName",
    "EmailAddress",
    "POAddressLine1",
    "POAddressLine2",
    "POAddressLine3",
    "POAddressLine4",
    "POCity",
    "PORegion",
    "POPostalCode",
    "POCountry",
    "InvoiceNumber",
    "Reference",
    "InvoiceDate",
    "DueDate",
    "InventoryItemCode",
    "Description",
    "Quantity",
    "UnitAmount",
    "Discount",
    "AccountCode",
    "TaxType",
    "TrackingName1",
    "TrackingOption1",
    "TrackingName2",
    "TrackingOption2",
    "Currency",
    "BrandingTheme",
)
# Xero's bill template: the sales columns without Reference (a bill's reference is its
# InvoiceNumber), Discount and BrandingTheme.
BILL_COLUMNS = tuple(
    column
    for column in SALES_INVOICE_COLUMNS
    if column not in ("Reference", "Discount", "BrandingTheme")
)
MAX_DOCUMENTS_PER_FILE = 500
SALES = "sales"
BILLS = "bills"
ACCREC = "ACCREC"  # Xero's sales invoice
ACCPAY = "ACCPAY"  # Xero's bill


class XeroCSVExporter:
    format = "xero_csv"
    extension = "csv"
    content_type = "text/csv; charset=utf-8"
    header_lines = 1  # the rows the file starts with, before any record

    def batch_refusal(self, counts: dict[str, int], options: dict) -> str | None:
        sales = sum(counts.get(kind, 0) for kind in document_kinds(SALE))
        bills = sum(counts.get(kind, 0) for kind in document_kinds(BILL))
        if sales and bills:
            return (
                "Xero imports sales invoices and bills through different screens, one file "
                "each; create one batch of invoices and another of expenses, freight and "
                "products."
            )
        if sum(counts.values()) > MAX_DOCUMENTS_PER_FILE:
            return (
                f"Xero imports at most {MAX_DOCUMENTS_PER_FILE} invoices or bills a file; "
                "choose fewer records, or batch them through a date."
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
        date_text = us_date if options.get("xero_date_format") == "us" else day_first_date
        tax_type = text_cell(options.get("xero_tax_type") or "Tax Exempt")
        currency = text_cell(options.get("currency") or "")
        writer = CSVWriter(out)
        layout = None
        count = 0
        for posting in postings:
            kind, document = posting.header.type, posting.header.document
            posting_layout = SALES if document == SALE else BILLS if document == BILL else None
            if posting_layout is None:
                raise ExportError(
                    f"{posting.header.reference} is a {kind}, which Xero's invoice and bill "
                    "imports cannot carry.",
                    posting=posting,
                )
            if layout is None:
                layout = posting_layout
                writer.writerow(SALES_INVOICE_COLUMNS if layout == SALES else BILL_COLUMNS)
            elif posting_layout != layout:
                raise ExportError(
                    f"Batch {batch_identifier} mixes sales invoices and bills "
                    f"({posting.header.reference}); Xero imports them through different "
                    "screens, one file each. Create one batch of invoices and another of "
                    "expenses, freight and products.",
                    posting=posting,
                )
            if count == MAX_DOCUMENTS_PER_FILE:
                raise ExportError(
                    f"Batch {batch_identifier} has more than {MAX_DOCUMENTS_PER_FILE} "
                    "records; Xero imports at most that many invoices or bills a file. "
                    "Split it into smaller batches.",
                    posting=posting,
                )
            rows = self._rows(
                posting, layout=layout, date_text=date_text, tax_type=tax_type, currency=currency
            )
            writer.writerows(rows)
            count += 1
        if layout is None:
            writer.writerow(SALES_INVOICE_COLUMNS)  # an empty batch: a header, no rows
        writer.flush()
        return count

    def _rows(self, posting: "Posting", *, layout: str, date_text, tax_type: str, currency: str):
        document = xero_document(posting)  # its type is the layout's (checked in write)
        columns = SALES_INVOICE_COLUMNS if layout == SALES else BILL_COLUMNS
        common = {
            "ContactName": text_cell(document.contact),
            "InvoiceNumber": text_cell(document.number),
            "Reference": text_cell(document.reference),
            "InvoiceDate": date_text(document.date),
            "DueDate": date_text(document.due_date),
            "Quantity": "1",
            "TaxType": tax_type,
            "Currency": currency,
        }
        rows = []
        for line in document.lines:
            fields = {
                **common,
                "Description": text_cell(line.description),
                "UnitAmount": line.unit_amount,
                "AccountCode": text_cell(line.account_code),
            }
            rows.append(tuple(fields.get(column, "") for column in columns))
        return rows


class XeroLine(NamedTuple):
    description: str
    unit_amount: str  # as `money` writes it: "12.50", "-3.00"
    account_code: str


class XeroDocument(NamedTuple):
    """A posting as one Xero sales invoice (ACCREC) or bill (ACCPAY): what the CSV rows
    carry and the Accounting API's invoice is made of (`accounting.connectors.xero`),
    so that both put the same contact, number, dates and amounts into Xero."""

    type: str  # ACCREC or ACCPAY
    contact: str
    number: str
    reference: str
    date: dt.date
    due_date: dt.date
    lines: tuple[XeroLine, ...]


def xero_document(posting: "Posting") -> XeroDocument:
    """The posting's invoice or bill: one line per GL line other than the receivable
    (an invoice: the line's credit, a debit such as a discount negative) or the payable
    or reimbursement (a bill: the line's debit). Text is one line (`clean_text`); an
    export file's cells add `text_cell`'s guard on top. Raises ExportError for a posting
    Xero's invoices and bills cannot carry."""
    header = posting.header
    if header.document not in (SALE, BILL):
        raise ExportError(
            f"{header.reference} is a {header.type}, which Xero's invoices and bills cannot carry.",
            posting=posting,
        )
    require_balanced(posting)
    if header.document == SALE:
        control, others = split_control(posting, INVOICE_CONTROL_TYPES)
        require_control(posting, control, "accounts receivable", "Xero sales invoice")
        document_type, sign = ACCREC, -1
    else:
        control, others = split_control(posting, BILL_CONTROL_TYPES)
        require_control(posting, control, "accounts payable", "Xero bill")
        document_type, sign = ACCPAY, 1
    if not others:
        raise ExportError(f"{header.reference} has no lines besides its total.", posting=posting)
    reference = clean_text(header.reference)
    return XeroDocument(
        type=document_type,
        contact=clean_text(header.company),
        number=clean_text(header.number),
        reference=reference,
        date=header.date,
        due_date=header.due_date or header.date,
        lines=tuple(
            XeroLine(
                # Xero requires a description on every line.
                description=clean_text(line.memo) or clean_text(line.account_name) or reference,
                unit_amount=money(sign * net_debit(line)),
                account_code=clean_text(line.account_number),
            )
            for line in others
        ),
    )
