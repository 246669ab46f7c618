from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

from accounting.door import Batching, GLAccount, TaxCode
from core.models import Company


class POStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


def freight_reference(number: str) -> str:
    """How a person finds a purchase order's freight: 'Freight on PO PO-0003'."""
    return f"Freight on PO {number}"


def product_reference(pk: int, number: str) -> str:
    """How a person finds a product line: 'Product 11 on PO PO-0003'."""
    return f"Product {pk} on PO {number}"


# Ready for accounting: the purchase order is closed and its freight is not zero.
FREIGHT_BATCHING = Batching(
    "freight",
    ready=Q(status=POStatus.CLOSED) & ~Q(freight_amount=0),
    date_field="date",
    constraint_prefix="po_freight",
    batch_field="freight_gl_batch",
    original_batch_field="freight_original_batch",
)
# Ready for accounting: received and its Closed box ticked.
PRODUCT_BATCHING = Batching(
    "product",
    ready=Q(received=True, closed=True),
    date_field="received_date",
    constraint_prefix="po_line",
)


class PurchaseOrder(models.Model):
    freight_batching = FREIGHT_BATCHING
    number = models.CharField(max_length=30, unique=True)
    vendor = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="purchase_orders")
    date = models.DateField()
    status = models.CharField(max_length=10, choices=POStatus.choices, default=POStatus.OPEN)
    tax_code = models.ForeignKey(
        TaxCode, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    freight_amount = models.DecimalField(max_digits=20, decimal_places=2, default=Decimal("0"))
    freight_gl_account = models.ForeignKey(
        GLAccount, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    freight_gl_batch, freight_original_batch = FREIGHT_BATCHING.foreign_keys()
    closed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-date", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(freight_amount__gte=0), name="po_freight_not_negative"
            ),
            *FREIGHT_BATCHING.constraints(),
        ]
        indexes = FREIGHT_BATCHING.indexes()

    def __str__(self) -> str:
        return f"Purchase order {self.number}"

    def is_open(self) -> bool:
        return self.status == POStatus.OPEN


class PurchaseOrderLine(models.Model):
    batching = PRODUCT_BATCHING
    purchase_order = models.ForeignKey(
        PurchaseOrder, on_delete=models.PROTECT, related_name="lines"
    )
    position = models.PositiveIntegerField(default=0)
    description = models.CharField(max_length=500)
    quantity = models.DecimalField(max_digits=14, decimal_places=2)
    unit_cost = models.DecimalField(max_digits=20, decimal_places=2)
    amount = models.DecimalField(max_digits=20, decimal_places=2)
    # The amount with the purchase order's tax: what the line posts to accounts payable.
    total = models.DecimalField(max_digits=20, decimal_places=2, default=0)
    gl_account = models.ForeignKey(
        GLAccount, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    received = models.BooleanField(default=False)
    received_date = models.DateField(null=True, blank=True)
    closed = models.BooleanField(default=False)
    gl_batch, original_batch = PRODUCT_BATCHING.foreign_keys()

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="po_line_quantity_positive"),
            models.CheckConstraint(condition=Q(unit_cost__gte=0), name="po_line_cost_not_negative"),
            models.CheckConstraint(
                condition=Q(closed=False) | Q(received=True),
                name="po_line_closed_only_when_received",
            ),
            *PRODUCT_BATCHING.constraints(),
        ]
        indexes = PRODUCT_BATCHING.indexes()

    def __str__(self) -> str:
        return product_reference(self.pk, self.purchase_order.number)

    def is_locked(self) -> bool:
        return self.batching.is_locked(self)
