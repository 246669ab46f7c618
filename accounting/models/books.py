"""The books check (its runs and their differences) and what the package says
was paid."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from accounting.models.batches import GLBatch
from accounting.models.setup import Package


class ReconciliationState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class DifferenceClass(models.TextChoices):
    """Where a record sent through a connector stands against the accounting package;
    each record checked falls in exactly one."""

    IN_STEP = "in_step", "In step"
    MISSING = "missing", "Missing"
    DUPLICATED = "duplicated", "Duplicated"
    CHANGED_IN_PACKAGE = "changed_in_package", "Changed in the package"
    CHANGED_IN_PSA = "changed_in_psa", "Changed in the PSA"
    UNKNOWN = "unknown", "Unknown"


class Reconciliation(models.Model):
    """A run of the books check: what the accounting package holds of the records sent
    through its connector, compared with the transfer log and the records as they are.
    Scope: everything, one batch, or the records dated in a range."""

    state = models.CharField(
        max_length=10, choices=ReconciliationState.choices, default=ReconciliationState.QUEUED
    )
    progress = models.PositiveSmallIntegerField(default=0)
    package = models.CharField(max_length=30, choices=Package.choices)
    batch = models.ForeignKey(
        GLBatch, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    date_from = models.DateField(null=True, blank=True)
    date_to = models.DateField(null=True, blank=True)
    # How many records fell in each DifferenceClass (its value -> count).
    counts = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Empty for the nightly run the beat starts.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(progress__lte=100), name="reconciliation_progress_percent"
            )
        ]

    def __str__(self) -> str:
        return f"Books check {self.pk} ({self.state})"

    @property
    def differences_count(self) -> int:
        return sum(n for name, n in self.counts.items() if name != DifferenceClass.IN_STEP)


class ReconciliationDifference(models.Model):
    """A record a run did not find in step, with both sides' values: `psa` what the
    transfer log says was sent and whether the record changed since, `package` each
    transaction the package holds for it."""

    reconciliation = models.ForeignKey(
        Reconciliation, on_delete=models.PROTECT, related_name="differences"
    )
    kind = models.CharField(max_length=20, choices=DifferenceClass.choices)
    record_type = models.CharField(max_length=20)
    record_id = models.BigIntegerField()
    reference = models.CharField(max_length=200, blank=True)
    # The batch the transfer log says the record went out in (empty when unknown).
    batch_identifier = models.CharField(max_length=50, blank=True)
    psa = models.JSONField(default=dict, blank=True)
    package = models.JSONField(default=list, blank=True)
    # Set once a one-click fix was applied: what it did (removed / resent), by whom.
    fixed_at = models.DateTimeField(null=True, blank=True)
    fixed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    fix = models.CharField(max_length=20, blank=True)

    class Meta:
        ordering = ["record_type", "record_id", "id"]
        indexes = [models.Index(fields=["reconciliation", "kind"], name="reconciliation_diff_kind")]

    def __str__(self) -> str:
        return f"{self.reference or self.record_type} {self.get_kind_display()}"


class PackagePayment(models.Model):
    """What the accounting package says was paid against a record sent as a sale (read
    back by the connector): the amount paid in all, and the date of the last payment.
    Kept current by `accounting.payments.payments_refresh`."""

    record_type = models.CharField(max_length=20)
    record_id = models.BigIntegerField()
    amount_paid = models.DecimalField(max_digits=14, decimal_places=2)
    last_paid_on = models.DateField(null=True, blank=True)
    refreshed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["record_type", "record_id"], name="package_payment_once_per_record"
            )
        ]

    def __str__(self) -> str:
        return f"{self.record_type} {self.record_id}: {self.amount_paid} paid"
