from django.conf import settings
from django.db import models
from django.db.models import Q

from accounting.door import Batching, GLAccount
from core.models import Company


class ExpenseType(models.Model):
    code = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=100)
    gl_account = models.ForeignKey(GLAccount, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class SheetStatus(models.TextChoices):
    OPEN = "open", "Open"
    SUBMITTED = "submitted", "Submitted"
    APPROVED = "approved", "Approved"


class ExpenseSheet(models.Model):
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="expense_sheets"
    )
    period_start = models.DateField()
    period_end = models.DateField()
    status = models.CharField(max_length=10, choices=SheetStatus.choices, default=SheetStatus.OPEN)
    submitted_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-period_start", "-id"]
        permissions = [
            ("approve_expensesheet", "Can approve and reverse expense sheets"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(period_end__gte=models.F("period_start")),
                name="expense_sheet_period_in_order",
            ),
        ]

    def __str__(self) -> str:
        return f"Expense sheet {self.pk} ({self.period_start:%d %b} - {self.period_end:%d %b %Y})"

    def is_open(self) -> bool:
        return self.status == SheetStatus.OPEN


def expense_reference(pk: int) -> str:
    """How a person finds an expense entry: 'Expense 17'."""
    return f"Expense {pk}"


# Ready for accounting: its sheet is approved (denormalised onto the entry).
EXPENSE_BATCHING = Batching("expense", ready=Q(is_approved=True), date_field="date")


class ExpenseEntry(models.Model):
    batching = EXPENSE_BATCHING
    sheet = models.ForeignKey(ExpenseSheet, on_delete=models.PROTECT, related_name="entries")
    date = models.DateField()
    expense_type = models.ForeignKey(ExpenseType, on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(max_digits=20, decimal_places=2)
    description = models.CharField(max_length=500)
    billable = models.BooleanField(default=False)
    company = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Denormalised from the sheet so that "ready" is one indexed column.
    is_approved = models.BooleanField(default=False)
    gl_batch, original_batch = EXPENSE_BATCHING.foreign_keys()

    class Meta:
        ordering = ["-date", "-id"]
        verbose_name_plural = "expense entries"
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="expense_amount_positive"),
            *EXPENSE_BATCHING.constraints(),
        ]
        indexes = EXPENSE_BATCHING.indexes()

    def __str__(self) -> str:
        return expense_reference(self.pk)

    def is_locked(self) -> bool:
        return self.batching.is_locked(self)
