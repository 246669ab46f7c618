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


class ReconciliationSource(models.TextChoices):
    """What a run read of the package: its connector, or an export of it the user uploaded."""

    CONNECTOR = "connector", "Read by the connector"
    UPLOAD = "upload", "Uploaded export"


class UploadFormat(models.TextChoices):
    """The package exports a books check reads (`accounting.books_upload`)."""

    GL_JOURNAL_CSV = "gl_journal_csv", "GL journal CSV (this product's layout)"
    QUICKBOOKS_GL_REPORT = "quickbooks_gl_report", "QuickBooks general ledger report (CSV)"
    XERO_GL_REPORT = "xero_gl_report", "Xero general ledger report (CSV)"


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
    # A run of an uploaded export compares it with the file transfers to the package.
    source = models.CharField(
        max_length=10,
        choices=ReconciliationSource.choices,
        default=ReconciliationSource.CONNECTOR,
        db_default=ReconciliationSource.CONNECTOR,
    )
    upload_format = models.CharField(max_length=30, choices=UploadFormat.choices, blank=True)
    upload_name = models.CharField(max_length=200, blank=True)
    # Data rows of the uploaded export read (0 for a run through the connector).
    upload_rows = models.PositiveIntegerField(default=0, db_default=0)

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


class ReconciliationUploadLine(models.Model):
    """One amount line of an uploaded export, held while its run compares it: the
    document it belongs to (reference or number, as the export names it), the record
    that document resolves to, and the line's GL account and amount (debit minus
    credit). The run deletes its lines once done; its differences keep both sides."""

    reconciliation = models.ForeignKey(
        Reconciliation, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    line_no = models.PositiveIntegerField()
    document = models.CharField(max_length=200)
    record_type = models.CharField(max_length=20, blank=True)
    record_id = models.BigIntegerField(null=True, blank=True)
    # What tells two copies of a document apart in the export (the batch column of the
    # GL journal CSV; empty when the export has none).
    copy_key = models.CharField(max_length=50, blank=True)
    date = models.DateField()
    account_number = models.CharField(max_length=200)
    amount = models.DecimalField(max_digits=16, decimal_places=2)
    # On the document's receivable or payable account: one per copy of the document.
    control = models.BooleanField(default=False)

    class Meta:
        indexes = [
            models.Index(fields=["reconciliation", "document"], name="upload_line_document"),
            models.Index(
                fields=["reconciliation", "record_type", "record_id"], name="upload_line_record"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.document} line {self.line_no}"


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
