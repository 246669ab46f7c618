"""GL batches, their states and transfer methods, and the transfer log of what
each sent."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounting.models.setup import ExportFormat, Package


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


class FormerState(models.IntegerChoices):
    UNCHANGED = 0, "unchanged"
    CHANGED = 1, "changed"
    NOT_SENT = 2, "not sent"


class FormerRecord(models.Model):
    """A record a deleted batch let go, and whether it still matches what the batch sent:
    the batch's split, computed once by one INSERT ... SELECT when the batch is deleted
    (`accounting.former`) and kept up to date by the record's own steps (an edit moves it
    from unchanged to changed). A deleted batch's page and its re-record read it."""

    # The primary key pages a part of the split in order, and finds one record's row in
    # a batch; a record's rows across batches are found through its audit links.
    pk = models.CompositePrimaryKey("batch", "state", "record_type", "record_id")
    # No database constraint: the rows are written in the transaction that deletes the
    # batch, and a batch is never deleted from the table.
    batch = models.ForeignKey(
        GLBatch, on_delete=models.PROTECT, related_name="+", db_constraint=False, db_index=False
    )
    state = models.PositiveSmallIntegerField(choices=FormerState.choices)
    record_type = models.CharField(max_length=20)
    record_id = models.BigIntegerField()
    sent_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.record_type} {self.record_id} of batch {self.batch_id}: {self.state}"


class FormerCount(models.Model):
    """How many former records of a deleted batch's split are in a state, per record
    type: written with the split at the delete (from the counts of its INSERT) and moved
    with it by an edit (`accounting.former.record_changed`), so a deleted batch's page
    reads its parts' counts from a few rows, whatever the batch's size."""

    pk = models.CompositePrimaryKey("batch", "state", "record_type")
    # No database constraint: as FormerRecord's.
    batch = models.ForeignKey(
        GLBatch, on_delete=models.PROTECT, related_name="+", db_constraint=False, db_index=False
    )
    state = models.PositiveSmallIntegerField(choices=FormerState.choices)
    record_type = models.CharField(max_length=20)
    records = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"{self.records} {self.record_type} of batch {self.batch_id}: {self.state}"


class TransferPart(models.Model):
    """One part of a big file transfer fanned out over the task workers
    (`accounting.transfer.fanout`): the batch's records of one kind with ids from
    `first_id` to `last_id`, written by one task into a part file of their own, then
    joined in order into the batch's file. `holder` is the lease holder of the run that
    cut the batch into these parts: a part of an earlier run is never taken up."""

    batch = models.ForeignKey(
        GLBatch, on_delete=models.CASCADE, related_name="transfer_parts", db_constraint=False
    )
    holder = models.CharField(max_length=100)
    number = models.PositiveIntegerField()
    record_type = models.CharField(max_length=30)
    first_id = models.BigIntegerField()
    last_id = models.BigIntegerField()
    records = models.PositiveIntegerField()
    # Records written so far: the batch's progress is the sum over its parts.
    written = models.PositiveIntegerField(default=0)
    # Runs of this part: more than one after its worker was killed and the part
    # delivered again.
    attempts = models.PositiveSmallIntegerField(default=0)
    # The process writing it (host:pid), for the server's administrator.
    worker = models.CharField(max_length=100, blank=True, default="")
    finished = models.BooleanField(default=False)

    class Meta:
        ordering = ["batch", "number"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "number"], name="transfer_part_once_per_batch")
        ]

    def __str__(self) -> str:
        return f"part {self.number} of {self.batch}"
