from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

from accounting.records import GLAccount, GLBatch, TaxCode
from psa.models import Company


class POStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


class PurchaseOrder(models.Model):
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
    freight_gl_batch = models.ForeignKey(
        GLBatch,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,  # indexed in Meta.indexes; no second copy for batches to update
    )
    freight_original_batch = models.ForeignKey(
        GLBatch,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,  # indexed in Meta.indexes; no second copy for batches to update
    )
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
            models.CheckConstraint(
                condition=Q(freight_gl_batch__isnull=True) | Q(freight_original_batch__isnull=True),
                name="po_freight_in_batch_has_no_original_batch",
            ),
        ]
        indexes = [
            models.Index(
                fields=["date", "id"],
                condition=Q(freight_gl_batch__isnull=True, status="closed") & ~Q(freight_amount=0),
                name="freight_unposted",
            ),
            models.Index(fields=["freight_gl_batch"], name="freight_gl_batch"),
            models.Index(
                fields=["freight_original_batch"],
                condition=Q(freight_original_batch__isnull=False),
                name="freight_original_batch",
            ),
        ]

    def __str__(self) -> str:
        return f"Purchase order {self.number}"

    def is_open(self) -> bool:
        return self.status == POStatus.OPEN


class PurchaseOrderLine(models.Model):
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
    gl_batch = models.ForeignKey(
        GLBatch,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,  # indexed in Meta.indexes; no second copy for batches to update
    )
    original_batch = models.ForeignKey(
        GLBatch,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,  # indexed in Meta.indexes; no second copy for batches to update
    )

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="po_line_quantity_positive"),
            models.CheckConstraint(condition=Q(unit_cost__gte=0), name="po_line_cost_not_negative"),
            models.CheckConstraint(
                condition=Q(closed=False) | Q(received=True),
                name="po_line_closed_only_when_received",
            ),
            models.CheckConstraint(
                condition=Q(gl_batch__isnull=True) | Q(original_batch__isnull=True),
                name="po_line_in_batch_has_no_original_batch",
            ),
        ]
        indexes = [
            models.Index(
                fields=["received_date", "id"],
                condition=Q(gl_batch__isnull=True, received=True, closed=True),
                name="product_unposted",
            ),
            models.Index(fields=["gl_batch"], name="product_gl_batch"),
            models.Index(
                fields=["original_batch"],
                condition=Q(original_batch__isnull=False),
                name="product_original_batch",
            ),
        ]

    def __str__(self) -> str:
        return f"Product {self.pk} on {self.purchase_order.number}"

    def is_locked(self) -> bool:
        return self.gl_batch_id is not None
