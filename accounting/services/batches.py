"""Steps on a whole GL batch: delete, close, reopen, and retry its transfer."""

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from accounting import selectors, tasks, transfer
from accounting.audit import audit_batch, audit_batch_records
from accounting.locks import lock_batch
from accounting.models import BatchStatus, GLBatch, TransferState
from accounting.postables import batched_rows, kinds
from accounting.services.common import refuse_while_transferring
from core.errors import ApplicationError


def _refuse_unbatched_items(batch: GLBatch, doing: str) -> None:
    outside = selectors.batch_unbatched_refs(batch)
    if not outside:
        return
    names = ", ".join(ref.reference for ref in outside[:5])
    more = f" and {len(outside) - 5} more" if len(outside) > 5 else ""
    raise ApplicationError(
        f"GL batch {batch.batch_identifier} cannot be {doing}: {names}{more} "
        f"{'was' if len(outside) == 1 else 'were'} unbatched from it and "
        f"{'is' if len(outside) == 1 else 'are'} still outside it. Rebatch "
        f"{'it' if len(outside) == 1 else 'them'} first (MORE > Rebatch).",
        code="batch_has_unbatched_items",
        extra={"items": [ref.as_item() for ref in outside]},
    )


def _refuse_unless_open(batch: GLBatch, doing: str) -> None:
    if batch.status == BatchStatus.DELETED:
        raise ApplicationError(
            f"GL batch {batch.batch_identifier} was deleted already.", code="batch_not_open"
        )
    if batch.status == BatchStatus.CLOSED:
        raise ApplicationError(
            f"GL batch {batch.batch_identifier} is closed and cannot be {doing}. An "
            "administrator can reopen it.",
            code="batch_not_open",
        )


@transaction.atomic
def batch_delete(*, actor: User, batch_id: int) -> GLBatch:
    """Every record of the batch becomes unposted again; the batch keeps its history and
    frees its identifier. Unposted records that were never in it are not touched."""
    batch = lock_batch(batch_id)
    _refuse_unless_open(batch, "deleted")
    refuse_while_transferring(batch, "its records", "batch_not_open")
    _refuse_unbatched_items(batch, "deleted")
    event = audit_batch(actor=actor, action="batch_deleted", batch=batch)
    counts = {}
    for kind in kinds():
        # The links keep which records the batch let go (for the split of what changed).
        audit_batch_records(event, kind, batch.pk)
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
    _refuse_unless_open(batch, "closed")
    if batch.transfer_state != TransferState.DONE:
        raise ApplicationError(
            f"GL batch {batch.batch_identifier} has not been transferred (its transfer is "
            f"{batch.transfer_state}). Wait for the transfer, or retry it, before closing.",
            code="invalid_transition",
        )
    _refuse_unbatched_items(batch, "closed")
    batch.status = BatchStatus.CLOSED
    batch.closed_at = timezone.now()
    batch.closed_by = actor
    batch.save(update_fields=["status", "closed_at", "closed_by"])
    audit_batch(actor=actor, action="batch_closed", batch=batch)
    return batch


@transaction.atomic
def batch_reopen(*, actor: User, batch_id: int) -> GLBatch:
    """An administrator's way back from closing a batch by mistake."""
    if not actor.has_perm("accounting.reopen_glbatch"):
        raise ApplicationError(
            "Only an administrator can reopen a closed GL batch.",
            code="permission_denied",
            status_code=403,
        )
    batch = lock_batch(batch_id)
    if batch.status != BatchStatus.CLOSED:
        raise ApplicationError(
            f"GL batch {batch.batch_identifier} is {batch.status}; only a closed batch can be "
            "reopened.",
            code="invalid_transition",
        )
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
    state = batch.current_transfer_state
    retryable = (TransferState.FAILED, TransferState.INTERRUPTED)
    if state not in retryable or batch.status == BatchStatus.DELETED:
        raise ApplicationError(
            f"GL batch {batch.batch_identifier}'s transfer is {state}; only a failed or "
            "interrupted transfer can be retried.",
            code="invalid_transition",
        )
    transfer.requeue(batch, actor=actor, action="transfer_retried", changes={"state": state})
    tasks.queue_transfer(batch)
    return batch
