"""Queueing a transfer again: after a person's retry, and by the sweep the beat runs
so that no transfer stays stuck."""

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounting.audit import audit_batch
from accounting.locks import lock_batch
from accounting.models import BatchStatus, GLBatch, TransferState

logger = logging.getLogger(__name__)


def requeue(batch: GLBatch, *, actor, action: str, changes: dict[str, Any]) -> None:
    """Mark a locked batch's transfer queued again, for the caller to hand to the queue
    (`accounting.tasks.queue_transfer`); a person's retry starts the sweep's count of
    automatic retries afresh."""
    if batch.transfer_error:
        changes = {**changes, "error": batch.transfer_error}
    batch.transfer_state = TransferState.QUEUED
    batch.transfer_progress = 0
    batch.transfer_queued_at = timezone.now()
    batch.transfer_lease_until = None
    fields = ["transfer_state", "transfer_progress", "transfer_queued_at", "transfer_lease_until"]
    if actor is not None:
        batch.transfer_attempts = 0
        fields.append("transfer_attempts")
    batch.save(update_fields=fields)
    audit_batch(actor=actor, action=action, batch=batch, changes=changes)


def not_handed_over(batch: GLBatch) -> None:
    """The queue could not be reached: the batch stays queued with its queued time left
    empty, which the page shows, and the sweep hands it over later."""
    GLBatch.objects.filter(pk=batch.pk, transfer_state=TransferState.QUEUED).update(
        transfer_queued_at=None
    )
    batch.transfer_queued_at = None


def transfer_sweep(*, queue: Callable[[GLBatch], None]) -> dict[str, int]:
    """Run every few minutes by the beat, so that no transfer stays stuck:

    - a running transfer whose lease expired is marked interrupted (its process died:
      killed, or cut off from the database);
    - an interrupted transfer of an open batch is queued again, up to
      TRANSFER_AUTO_RETRIES automatic runs; after that it waits for Finance's Retry;
    - a batch queued TRANSFER_REQUEUE_AFTER_SECONDS ago and still not started (a lost
      message), or never handed to the queue (the broker was down), is handed over
      again.

    Each batch is taken under its lock and checked again, so two sweeps, or a sweep and
    a person's retry, do not queue it twice; a duplicate message would find the batch's
    transfer lock taken or the batch done anyway. `queue` hands a batch to the queue once
    its change is committed (`accounting.tasks.queue_transfer`)."""
    now = timezone.now()
    counts = {"interrupted": 0, "requeued": 0, "handed_over": 0}
    for batch_id in GLBatch.objects.filter(
        transfer_state=TransferState.RUNNING, transfer_lease_until__lt=now
    ).values_list("pk", flat=True):
        with transaction.atomic():
            batch = lock_batch(batch_id)
            if batch.lease_expired():
                batch.transfer_state = TransferState.INTERRUPTED
                batch.save(update_fields=["transfer_state"])
                audit_batch(
                    actor=None,
                    action="transfer_interrupted",
                    batch=batch,
                    changes={
                        "holder": batch.transfer_lease_holder,
                        "lease_until": batch.transfer_lease_until
                        and batch.transfer_lease_until.isoformat(),
                        "progress": batch.transfer_progress,
                    },
                )
                counts["interrupted"] += 1
    for batch_id in GLBatch.objects.filter(
        transfer_state=TransferState.INTERRUPTED,
        status=BatchStatus.OPEN,
        transfer_attempts__lte=settings.TRANSFER_AUTO_RETRIES,
    ).values_list("pk", flat=True):
        with transaction.atomic():
            batch = lock_batch(batch_id)
            if batch.transfer_state == TransferState.INTERRUPTED and batch.is_open():
                requeue(
                    batch,
                    actor=None,
                    action="transfer_requeued",
                    changes={"state": "interrupted", "attempts": batch.transfer_attempts},
                )
                queue(batch)
                counts["requeued"] += 1
    stale = now - timedelta(seconds=settings.TRANSFER_REQUEUE_AFTER_SECONDS)
    for batch_id in (
        GLBatch.objects.filter(
            Q(transfer_queued_at__isnull=True) | Q(transfer_queued_at__lt=stale),
            transfer_state=TransferState.QUEUED,
        )
        .exclude(status=BatchStatus.DELETED)
        .values_list("pk", flat=True)
    ):
        with transaction.atomic():
            batch = lock_batch(batch_id)
            queued_at = batch.transfer_queued_at
            if batch.transfer_state == TransferState.QUEUED and (
                queued_at is None or queued_at < stale
            ):
                batch.transfer_queued_at = timezone.now()
                batch.save(update_fields=["transfer_queued_at"])
                queue(batch)
                counts["handed_over"] += 1
    if any(counts.values()):
        logger.info("Transfer sweep: %s", counts)
    return counts
