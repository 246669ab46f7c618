from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

from accounting.door import PAYMENT_STATES, Batching, GLAccount, TaxCode, payment_state
from core.models import Company


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


def invoice_reference(number: str) -> str:
    """How a person finds an invoice: 'Invoice INV-1042'."""
    return f"Invoice {number}"


# Ready for accounting: a closed status (denormalised so that "ready" is one column).
INVOICE_BATCHING = Batching("invoice", ready=Q(is_closed=True), date_field="date")


class Invoice(models.Model):
    batching = INVOICE_BATCHING
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
    gl_batch, original_batch = INVOICE_BATCHING.foreign_keys()
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
            *INVOICE_BATCHING.constraints(),
        ]
        indexes = INVOICE_BATCHING.indexes()

    def __str__(self) -> str:
        return invoice_reference(self.number)

    # What the accounting package says was paid: `amount_paid` and `last_paid_on` are
    # annotated by the selectors (accounting.door.with_payments).
    @property
    def paid(self) -> Decimal:
        return getattr(self, "amount_paid", None) or Decimal("0.00")

    @property
    def payment_state(self) -> str:
        return payment_state(self.total, self.paid)

    def get_payment_state_display(self) -> str:
        return PAYMENT_STATES[self.payment_state]

    @property
    def balance_due(self) -> Decimal:
        return max(self.total - self.paid, Decimal("0.00"))

    def is_locked(self) -> bool:
        return self.batching.is_locked(self)


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
