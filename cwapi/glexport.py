"""The GL export (ConnectWise's GLExport) of chosen records or of a batch, built from the
postings the exporters and connectors send (each kind's `bulk_postings`), so a tool
receives exactly the accounts, lines and totals a file transfer would carry, with the
GL entry ids of each record's lines."""

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet

from accounting.gl import AccountBook, Posting
from accounting.postables import get_kind
from cwapi.entries import entry_ids
from cwapi.listing import Context
from cwapi.shapes import company_ref, cw_date, expense_gl_type, member_ref, money, tax_code_ref

CONTROL = {"accounts_receivable", "accounts_payable", "reimbursement"}


def _postings(record_type: str, rows: QuerySet, book: AccountBook) -> dict[int, Posting]:
    kind = get_kind(record_type)
    return {p.header.id: p for p in kind.bulk_postings(rows.order_by("pk"), book)}


def _control_account(posting: Posting) -> str:
    for line in posting.lines:
        if line.account_type in CONTROL:
            return line.account_number
    return ""


def _other_lines(posting: Posting):
    return [line for line in posting.lines if line.account_type not in CONTROL]


def _ids_text(ids: list[int]) -> str:
    return ",".join(map(str, ids))


def gl_export(rows: dict[str, QuerySet], context: Context) -> dict[str, Any]:
    """`rows`: per record type, the records to export (unposted, or a batch's)."""
    book = AccountBook()
    postings: dict[str, dict[int, Posting]] = {
        record_type: _postings(record_type, queryset, book)
        for record_type, queryset in rows.items()
    }
    ids = entry_ids([p for by_id in postings.values() for p in by_id.values()])
    base = context.base
    customers: dict[int, dict] = {}
    vendors: dict[int, dict] = {}
    transactions, expenses, purchases = [], [], []

    invoice_postings = postings.get("invoice", {})
    if invoice_postings:
        invoices = get_kind("invoice").queryset().filter(pk__in=invoice_postings).order_by("pk")
        for invoice in invoices:
            posting = invoice_postings[invoice.pk]
            transactions.append(_transaction(invoice, posting, ids[("invoice", invoice.pk)], base))
            customers.setdefault(invoice.company_id, _customer(invoice, base))

    expense_postings = postings.get("expense", {})
    if expense_postings:
        entries = get_kind("expense").queryset().filter(pk__in=expense_postings).order_by("pk")
        for entry in entries:
            posting = expense_postings[entry.pk]
            expenses.append(_expense(entry, posting, ids[("expense", entry.pk)], base))

    by_order: dict[int, dict[str, Any]] = defaultdict(lambda: {"freight": None, "products": []})
    product_postings = postings.get("product", {})
    freight_postings = postings.get("freight", {})
    if product_postings:
        for line in get_kind("product").queryset().filter(pk__in=product_postings).order_by("pk"):
            by_order[line.purchase_order_id]["order"] = line.purchase_order
            by_order[line.purchase_order_id]["products"].append(line)
    if freight_postings:
        for order in get_kind("freight").queryset().filter(pk__in=freight_postings).order_by("pk"):
            by_order[order.pk]["order"] = order
            by_order[order.pk]["freight"] = order
    for order_id in sorted(by_order):
        group = by_order[order_id]
        order = group["order"]
        purchases.append(_purchase(order, group, product_postings, freight_postings, ids, base))
        vendors.setdefault(order.vendor_id, _vendor(order, base))

    return {
        # ConnectWise's GLExportSettings has no fields.
        "exportSettings": {},
        "customers": list(customers.values()),
        "vendors": list(vendors.values()),
        "transactions": transactions,
        "expenses": expenses,
        "expenseBills": [],
        "purchaseTransactions": purchases,
        "adjustmentTransactions": [],
        "inventoryTransfers": [],
    }


def _due_days(date: dt.date, due: dt.date | None) -> int:
    return (due - date).days if due else 0


def _customer(invoice, base: str) -> dict[str, Any]:
    due_days = _due_days(invoice.date, invoice.due_date)
    return {
        "company": company_ref(base, invoice.company),
        "accountNumber": invoice.company.identifier,
        # No billing terms records in the product: the terms by name, for the package.
        "billingTerms": None,
        "billingTermsXref": f"Net {due_days}",
        "dueDays": due_days,
        "taxCode": tax_code_ref(base, invoice.tax_code),
    }


def _vendor(order, base: str) -> dict[str, Any]:
    return {
        "company": company_ref(base, order.vendor),
        "vendorNumber": order.vendor.identifier,
        "billingTerms": None,
        "dueDays": 0,
        "taxCode": tax_code_ref(base, order.tax_code),
    }


def _transaction(invoice, posting: Posting, entry_ids: list[int], base: str) -> dict[str, Any]:
    lines = list(invoice.lines.all())
    lines.sort(key=lambda line: (line.position, line.pk))
    income = _other_lines(posting)
    taxable = sum((line.amount for line in lines if line.taxable), Decimal("0.00"))
    tax_code = invoice.tax_code
    detail = [
        {
            "accountNumber": gl_line.account_number,
            "description": line.description,
            "memo": gl_line.memo,
            "quantity": float(line.quantity),
            "itemPrice": money(line.unit_price),
            "itemCost": 0.0,
            "total": money(line.amount),
            "documentDate": cw_date(invoice.date),
            "item": {"id": line.pk, "identifier": line.description[:50]},
            "product": None,
            "taxableFlag": line.taxable,
        }
        for line, gl_line in zip(lines, income, strict=False)
    ]
    tax_levels = []
    if invoice.tax:
        tax_line = next((g for g in posting.lines if g.account_type == "sales_tax"), None)
        tax_levels.append(
            {
                "taxAmount": money(invoice.tax),
                "taxableAmount": money(taxable),
                "taxCodeXref": tax_line.account_number if tax_line else "",
                "taxLevel": 1,
            }
        )
    due_days = _due_days(invoice.date, invoice.due_date)
    return {
        "id": invoice.pk,
        "documentNumber": invoice.number,
        "documentDate": cw_date(invoice.date),
        "documentType": "CreditMemo" if invoice.total < 0 else "Invoice",
        "dueDate": cw_date(invoice.due_date),
        "dueDays": due_days,
        "company": company_ref(base, invoice.company),
        "companyAccountNumber": invoice.company.identifier,
        "accountNumber": _control_account(posting),
        "glTypeId": "AR",
        "glClass": "AR",
        "memo": posting.header.reference,
        "description": posting.header.reference,
        "total": money(invoice.total),
        "taxableTotal": money(taxable),
        "salesTax": money(invoice.tax),
        "taxCode": tax_code_ref(base, tax_code),
        "taxGroupRate": float(tax_code.rate) if tax_code else 0.0,
        "taxLevels": tax_levels,
        "glEntryIds": _ids_text(entry_ids),
        "detail": detail,
    }


def _expense(entry, posting: Posting, entry_ids: list[int], base: str) -> dict[str, Any]:
    sheet = entry.sheet
    debit = _other_lines(posting)
    return {
        "id": entry.pk,
        "documentDate": cw_date(entry.date),
        "documentType": "ExpenseReport",
        "accountNumber": debit[0].account_number if debit else "",
        "apAccountNumber": _control_account(posting),
        "member": member_ref(base, sheet.member),
        "company": company_ref(base, entry.company) if entry.company else None,
        "vendorNumber": sheet.member.username,
        "total": money(entry.amount),
        "memo": posting.header.reference,
        "description": entry.description,
        "glTypeId": expense_gl_type(entry),
        "periodStartDate": cw_date(sheet.period_start),
        "periodEndDate": cw_date(sheet.period_end),
        "glEntryIds": _ids_text(entry_ids),
    }


def _purchase(order, group, product_postings, freight_postings, ids, base) -> dict[str, Any]:
    entry_list: list[int] = []
    details = []
    total = Decimal("0.00")
    ap_account = ""
    for line in group["products"]:
        posting = product_postings[line.pk]
        ap_account = ap_account or _control_account(posting)
        entry_list += ids[("product", line.pk)]
        inventory = _other_lines(posting)
        total += line.total
        details.append(
            {
                "id": line.pk,
                "accountNumber": inventory[0].account_number if inventory else "",
                "description": line.description,
                "memo": posting.header.reference,
                "quantity": float(line.quantity),
                "itemCost": money(line.unit_cost),
                "total": money(line.total),
            }
        )
    freight_amount = Decimal("0.00")
    if group["freight"] is not None:
        posting = freight_postings[order.pk]
        ap_account = ap_account or _control_account(posting)
        entry_list += ids[("freight", order.pk)]
        freight_amount = order.freight_amount
        total += freight_amount
    return {
        # ConnectWise's purchase transaction id is text.
        "id": str(order.pk),
        "documentNumber": order.number,
        "documentDate": cw_date(order.date),
        "vendorNumber": order.vendor.identifier,
        "vendorAccountNumber": order.vendor.identifier,
        "vendorInvoiceNumber": "",
        "vendorInvoiceDate": None,
        "apAccountNumber": ap_account,
        "freightAmount": money(freight_amount),
        "total": money(total),
        "memo": f"PO {order.number}",
        "purchaseDetail": details,
        "glEntryIds": _ids_text(entry_list),
    }
