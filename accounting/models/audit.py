"""The audit trail: audit events, and the records a batch-level event moved."""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models

from accounting.models.batches import GLBatch


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
    """A record that a batch-level audit event moved, as batch steps wrote them before
    `AuditRecordSet`: one narrow row per record. Kept, and read beside the sets, for the
    events sealed with them (their hash covers these rows); new steps write sets."""

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


class AuditRecordSet(models.Model):
    """The records of one kind that a batch-level audit event moved (each record a batch
    took, let go or re-recorded): their ids, sorted, in one array. A batch step writes
    one audit event and one row per kind, filled by one `INSERT ... SELECT array_agg`;
    a record's audit trail finds its batch steps by the GIN index
    (`record_ids @> ARRAY[id]`, and the record type)."""

    pk = models.CompositePrimaryKey("event", "record_type")
    # No database constraint: the rows are written in the transaction that creates their
    # event, and audit events are never deleted.
    event = models.ForeignKey(
        AuditEvent,
        on_delete=models.PROTECT,
        related_name="record_sets",
        db_constraint=False,
        db_index=False,  # the primary key leads with it
    )
    record_type = models.CharField(max_length=20)
    record_ids = ArrayField(models.BigIntegerField())

    class Meta:
        # Built by migration 0021 (concurrently); no pending list, so a record's trail
        # never scans one: a batch step's entries go into the index as it writes them.
        indexes = [GinIndex(fields=["record_ids"], name="audit_set_ids", fastupdate=False)]

    def __str__(self) -> str:
        return f"{len(self.record_ids)} {self.record_type} records in event {self.event_id}"
