import datetime
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from typing import NamedTuple

from django.db.models import Q, QuerySet

from accounting.gl import AccountBook, Posting, PostingHeader
from invoicing.models import Invoice, InvoiceLine


class InvoiceKind:
    type = "invoice"
    label = "Invoice"
    model = Invoice
    batch_field = "gl_batch"
    original_batch_field = "original_batch"
    date_field = "date"
    amount_field = "total"

    def ready_filter(self) -> Q:
        return Q(is_closed=True)

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
        return f"Invoice {record.number}"

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
        self, rows: QuerySet, book: AccountBook, chunk_size: int = 2000
    ) -> Iterator[Posting]:
        """The postings of many invoices from plain rows: a query for the invoices and one
        for their lines per chunk, without building model instances. The same postings
        as `posting` gives one by one."""
        invoices = rows.order_by("pk").values_list(*INVOICE_ROW_LOOKUPS)
        chunk: list[InvoiceRow] = []
        for values in invoices.iterator(chunk_size=chunk_size):
            row = InvoiceRow(*values)
            chunk.append(row._replace(tax_code=row.tax_code or ""))
            if len(chunk) == chunk_size:
                yield from self._chunk_postings(chunk, book)
                chunk = []
        if chunk:
            yield from self._chunk_postings(chunk, book)

    def _chunk_postings(self, chunk: list["InvoiceRow"], book: AccountBook) -> Iterator[Posting]:
        lines: dict[int, list[tuple]] = defaultdict(list)
        for invoice_id, *line in (
            InvoiceLine.objects.filter(invoice_id__in=[row.id for row in chunk])
            .order_by("invoice_id", "position", "id")
            .values_list("invoice_id", "gl_account_id", "amount", "description")
        ):
            lines[invoice_id].append(tuple(line))
        for row in chunk:
            yield self._posting(row, lines[row.id], book)

    def _posting(self, row: "InvoiceRow", lines: list[tuple], book: AccountBook) -> Posting:
        gl_lines = [book.debit(None, "accounts_receivable", row.total, f"Invoice {row.number}")]
        gl_lines += [
            book.credit(account_id, "income", amount, description)
            for account_id, amount, description in lines
        ]
        if row.tax:
            gl_lines.append(
                book.credit(
                    row.tax_account_id, "sales_tax", row.tax, f"Sales tax {row.tax_code}".strip()
                )
            )
        header = PostingHeader(
            type=self.type,
            id=row.id,
            reference=f"Invoice {row.number}",
            number=row.number,
            date=row.date,
            due_date=row.due_date,
            company=row.company,
            company_identifier=row.company_identifier,
            tax_code=row.tax_code,
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
    tax_code: str
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
