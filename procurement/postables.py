import datetime
from collections.abc import Iterator
from decimal import Decimal
from typing import NamedTuple

from django.db.models import QuerySet

from accounting.door import (
    BILL,
    AccountBook,
    BatchedKind,
    Posting,
    PostingHeader,
    TaxCode,
    to_cents,
)
from procurement.models import (
    FREIGHT_BATCHING,
    PRODUCT_BATCHING,
    PurchaseOrder,
    PurchaseOrderLine,
    freight_reference,
    product_reference,
)


def purchase_tax(amount: Decimal, tax_code: TaxCode | None) -> Decimal:
    """The tax a purchase order's tax code adds to a product line."""
    return tax_at(amount, tax_code.rate if tax_code else None)


def tax_at(amount: Decimal, rate: Decimal | None) -> Decimal:
    if rate is None:
        return Decimal("0.00")
    return to_cents(amount * rate / Decimal(100))


class FreightKind(BatchedKind):
    type = "freight"
    label = "Freight"
    plural_label = "Freight"
    url_name = "procurement:po_detail"
    lock_order = 3
    document = BILL
    model = PurchaseOrder
    batching = FREIGHT_BATCHING
    amount_field = "freight_amount"
    company_lookups: tuple[str, ...] = ("vendor__name",)
    text_lookups: tuple[str, ...] = ("number", "vendor__name")

    def not_ready_reason(self, record: PurchaseOrder) -> str:
        if record.freight_amount == 0:
            return f"{self.reference(record)} is zero; there is nothing to post."
        return f"{self.reference(record)}: close purchase order {record.number} first."

    def queryset(self) -> QuerySet:
        return PurchaseOrder.objects.select_related("vendor", "tax_code")

    def reference(self, record: PurchaseOrder) -> str:
        return freight_reference(record.number)

    def title(self, record: PurchaseOrder) -> str:
        """The pages' name: "Freight on PO-1009" (the number says it is a PO)."""
        return f"Freight on {record.number}"

    def company_name(self, record: PurchaseOrder) -> str:
        return record.vendor.name

    def posting(self, record: PurchaseOrder, book: AccountBook) -> Posting:
        return self._posting(
            FreightRow(
                record.pk,
                record.number,
                record.date,
                record.freight_amount,
                record.freight_gl_account_id,
                record.vendor.name,
                record.vendor.identifier,
            ),
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
        """The same postings as `posting`, from plain rows (no model instances)."""
        if between is not None:
            rows = rows.filter(pk__range=between)
        values = rows.order_by("pk").values_list(*FREIGHT_ROW_LOOKUPS)
        for row in map(FreightRow._make, self.read_rows(values, chunk_size)):
            yield self._posting(row, book)

    def _posting(self, row: "FreightRow", book: AccountBook) -> Posting:
        memo = f"Freight PO {row.number}"
        lines = (
            book.debit(row.freight_account_id, "freight", row.freight_amount, memo),
            book.credit(None, "accounts_payable", row.freight_amount, memo),
        )
        header = PostingHeader(
            type=self.type,
            id=row.id,
            reference=freight_reference(row.number),
            number=f"{row.number}-F",
            date=row.date,
            company=row.vendor,
            company_identifier=row.vendor_identifier,
            document=self.document,
        )
        return Posting(header=header, lines=lines)


class FreightRow(NamedTuple):
    """What a freight posting reads, as plain values."""

    id: int
    number: str
    date: datetime.date
    freight_amount: Decimal
    freight_account_id: int | None
    vendor: str
    vendor_identifier: str


FREIGHT_ROW_LOOKUPS = (
    "pk",
    "number",
    "date",
    "freight_amount",
    "freight_gl_account_id",
    "vendor__name",
    "vendor__identifier",
)


class ProductKind(BatchedKind):
    type = "product"
    label = "Product"
    plural_label = "Products"
    url_name = "procurement:line_detail"
    lock_order = 4
    document = BILL
    model = PurchaseOrderLine
    batching = PRODUCT_BATCHING
    amount_field = "total"
    company_lookups: tuple[str, ...] = ("purchase_order__vendor__name",)
    text_lookups: tuple[str, ...] = (
        "description",
        "purchase_order__number",
        "purchase_order__vendor__name",
    )

    def not_ready_reason(self, record: PurchaseOrderLine) -> str:
        if not record.received:
            return f"{self.reference(record)} is not received; receive it first."
        return f"{self.reference(record)} is received but its Closed box is clear; tick it first."

    def queryset(self) -> QuerySet:
        return PurchaseOrderLine.objects.select_related(
            "purchase_order__vendor", "purchase_order__tax_code"
        )

    def reference(self, record: PurchaseOrderLine) -> str:
        return product_reference(record.pk, record.purchase_order.number)

    def title(self, record: PurchaseOrderLine) -> str:
        """The pages' name: "Product 17 Firewall appliance on PO-1009"."""
        return f"Product {record.pk} {record.description} on {record.purchase_order.number}"

    def company_name(self, record: PurchaseOrderLine) -> str:
        return record.purchase_order.vendor.name

    def posting(self, record: PurchaseOrderLine, book: AccountBook) -> Posting:
        purchase_order, tax_code = record.purchase_order, record.purchase_order.tax_code
        return self._posting(
            ProductRow(
                record.pk,
                record.amount,
                record.gl_account_id,
                record.description,
                record.received_date,
                purchase_order.number,
                purchase_order.date,
                purchase_order.vendor.name,
                purchase_order.vendor.identifier,
                tax_code.code if tax_code else "",
                tax_code.rate if tax_code else None,
                tax_code.gl_account_id if tax_code else None,
            ),
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
        """The same postings as `posting`, from plain rows (no model instances)."""
        if between is not None:
            rows = rows.filter(pk__range=between)
        values = rows.order_by("pk").values_list(*PRODUCT_ROW_LOOKUPS)
        for row in map(ProductRow._make, self.read_rows(values, chunk_size)):
            yield self._posting(row, book)

    def _posting(self, row: "ProductRow", book: AccountBook) -> Posting:
        tax_code = row.tax_code or ""  # None when the order has no tax code
        tax = tax_at(row.amount, row.tax_rate)
        lines = [book.debit(row.account_id, "inventory", row.amount, row.description)]
        if tax:
            lines.append(book.debit(row.tax_account_id, "sales_tax", tax, f"Tax {tax_code}"))
        lines.append(book.credit(None, "accounts_payable", row.amount + tax, f"PO {row.number}"))
        header = PostingHeader(
            type=self.type,
            id=row.id,
            reference=product_reference(row.id, row.number),
            number=f"{row.number}-{row.id}",
            date=row.received_date or row.order_date,
            company=row.vendor,
            company_identifier=row.vendor_identifier,
            tax_code=tax_code,
            document=self.document,
        )
        return Posting(header=header, lines=tuple(lines))


class ProductRow(NamedTuple):
    """What a product line's posting reads, as plain values."""

    id: int
    amount: Decimal
    account_id: int | None
    description: str
    received_date: datetime.date | None
    number: str
    order_date: datetime.date
    vendor: str
    vendor_identifier: str
    tax_code: str | None
    tax_rate: Decimal | None
    tax_account_id: int | None


PRODUCT_ROW_LOOKUPS = (
    "pk",
    "amount",
    "gl_account_id",
    "description",
    "received_date",
    "purchase_order__number",
    "purchase_order__date",
    "purchase_order__vendor__name",
    "purchase_order__vendor__identifier",
    "purchase_order__tax_code__code",
    "purchase_order__tax_code__rate",
    "purchase_order__tax_code__gl_account_id",
)
