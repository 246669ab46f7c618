from django.db.models import Q, QuerySet

from accounting.gl import AccountBook, Posting, PostingHeader
from invoicing.models import Invoice


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
        lines = [book.debit(None, "accounts_receivable", record.total, f"Invoice {record.number}")]
        lines += [
            book.credit(line.gl_account_id, "income", line.amount, line.description)
            for line in record.lines.all()
        ]
        if record.tax:
            tax_account = record.tax_code.gl_account_id if record.tax_code else None
            lines.append(
                book.credit(
                    tax_account,
                    "sales_tax",
                    record.tax,
                    f"Sales tax {record.tax_code.code if record.tax_code else ''}".strip(),
                )
            )
        header = PostingHeader(
            type=self.type,
            id=record.pk,
            reference=self.reference(record),
            number=record.number,
            date=record.date,
            due_date=record.due_date,
            company=record.company.name,
            company_identifier=record.company.identifier,
            tax_code=record.tax_code.code if record.tax_code else "",
        )
        return Posting(header=header, lines=tuple(lines))
