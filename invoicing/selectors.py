"""Reads of invoices for the API, the browser and the accounting screens."""

from django.db.models import Q, QuerySet

from accounting.door import filter_payment_state, with_payments
from core.errors import NotFound
from invoicing.models import Invoice, InvoiceStatus


def invoice_queryset() -> QuerySet[Invoice]:
    """Invoices with everything their detail and list views show, joined once."""
    invoices = Invoice.objects.select_related(
        "company", "status", "tax_code", "gl_batch", "original_batch"
    ).prefetch_related("lines__gl_account")
    return with_payments(invoices, "invoice")


def invoice_get(*, invoice_id: int) -> Invoice:
    try:
        return invoice_queryset().get(pk=invoice_id)
    except Invoice.DoesNotExist:
        raise NotFound(f"There is no invoice with id {invoice_id}.") from None


def invoice_status_list() -> QuerySet[InvoiceStatus]:
    return InvoiceStatus.objects.all()


def invoice_by_number(number: str) -> int | None:
    """The id of the invoice whose number is exactly `number` (any case), if any."""
    return (
        Invoice.objects.filter(number__iexact=number.strip())
        .order_by()
        .values_list("pk", flat=True)
        .first()
    )


def invoice_search(
    *,
    number: str = "",
    company: str = "",
    status: str = "",
    gl_batch: str = "",
    payment: str = "",
) -> QuerySet[Invoice]:
    """Finance > Invoice Search: invoices, newest first, by part of the number, part of
    the company's name or identifier, status name, GL batch identifier, and payment
    state (paid, partly_paid, unpaid: what the accounting package says was paid). Joins
    only what the result table shows (no lines)."""
    invoices = with_payments(
        Invoice.objects.select_related("company", "status", "gl_batch", "original_batch"),
        "invoice",
    )
    if payment:
        invoices = filter_payment_state(invoices, payment, "total")
    if number:
        invoices = invoices.filter(number__icontains=number.strip())
    if company:
        text = company.strip()
        invoices = invoices.filter(
            Q(company__name__icontains=text) | Q(company__identifier__iexact=text)
        )
    if status:
        invoices = invoices.filter(status__name__iexact=status)
    if gl_batch:
        invoices = invoices.filter(
            Q(gl_batch__batch_identifier__iexact=gl_batch.strip())
            | Q(original_batch__batch_identifier__iexact=gl_batch.strip())
        )
    return invoices
