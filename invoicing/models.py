from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

from accounting.records import GLAccount, GLBatch, TaxCode
from psa.models import Company


class InvoiceStatus(models.Model):
    """Setup table: invoice statuses, each open or closed (ready for accounting)."""

    name = models.CharField(max_length=50, unique=True)
    is_closed = models.BooleanField(default=False)
    sort_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["sort_order", "name"]
        verbose_name_plural = "invoice statuses"

    def __str__(self) -> str:
        return self.name


class Invoice(models.Model):
    number = models.CharField(max_length=30, unique=True)
    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="invoices")
    date = models.DateField()
    due_date = models.DateField(null=True, blank=True)
    status = models.ForeignKey(InvoiceStatus, on_delete=models.PROTECT, related_name="+")
    # Denormalised from the status so that "ready" is one indexed column.
    is_closed = models.BooleanField(default=False)
    tax_code = models.ForeignKey(
        TaxCode, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    subtotal = models.DecimalField(max_digits=20, decimal_places=2, default=Decimal("0"))
    tax = models.DecimalField(max_digits=20, decimal_places=2, default=Decimal("0"))
    total = models.DecimalField(max_digits=20, decimal_places=2, default=Decimal("0"))
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
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-date", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(total=models.F("subtotal") + models.F("tax")),
                name="invoice_total_is_subtotal_plus_tax",
            ),
            models.CheckConstraint(condition=Q(tax__gte=0), name="invoice_tax_not_negative"),
            models.CheckConstraint(
                condition=Q(gl_batch__isnull=True) | Q(original_batch__isnull=True),
                name="invoice_in_batch_has_no_original_batch",
            ),
        ]
        indexes = [
            models.Index(
                fields=["date", "id"],
                condition=Q(gl_batch__isnull=True, is_closed=True),
                name="invoice_unposted",
            ),
            models.Index(fields=["gl_batch"], name="invoice_gl_batch"),
            models.Index(
                fields=["original_batch"],
                condition=Q(original_batch__isnull=False),
                name="invoice_original_batch",
            ),
        ]

    def __str__(self) -> str:
        return f"Invoice {self.number}"

    def is_locked(self) -> bool:
        return self.gl_batch_id is not None


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField(default=0)
    description = models.CharField(max_length=500)
    quantity = models.DecimalField(max_digits=14, decimal_places=2)
    unit_price = models.DecimalField(max_digits=20, decimal_places=2)
    amount = models.DecimalField(max_digits=20, decimal_places=2)
    gl_account = models.ForeignKey(
        GLAccount, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    taxable = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="invoice_line_quantity_positive"
            ),
            models.CheckConstraint(
                condition=Q(unit_price__gte=0), name="invoice_line_price_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return self.description
