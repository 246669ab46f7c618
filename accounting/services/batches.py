"""Steps on a whole GL batch: delete, close, reopen, and retry its transfer."""

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from accounting import tasks, transfer
from accounting.audit import audit_batch, audit_batch_records
from accounting.former import store_split
from accounting.locks import lock_batch
from accounting.models import BatchStatus, GLBatch
from accounting.postables import batched_rows, kinds
from accounting.steps import (
    close_refusal,
    delete_refusal,
    refuse,
    reopen_permission_refusal,
    reopen_refusal,
    retry_refusal,
)


@transaction.atomic
def batch_delete(*, actor: User, batch_id: int) -> GLBatch:
    """Every record of the batch becomes unposted again; the batch keeps its history and
    frees its identifier. Unposted records that were never in it are not touched."""
    batch = lock_batch(batch_id)
    refuse(delete_refusal(batch))
    event = audit_batch(actor=actor, action="batch_deleted", batch=batch)
    counts = {}
    for kind in kinds():
        # The links keep which records the batch let go (each one's audit trail); the
        # split stores whether each still matches what the batch sent (its page, a
        # re-record), both while the records are still in the batch.
        audit_batch_records(event, kind, batch.pk)
        store_split(batch, kind)
        counts[kind.type] = batched_rows(kind, batch.pk).update(**{kind.batch_field: None})
    batch.status = BatchStatus.DELETED
    batch.deleted_at = timezone.now()
    batch.deleted_by = actor
    batch.save(update_fields=["status", "deleted_at", "deleted_by"])
    event.changes = {"counts": counts}
    event.save(update_fields=["changes"])
    return batch


@transaction.atomic
def batch_close(*, actor: User, batch_id: int) -> GLBatch:
    batch = lock_batch(batch_id)
    refuse(close_refusal(batch))
    batch.status = BatchStatus.CLOSED
    batch.closed_at = timezone.now()
    batch.closed_by = actor
    batch.save(update_fields=["status", "closed_at", "closed_by"])
    audit_batch(actor=actor, action="batch_closed", batch=batch)
    return batch


@transaction.atomic
def batch_reopen(*, actor: User, batch_id: int) -> GLBatch:
    """An administrator's way back from closing a batch by mistake."""
    # The role is checked before any lock: a caller who may not reopen waits for nothing.
    refuse(reopen_permission_refusal(actor))
    batch = lock_batch(batch_id)
    refuse(reopen_refusal(batch, actor))
    batch.status = BatchStatus.OPEN
    batch.closed_at = None
    batch.closed_by = None
    batch.save(update_fields=["status", "closed_at", "closed_by"])
    audit_batch(actor=actor, action="batch_reopened", batch=batch)
    return batch


@transaction.atomic
def batch_retry(*, actor: User, batch_id: int) -> GLBatch:
    """Queue a failed or interrupted transfer again (an interrupted one is a running
    transfer whose lease expired: its process is gone)."""
    batch = lock_batch(batch_id)
    refuse(retry_refusal(batch))
    state = batch.current_transfer_state
    transfer.requeue(batch, actor=actor, action="transfer_retried", changes={"state": state})
    tasks.queue_transfer(batch)
    return batch
