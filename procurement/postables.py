from decimal import Decimal

from django.db.models import Q, QuerySet

from accounting.gl import AccountBook, Posting, PostingHeader, to_cents
from accounting.models import TaxCode
from procurement.models import POStatus, PurchaseOrder, PurchaseOrderLine


def purchase_tax(amount: Decimal, tax_code: TaxCode | None) -> Decimal:
    """The tax a purchase order's tax code adds to a product line."""
    if tax_code is None:
        return Decimal("0.00")
    return to_cents(amount * tax_code.rate / Decimal(100))


class FreightKind:
    type = "freight"
    label = "Freight"
    model = PurchaseOrder
    batch_field = "freight_gl_batch"
    original_batch_field = "freight_original_batch"
    date_field = "date"
    amount_field = "freight_amount"

    def ready_filter(self) -> Q:
        return Q(status=POStatus.CLOSED) & ~Q(freight_amount=0)

    def not_ready_reason(self, record: PurchaseOrder) -> str:
        if record.freight_amount == 0:
            return f"{self.reference(record)} is zero; there is nothing to post."
        return f"{self.reference(record)}: close purchase order {record.number} first."

    def queryset(self) -> QuerySet:
        return PurchaseOrder.objects.select_related("vendor", "tax_code")

    def reference(self, record: PurchaseOrder) -> str:
        return f"Freight on PO {record.number}"

    def company_name(self, record: PurchaseOrder) -> str:
        return record.vendor.name

    def posting(self, record: PurchaseOrder, book: AccountBook) -> Posting:
        memo = f"Freight PO {record.number}"
        lines = (
            book.debit(record.freight_gl_account_id, "freight", record.freight_amount, memo),
            book.credit(None, "accounts_payable", record.freight_amount, memo),
        )
        header = PostingHeader(
            type=self.type,
            id=record.pk,
            reference=self.reference(record),
            number=f"{record.number}-F",
            date=record.date,
            company=record.vendor.name,
            company_identifier=record.vendor.identifier,
        )
        return Posting(header=header, lines=lines)


class ProductKind:
    type = "product"
    label = "Product"
    model = PurchaseOrderLine
    batch_field = "gl_batch"
    original_batch_field = "original_batch"
    date_field = "received_date"
    amount_field = "total"

    def ready_filter(self) -> Q:
        return Q(received=True, closed=True)

    def not_ready_reason(self, record: PurchaseOrderLine) -> str:
        if not record.received:
            return f"{self.reference(record)} is not received; receive it first."
        return f"{self.reference(record)} is received but its Closed box is clear; tick it first."

    def queryset(self) -> QuerySet:
        return PurchaseOrderLine.objects.select_related(
            "purchase_order__vendor", "purchase_order__tax_code"
        )

    def reference(self, record: PurchaseOrderLine) -> str:
        return f"Product {record.pk} on PO {record.purchase_order.number}"

    def company_name(self, record: PurchaseOrderLine) -> str:
        return record.purchase_order.vendor.name

    def posting(self, record: PurchaseOrderLine, book: AccountBook) -> Posting:
        purchase_order = record.purchase_order
        tax = purchase_tax(record.amount, purchase_order.tax_code)
        lines = [book.debit(record.gl_account_id, "inventory", record.amount, record.description)]
        if tax:
            lines.append(
                book.debit(
                    purchase_order.tax_code.gl_account_id,
                    "sales_tax",
                    tax,
                    f"Tax {purchase_order.tax_code.code}",
                )
            )
        lines.append(
            book.credit(
                None, "accounts_payable", record.amount + tax, f"PO {purchase_order.number}"
            )
        )
        header = PostingHeader(
            type=self.type,
            id=record.pk,
            reference=self.reference(record),
            number=f"{purchase_order.number}-{record.pk}",
            date=record.received_date or purchase_order.date,
            company=purchase_order.vendor.name,
            company_identifier=purchase_order.vendor.identifier,
            tax_code=purchase_order.tax_code.code if purchase_order.tax_code else "",
        )
        return Posting(header=header, lines=tuple(lines))
