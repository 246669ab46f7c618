"""The lists of the finance API: for each, its rows (from the accounting selectors and
the record apps' models), the fields `conditions` and `orderBy` may name (nothing else
reaches the ORM), and how a row is rendered in ConnectWise's model."""

from typing import Any

from django.db.models import BooleanField as BooleanDbField
from django.db.models import Case, Exists, F, OuterRef, Q, Value, When

from accounting import selectors
from accounting.gl import AccountBook
from accounting.models import BatchStatus, GLBatch
from accounting.postables import batched_rows, get_kind, kinds
from cwapi.conditions import Field
from cwapi.entries import entry_ids
from cwapi.listing import Context, Part, Resource
from cwapi.models import GLEntryId
from cwapi.shapes import (
    FREIGHT,
    PRODUCT,
    company_ref,
    cw_date,
    expense_gl_type,
    info,
    member_ref,
    money,
    procurement_id,
    reference,
    tax_code_ref,
)


def _book(context: Context) -> AccountBook:
    if "book" not in context.cache:
        context.cache["book"] = AccountBook()
    return context.cache["book"]


def _account_number(context: Context, account_id: int | None, default_type: str) -> str:
    book = _book(context)
    if account_id is None and default_type not in book.defaults:
        return ""
    return book.account(account_id, default_type).number


def _company_fields(prefix: str, lookup: str) -> dict[str, Field]:
    return {
        f"{prefix}/id": Field(f"{lookup}_id", "int"),
        f"{prefix}/identifier": Field(f"{lookup}__identifier", "string"),
        f"{prefix}/name": Field(f"{lookup}__name", "string"),
    }


# --- unposted invoices --------------------------------------------------------------------


def _invoices():
    return selectors.unposted_list(record_type="invoice").select_related("created_by")


INVOICE_FIELDS = {
    "id": Field("pk", "int"),
    "billingLogId": Field("pk", "int"),
    "invoiceNumber": Field("number", "string"),
    "invoiceDate": Field("date", "date"),
    "dueDate": Field("due_date", "date"),
    "total": Field("total", "decimal"),
    "subTotal": Field("subtotal", "decimal"),
    "salesTaxAmount": Field("tax", "decimal"),
    "accountNumber": Field("company__identifier", "string"),
    "taxCode/id": Field("tax_code_id", "int"),
    "taxCode/name": Field("tax_code__name", "string"),
    **_company_fields("company", "company"),
    **_company_fields("billToCompany", "company"),
}


def render_invoices(invoices: list, context: Context) -> list[dict[str, Any]]:
    rows = []
    for invoice in invoices:
        lines = list(invoice.lines.all())
        due_days = (invoice.due_date - invoice.date).days if invoice.due_date else 0
        rows.append(
            {
                "id": invoice.pk,
                "billingLogId": invoice.pk,
                "invoiceNumber": invoice.number,
                "invoiceType": "CreditMemo" if invoice.total < 0 else "Standard",
                "invoiceDate": cw_date(invoice.date),
                "dueDate": cw_date(invoice.due_date),
                "dueDays": str(due_days),
                "company": company_ref(context.base, invoice.company),
                "billToCompany": company_ref(context.base, invoice.company),
                "accountNumber": invoice.company.identifier,
                "description": lines[0].description if lines else "",
                "subTotal": money(invoice.subtotal),
                "total": money(invoice.total),
                "salesTaxAmount": money(invoice.tax),
                "taxCode": tax_code_ref(context.base, invoice.tax_code),
                "currency": None,
                "locationId": 0,
                "departmentId": 0,
                "dateClosed": cw_date(invoice.date),
                "createdBy": invoice.created_by.username if invoice.created_by else "",
                "_info": info(
                    invoice.created_at, invoice.created_by.username if invoice.created_by else ""
                ),
            }
        )
    return rows


UNPOSTED_INVOICES = Resource(
    "unpostedInvoice", [Part(_invoices, F("pk"), INVOICE_FIELDS, render_invoices)]
)


# --- unposted expenses --------------------------------------------------------------------


def _expenses():
    return selectors.unposted_list(record_type="expense")


EXPENSE_FIELDS = {
    "id": Field("pk", "int"),
    "expenseDetailId": Field("pk", "int"),
    "dateExpense": Field("date", "date"),
    "total": Field("amount", "decimal"),
    "member/id": Field("sheet__member_id", "int"),
    "member/identifier": Field("sheet__member__username", "string"),
    "expenseType/id": Field("expense_type_id", "int"),
    "expenseType/name": Field("expense_type__name", "string"),
    **_company_fields("company", "company"),
}


def render_expenses(entries: list, context: Context) -> list[dict[str, Any]]:
    rows = []
    for entry in entries:
        sheet = entry.sheet
        rows.append(
            {
                "id": entry.pk,
                "expenseDetailId": entry.pk,
                "member": member_ref(context.base, sheet.member),
                "company": company_ref(context.base, entry.company) if entry.company else None,
                "dateExpense": cw_date(entry.date),
                "expenseType": reference(
                    context.base, "expenseType", entry.expense_type.pk, name=entry.expense_type.name
                ),
                "classification": "Reimbursable",
                "glType": expense_gl_type(entry),
                "accountNumber": _account_number(
                    context, entry.expense_type.gl_account_id, "expense"
                ),
                "creditAccount": _account_number(context, None, "reimbursement"),
                "total": money(entry.amount),
                "billableAmount": money(entry.amount if entry.billable else 0),
                "nonBillableAmount": money(0 if entry.billable else entry.amount),
                "currency": None,
                "locationId": 0,
                "departmentId": 0,
                "dateClosed": cw_date(sheet.approved_at),
                "_info": info(
                    sheet.approved_at, sheet.approved_by.username if sheet.approved_by else ""
                ),
            }
        )
    return rows


def _expenses_with_sheet():
    return _expenses().select_related("sheet__approved_by")


UNPOSTED_EXPENSES = Resource(
    "unpostedExpense",
    [Part(_expenses_with_sheet, F("pk"), EXPENSE_FIELDS, render_expenses)],
)


# --- unposted procurement (products and freight) ------------------------------------------------


def _products():
    return selectors.unposted_list(record_type="product")


def _freight():
    return selectors.unposted_list(record_type="freight")


def _procurement_fields(po: str, date: str, total: str, description: str) -> dict[str, Field]:
    return {
        "id": Field("cw_id", "int"),
        "purchaseDate": Field(f"{po}date", "date"),
        "purchaseOrder/id": Field(f"{po}id" if po else "pk", "int"),
        "purchaseOrder/name": Field(f"{po}number", "string"),
        "vendor/id": Field(f"{po}vendor_id", "int"),
        "vendor/identifier": Field(f"{po}vendor__identifier", "string"),
        "vendor/name": Field(f"{po}vendor__name", "string"),
        "vendorAccountNumber": Field(f"{po}vendor__identifier", "string"),
        "dateClosed": Field(date, "date" if date == "received_date" else "datetime"),
        "total": Field(total, "decimal"),
        "description": Field(description, "string"),
    }


def _procurement_row(context: Context, cw_id: int, po, **values: Any) -> dict[str, Any]:
    return {
        "id": cw_id,
        "unpostedProductId": str(cw_id),
        "procurementType": "Purchase",
        "purchaseOrder": reference(context.base, "purchaseOrder", po.pk, name=po.number),
        "purchaseDate": cw_date(po.date),
        "vendor": company_ref(context.base, po.vendor),
        "vendorAccountNumber": po.vendor.identifier,
        "vendorInvoiceNumber": "",
        "vendorInvoiceDate": None,
        "taxCode": tax_code_ref(context.base, po.tax_code),
        "currency": None,
        **values,
    }


def render_products(lines: list, context: Context) -> list[dict[str, Any]]:
    return [
        _procurement_row(
            context,
            procurement_id("product", line.pk),
            line.purchase_order,
            description=line.description,
            total=money(line.total),
            taxTotal=money(line.total - line.amount),
            freightCost=0.0,
            freightTaxTotal=0.0,
            dateClosed=cw_date(line.received_date),
            _info=info(line.received_date),
        )
        for line in lines
    ]


def render_freight(orders: list, context: Context) -> list[dict[str, Any]]:
    rows = []
    for order in orders:
        row = _procurement_row(
            context,
            procurement_id("freight", order.pk),
            order,
            description=get_kind("freight").reference(order),
            total=money(order.freight_amount),
            taxTotal=0.0,
            freightCost=money(order.freight_amount),
            freightTaxTotal=0.0,
            dateClosed=cw_date(order.closed_at),
            _info=info(order.closed_at),
        )
        rows.append(row)
    return rows


UNPOSTED_PROCUREMENT = Resource(
    "unpostedProcurement",
    [
        Part(
            _products,
            F("pk") * 2 + PRODUCT,
            _procurement_fields("purchase_order__", "received_date", "total", "description"),
            render_products,
        ),
        Part(
            _freight,
            F("pk") * 2 + FREIGHT,
            _procurement_fields("", "closed_at", "freight_amount", "number"),
            render_freight,
        ),
    ],
)


# --- batches ------------------------------------------------------------------------------


def _has(record_type: str):
    kind = get_kind(record_type)
    return Exists(kind.model.objects.filter(**{f"{kind.batch_field}_id": OuterRef("pk")}))


def _batches():
    return (
        GLBatch.objects.exclude(status=BatchStatus.DELETED)
        .select_related("created_by")
        .annotate(
            export_invoices=_has("invoice"),
            export_expenses=_has("expense"),
            export_products=Q(_has("product")) | Q(_has("freight")),
            closed_flag=Case(
                When(status=BatchStatus.CLOSED, then=Value(True)),
                default=Value(False),
                output_field=BooleanDbField(),
            ),
        )
    )


BATCH_FIELDS = {
    "id": Field("pk", "int"),
    "batchIdentifier": Field("batch_identifier", "string"),
    "closedFlag": Field("closed_flag", "bool"),
    "exportInvoicesFlag": Field("export_invoices", "bool"),
    "exportExpensesFlag": Field("export_expenses", "bool"),
    "exportProductsFlag": Field("export_products", "bool"),
    "_info/lastUpdated": Field("created_at", "datetime"),
}


def render_batches(batches: list, context: Context) -> list[dict[str, Any]]:
    return [
        {
            "id": batch.pk,
            "batchIdentifier": batch.batch_identifier,
            "exportInvoicesFlag": batch.export_invoices,
            "exportExpensesFlag": batch.export_expenses,
            "exportProductsFlag": batch.export_products,
            "closedFlag": batch.closed_flag,
            "_info": info(batch.closed_at or batch.created_at, batch.created_by.username),
        }
        for batch in batches
    ]


BATCHES = Resource("accountingBatch", [Part(_batches, F("pk"), BATCH_FIELDS, render_batches)])


# --- a batch's GL entries ---------------------------------------------------------------------


ENTRY_FIELDS = {
    "id": Field("pk", "int"),
    "accountType": Field("account_type", "string"),
    "accountNumber": Field("account_number", "string"),
    "name": Field("account_name", "string"),
    "debit": Field("debit", "decimal"),
    "credit": Field("credit", "decimal"),
}
# The reference each kind's entries name, the record's field it shows, and under which
# name (ConnectWise's PurchaseOrderReference has a name, no identifier).
ENTRY_RECORDS = {
    "invoice": ("invoice", "number", "identifier"),
    "expense": ("expense", None, "identifier"),
    "freight": ("purchaseOrder", "number", "name"),
    "product": ("lineItem", None, "identifier"),
}


def batch_entries(batch: GLBatch) -> Resource:
    """The batch's GL lines (BatchEntry): the entries of its records' postings as they
    are now (a batched record is locked, so these are the lines it was sent with)."""
    book = AccountBook()
    postings = [
        posting
        for kind in kinds()
        for posting in kind.bulk_postings(batched_rows(kind, batch.pk), book)
    ]
    ids = [entry for found in entry_ids(postings).values() for entry in found]

    def rows():
        return GLEntryId.objects.filter(pk__in=ids)

    def render(entries: list, context: Context) -> list[dict[str, Any]]:
        identifiers: dict[tuple[str, int], str] = {}
        for record_type in {entry.record_type for entry in entries}:
            field = ENTRY_RECORDS[record_type][1]
            record_ids = {e.record_id for e in entries if e.record_type == record_type}
            if field is not None:
                model = get_kind(record_type).model
                for pk, value in model.objects.filter(pk__in=record_ids).values_list("pk", field):
                    identifiers[(record_type, pk)] = value
            elif record_type == "product":
                for pk in record_ids:
                    identifiers[(record_type, pk)] = str(procurement_id("product", pk))
        result = []
        for entry in entries:
            name, _, shown_as = ENTRY_RECORDS[entry.record_type]
            identifier = identifiers.get((entry.record_type, entry.record_id))
            shown = {shown_as: identifier} if identifier is not None else {}
            result.append(
                {
                    "id": entry.pk,
                    "accountType": entry.account_type,
                    "accountNumber": entry.account_number,
                    "name": entry.account_name,
                    "debit": money(entry.debit),
                    "credit": money(entry.credit),
                    "cost": 0.0,
                    "item": None,
                    name: reference(context.base, name, entry.record_id, **shown),
                    "_info": info(batch.created_at, batch.created_by.username),
                }
            )
        return result

    return Resource("batchEntry", [Part(rows, F("pk"), ENTRY_FIELDS, render)])
