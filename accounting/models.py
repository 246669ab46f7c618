from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone


class GLAccountType(models.TextChoices):
    ACCOUNTS_RECEIVABLE = "accounts_receivable", "Accounts receivable"
    INCOME = "income", "Income"
    SALES_TAX = "sales_tax", "Sales tax payable"
    ACCOUNTS_PAYABLE = "accounts_payable", "Accounts payable"
    EXPENSE = "expense", "Expense"
    INVENTORY = "inventory", "Inventory"
    FREIGHT = "freight", "Freight"
    REIMBURSEMENT = "reimbursement", "Employee reimbursement"


# Where each type of GL account sits among a ledger's roots (what it owns, owes, earns
# and spends): every type has one, and a new type gets its root here.
GL_ACCOUNT_ROOTS: dict[str, str] = {
    GLAccountType.ACCOUNTS_RECEIVABLE: "Assets",
    GLAccountType.INVENTORY: "Assets",
    GLAccountType.ACCOUNTS_PAYABLE: "Liabilities",
    GLAccountType.SALES_TAX: "Liabilities",
    GLAccountType.REIMBURSEMENT: "Liabilities",
    GLAccountType.INCOME: "Income",
    GLAccountType.EXPENSE: "Expenses",
    GLAccountType.FREIGHT: "Expenses",
}


class GLAccount(models.Model):
    number = models.CharField(max_length=30, unique=True)
    name = models.CharField(max_length=200)
    type = models.CharField(max_length=30, choices=GLAccountType.choices)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["number"]
        verbose_name = "GL account"

    def __str__(self) -> str:
        return f"{self.number} {self.name}"


class TaxCode(models.Model):
    code = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=100)
    rate = models.DecimalField(
        max_digits=7,
        decimal_places=4,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
        help_text="Percent, for example 8.25.",
    )
    gl_account = models.ForeignKey(GLAccount, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(rate__gte=0) & Q(rate__lte=100), name="tax_code_rate_percent"
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.rate.normalize()}%)"


class Package(models.TextChoices):
    QUICKBOOKS_DESKTOP = "quickbooks_desktop", "QuickBooks Desktop"
    QUICKBOOKS_ONLINE = "quickbooks_online", "QuickBooks Online"
    XERO = "xero", "Xero"
    BEANCOUNT = "beancount", "Beancount ledger"
    GNUCASH = "gnucash", "GnuCash book"
    OTHER = "other", "Other"


class ExportFormat(models.TextChoices):
    IIF = "iif", "QuickBooks Desktop IIF"
    QUICKBOOKS_ONLINE_CSV = "quickbooks_online_csv", "QuickBooks Online CSV"
    XERO_CSV = "xero_csv", "Xero CSV"
    GL_JOURNAL_CSV = "gl_journal_csv", "GL journal CSV"


class AccountingSetup(models.Model):
    """The accounting package setup table: one row."""

    package = models.CharField(max_length=30, choices=Package.choices, default=Package.OTHER)
    direct_transfer = models.BooleanField(default=False)
    export_format = models.CharField(
        max_length=30, choices=ExportFormat.choices, default=ExportFormat.GL_JOURNAL_CSV
    )
    options = models.JSONField(default=dict, blank=True)
    # What `options` held before Direct Transfer was cleared, so one action restores it.
    saved_options = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "accounting package setup"
        verbose_name_plural = "accounting package setup"
        constraints = [
            models.CheckConstraint(condition=Q(pk=1), name="accounting_setup_single_row")
        ]

    def __str__(self) -> str:
        return f"{self.get_package_display()} ({'direct' if self.direct_transfer else 'file'})"


class DefaultGLAccount(models.Model):
    """The account a GL line uses for a type when the record names none."""

    type = models.CharField(max_length=30, choices=GLAccountType.choices, unique=True)
    gl_account = models.ForeignKey(GLAccount, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["type"]
        verbose_name = "default GL account"

    def __str__(self) -> str:
        return f"{self.get_type_display()}: {self.gl_account}"


class BatchStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"
    DELETED = "deleted", "Deleted"


class TransferMethod(models.TextChoices):
    DIRECT = "direct", "Direct transfer"
    FILE = "file", "Export file"
    # Sent by an integration tool itself (the ConnectWise-compatible API): no file, no
    # connector; the batch records what the tool wrote into the package.
    EXTERNAL = "external", "Sent by an integration"


class TransferState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    # The process running the transfer stopped renewing its lease (killed, or cut off
    # from the database): nothing runs it any more. Finance can retry it, and the
    # periodic sweep queues it again.
    INTERRUPTED = "interrupted", "Interrupted"
    # Shown, never stored: a running transfer paused by the package's rate limit
    # (`transfer_waiting_until`); it goes on by itself.
    WAITING = "waiting", "Waiting for the package's limit"


class GLBatch(models.Model):
    batch_identifier = models.CharField(max_length=50)
    status = models.CharField(max_length=10, choices=BatchStatus.choices, default=BatchStatus.OPEN)
    transfer_method = models.CharField(max_length=10, choices=TransferMethod.choices)
    export_format = models.CharField(max_length=30, choices=ExportFormat.choices)
    package = models.CharField(max_length=30, choices=Package.choices)
    transfer_state = models.CharField(
        max_length=11, choices=TransferState.choices, default=TransferState.QUEUED
    )
    transfer_progress = models.PositiveSmallIntegerField(default=0)
    transfer_error = models.TextField(blank=True)
    transfer_started_at = models.DateTimeField(null=True, blank=True)
    transfer_finished_at = models.DateTimeField(null=True, blank=True)
    # When the transfer was last handed to the task queue; empty while queued means the
    # queue could not be reached (the periodic sweep hands it over once it is back).
    transfer_queued_at = models.DateTimeField(null=True, blank=True)
    # A running transfer's lease: the process named by the holder renews it while it
    # works; once it has expired, the transfer is interrupted.
    transfer_lease_until = models.DateTimeField(null=True, blank=True)
    transfer_lease_holder = models.CharField(max_length=100, blank=True, default="", db_default="")
    # Runs since the transfer was last queued by a person: the sweep re-queues an
    # interrupted transfer only a few times, then leaves it to Finance.
    transfer_attempts = models.PositiveSmallIntegerField(default=0, db_default=0)
    # Until when a running transfer waits out the accounting package's rate limit
    # (Xero's 429 and its Retry-After): shown as waiting, not failed.
    transfer_waiting_until = models.DateTimeField(null=True, blank=True)
    # A batch that records what is already in the accounting package (re-recorded
    # under its original identifier after a delete): its file is for reference only.
    is_rerecord = models.BooleanField(default=False)
    file = models.FileField(upload_to="batches/%Y/%m/", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    deleted_at = models.DateTimeField(null=True, blank=True)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "GL batch"
        verbose_name_plural = "GL batches"
        permissions = [
            ("transfer_glbatch", "Can create and transfer GL batches"),
            ("unbatch_record", "Can unbatch and rebatch records"),
            ("close_glbatch", "Can close GL batches"),
            ("reopen_glbatch", "Can reopen a closed GL batch (administrator)"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["batch_identifier"],
                condition=~Q(status="deleted"),
                name="batch_identifier_unique_unless_deleted",
            ),
            models.CheckConstraint(
                condition=Q(transfer_progress__lte=100), name="batch_progress_percent"
            ),
            models.CheckConstraint(
                condition=~Q(batch_identifier=""), name="batch_identifier_not_empty"
            ),
        ]
        indexes = [models.Index(fields=["status", "-created_at"], name="batch_status_created")]

    def __str__(self) -> str:
        return self.batch_identifier

    def is_open(self) -> bool:
        return self.status == BatchStatus.OPEN

    def lease_expired(self, now=None) -> bool:
        """A running transfer whose process stopped renewing its lease."""
        if self.transfer_state != TransferState.RUNNING or self.transfer_lease_until is None:
            return False
        return self.transfer_lease_until < (now or timezone.now())

    @property
    def current_transfer_state(self) -> str:
        """The transfer's state as users see it: a running transfer whose lease expired
        is interrupted, even before the sweep has marked it so."""
        if self.lease_expired():
            return TransferState.INTERRUPTED
        if self.is_waiting():
            return TransferState.WAITING
        return self.transfer_state

    def is_waiting(self, now=None) -> bool:
        """A running transfer pausing for the package's rate limit."""
        return (
            self.transfer_state == TransferState.RUNNING
            and self.transfer_waiting_until is not None
            and self.transfer_waiting_until > (now or timezone.now())
        )

    def get_current_transfer_state_display(self) -> str:
        return TransferState(self.current_transfer_state).label

    def is_transferring(self) -> bool:
        """Whether a live process is sending the batch right now (running, lease held)."""
        return self.transfer_state == TransferState.RUNNING and not self.lease_expired()


class TransferLog(models.Model):
    """One row per record sent: what went out, where, and whether it is still there."""

    # Indexed by the unique (batch, record_type, record_id) constraint, which leads with it.
    # No database constraint: a transfer writes the rows of its own batch, a batch is
    # never deleted (PROTECT, and a deleted batch is only marked so), and the check per
    # row at commit costs a third of storing the row.
    batch = models.ForeignKey(
        GLBatch,
        on_delete=models.PROTECT,
        related_name="transfer_logs",
        db_index=False,
        db_constraint=False,
    )
    record_type = models.CharField(max_length=20)
    record_id = models.BigIntegerField()
    reference = models.CharField(max_length=200)
    package = models.CharField(max_length=30, choices=Package.choices)
    method = models.CharField(max_length=10, choices=TransferMethod.choices)
    export_format = models.CharField(max_length=30, blank=True)
    # What was sent: one array per GL line, [account number, account name, account type,
    # debit, credit, memo], amounts as text ("12.50"), as Posting.lines_json gives them.
    # Rows an earlier release logged hold one object per line with those keys, and a
    # fingerprint over those objects (Posting.matches knows both).
    gl_lines = models.JSONField()
    fingerprint = models.CharField(max_length=64)
    external_reference = models.CharField(max_length=200, blank=True)
    sent_at = models.DateTimeField()
    # Set once the original is gone from the package: removed by a connector, or the
    # user confirmed removing it before a record was sent again.
    removed_at = models.DateTimeField(null=True, blank=True)
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,  # partial index in Meta: most rows have none
    )
    # The batch that sent the record again once this original was removed.
    replaced_by = models.ForeignKey(
        GLBatch,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="replaced_logs",
        db_index=False,  # partial index in Meta: most rows have none
    )
    removal = models.CharField(
        max_length=20,
        blank=True,
        choices=[("connector", "Removed by the connector"), ("confirmed", "Removal confirmed")],
    )

    class Meta:
        ordering = ["sent_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["batch", "record_type", "record_id"], name="transfer_log_once_per_batch"
            )
        ]
        indexes = [
            models.Index(
                fields=["record_type", "record_id"],
                condition=Q(removed_at__isnull=True),
                name="transfer_log_live_record",
            ),
            models.Index(
                fields=["replaced_by"],
                condition=Q(replaced_by__isnull=False),
                name="transfer_log_replaced_by",
            ),
            models.Index(
                fields=["removed_by"],
                condition=Q(removed_by__isnull=False),
                name="transfer_log_removed_by",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} in {self.batch}"


class AuditEvent(models.Model):
    at = models.DateTimeField(db_index=False)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    action = models.CharField(max_length=40)
    record_type = models.CharField(max_length=20, blank=True)
    record_id = models.BigIntegerField(null=True, blank=True)
    # Indexed by audit_batch_action, which leads with it.
    batch = models.ForeignKey(
        GLBatch, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    changes = models.JSONField(default=dict, blank=True)
    # The hash chain that makes the trail tamper-evident (PostgreSQL): when the
    # transaction that wrote the event commits, the database gives it the next place in
    # the chain and a SHA-256 over its content, its linked records and the hash before it
    # (migration 0007_audit_hash_chain). `manage.py verify_audit` recomputes the chain.
    chain_seq = models.BigIntegerField(null=True, blank=True, unique=True, editable=False)
    chain_prev = models.CharField(max_length=64, blank=True, editable=False, db_default="")
    chain_hash = models.CharField(max_length=64, blank=True, editable=False, db_default="")

    class Meta:
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["record_type", "record_id", "at"], name="audit_record"),
            models.Index(fields=["batch", "action"], name="audit_batch_action"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.record_type} {self.record_id}"


class AuditEventRecord(models.Model):
    """A record that a batch-level audit event moved: each record a batch took, let go
    or re-recorded. A batch step writes one audit event and one narrow row per record
    instead of a full audit event per record; a record's audit trail reads its own
    events and the batch events it is linked to."""

    pk = models.CompositePrimaryKey("record_type", "record_id", "event")
    # No database constraint: the rows are written in the transaction that creates their
    # event, audit events are never deleted, and a check per row would cost as much as
    # the row.
    event = models.ForeignKey(
        AuditEvent,
        on_delete=models.PROTECT,
        related_name="records",
        db_constraint=False,
        db_index=False,  # audit_link_event, in Meta
    )
    record_type = models.CharField(max_length=20)
    record_id = models.BigIntegerField()

    class Meta:
        # The primary key finds a record's batch events; this, a batch event's records.
        indexes = [models.Index(fields=["event"], name="audit_link_event")]

    def __str__(self) -> str:
        return f"{self.record_type} {self.record_id} in event {self.event_id}"


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


class XeroConnection(models.Model):
    """How the PSA reaches its Xero organisation: one row. The client secret and the
    refresh token are stored encrypted (`accounting.secrets`) and never shown back."""

    CUSTOM = "custom"  # a custom connection: the client-credentials grant, one organisation
    OAUTH = "oauth"  # the OAuth 2.0 code flow, with rotating refresh tokens

    auth = models.CharField(
        max_length=10,
        choices=[(CUSTOM, "Custom connection"), (OAUTH, "OAuth 2.0 (sign in to Xero)")],
        default=CUSTOM,
    )
    client_id = models.CharField(max_length=100, blank=True)
    client_secret = models.TextField(blank=True)  # encrypted
    refresh_token = models.TextField(blank=True)  # encrypted; rotates on each use
    tenant_id = models.CharField(max_length=64, blank=True)
    organisation_name = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(pk=1), name="xero_connection_single_row")]

    def __str__(self) -> str:
        return self.organisation_name or "Xero connection"


class XeroDocument(models.Model):
    """A sales invoice or bill the Xero connector created: what `find` and `remove`
    answer from, written as soon as Xero answers the create (a retried create carries
    the same Idempotency-Key, so Xero answers the same document again). A record Xero
    refused has a row without an invoice id, counting the refusals: the next create
    carries a new key, so that Xero tries it again instead of answering the refusal."""

    record_type = models.CharField(max_length=20)
    record_id = models.BigIntegerField()
    batch_identifier = models.CharField(max_length=50)
    invoice_id = models.CharField(max_length=64, blank=True)
    refusals = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    removed_at = models.DateTimeField(null=True, blank=True)
    removal = models.CharField(
        max_length=10, blank=True, choices=[("voided", "Voided"), ("deleted", "Deleted")]
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["record_type", "record_id", "batch_identifier"],
                name="xero_document_once_per_batch",
            )
        ]

    def __str__(self) -> str:
        return f"{self.record_type}:{self.record_id}@{self.batch_identifier}"
