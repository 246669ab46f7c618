import datetime
from collections.abc import Iterator
from decimal import Decimal
from typing import NamedTuple

from django.db.models import QuerySet

from accounting.door import SALE, AccountBook, BatchedKind, Posting, PostingHeader
from invoicing.models import INVOICE_BATCHING, Invoice, InvoiceLine, invoice_reference


class InvoiceKind(BatchedKind):
    type = "invoice"
    label = "Invoice"
    plural_label = "Invoices"
    url_name = "invoicing:invoice_detail"
    lock_order = 1
    document = SALE
    model = Invoice
    batching = INVOICE_BATCHING
    amount_field = "total"
    company_lookups: tuple[str, ...] = ("company__name",)
    text_lookups: tuple[str, ...] = ("number", "company__name")

    def not_ready_reason(self, record: Invoice) -> str:
        return (
            f"{self.reference(record)} has the open status {record.status.name}; "
            "set a closed status first."
        )

    def queryset(self) -> QuerySet:
        return Invoice.objects.select_related("company", "status", "tax_code").prefetch_related(
            "lines"
        )

    def reference(self, record: Invoice) -> str:
        return invoice_reference(record.number)

    def company_name(self, record: Invoice) -> str:
        return record.company.name

    def posting(self, record: Invoice, book: AccountBook) -> Posting:
        tax_code = record.tax_code
        return self._posting(
            InvoiceRow(
                record.pk,
                record.number,
                record.date,
                record.due_date,
                record.total,
                record.tax,
                record.company.name,
                record.company.identifier,
                tax_code.code if tax_code else "",
                tax_code.gl_account_id if tax_code else None,
            ),
            [(line.gl_account_id, line.amount, line.description) for line in record.lines.all()],
            book,
        )

    def bulk_postings(
        self,
        rows: QuerySet,
        book: AccountBook,
        chunk_size: int | None = 2000,
        *,
        between: tuple[int, int] | None = None,
    ) -> Iterator[Posting]:
        """The postings of many invoices from plain rows, without building model
        instances: the invoices and all their lines, read side by side in invoice order.
        The same postings as `posting` gives one by one. With `between`, the lines are
        read from that range of the lines' invoice index (the planner cannot carry a
        range on the invoices over to their lines, and would read every line)."""
        lines_of = InvoiceLine.objects.filter(invoice__in=rows)
        if between is not None:
            rows = rows.filter(pk__range=between)
            lines_of = InvoiceLine.objects.filter(
                invoice__in=rows, invoice_id__gte=between[0], invoice_id__lte=between[1]
            )
        invoices = rows.order_by("pk").values_list(*INVOICE_ROW_LOOKUPS)
        lines = self.read_rows(
            lines_of.order_by("invoice_id", "position", "id").values_list(
                "invoice_id", "gl_account_id", "amount", "description"
            ),
            chunk_size,
        )
        line = next(lines, None)
        for row in map(InvoiceRow._make, self.read_rows(invoices, chunk_size)):
            own = []
            # Both streams are in invoice order: this invoice's lines come next.
            while line is not None and line[0] <= row.id:
                if line[0] == row.id:
                    own.append(line[1:])
                line = next(lines, None)
            yield self._posting(row, own, book)

    def _posting(self, row: "InvoiceRow", lines: list[tuple], book: AccountBook) -> Posting:
        reference = invoice_reference(row.number)
        tax_code = row.tax_code or ""  # None when the invoice has no tax code
        gl_lines = [book.debit(None, "accounts_receivable", row.total, reference)]
        gl_lines += [
            book.credit(account_id, "income", amount, description)
            for account_id, amount, description in lines
        ]
        if row.tax:
            gl_lines.append(
                book.credit(
                    row.tax_account_id, "sales_tax", row.tax, f"Sales tax {tax_code}".strip()
                )
            )
        header = PostingHeader(
            type=self.type,
            id=row.id,
            reference=reference,
            number=row.number,
            date=row.date,
            due_date=row.due_date,
            company=row.company,
            company_identifier=row.company_identifier,
            tax_code=tax_code,
            document=self.document,
        )
        return Posting(header=header, lines=tuple(gl_lines))


class InvoiceRow(NamedTuple):
    """What an invoice's posting reads, as plain values."""

    id: int
    number: str
    date: datetime.date
    due_date: datetime.date | None
    total: Decimal
    tax: Decimal
    company: str
    company_identifier: str
    tax_code: str | None
    tax_account_id: int | None


INVOICE_ROW_LOOKUPS = (
    "pk",
    "number",
    "date",
    "due_date",
    "total",
    "tax",
    "company__name",
    "company__identifier",
    "tax_code__code",
    "tax_code__gl_account_id",
)
