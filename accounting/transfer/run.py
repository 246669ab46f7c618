"""Running a batch's transfer: starting it under the batch's lock and lease, the
body's work, and recording it done or failed (what the user reads of a failure)."""

import logging
import uuid
from collections.abc import Callable

from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from accounting.audit import audit_batch
from accounting.locks import lock_batch
from accounting.models import BatchStatus, GLBatch, TransferState
from accounting.transfer.body import run_transfer
from accounting.transfer.lease import Lease, transfer_lock
from core.errors import ApplicationError

logger = logging.getLogger(__name__)


UNEXPECTED_ERROR = (
    "The transfer stopped on an unexpected error (reference {reference}); the details are "
    "in the server log. Retry it, or ask your administrator."
)


def transfer_error_text(error: Exception, reference: str) -> str:
    """What a user reads of a failed transfer. An ApplicationError's message is written
    for them; anything else (an OSError naming a server path, a parser quoting a file)
    stays in the server log, under the reference the sentence gives."""
    if isinstance(error, ApplicationError):
        return error.message[:2000]
    return UNEXPECTED_ERROR.format(reference=reference)


def batch_transfer_run(
    *, batch_id: int, fan_out: Callable[[GLBatch, str], bool] | None = None
) -> GLBatch:
    """Send a batch: write its export file or push it through the connector, and log
    each record sent. Safe to run twice or side by side: a finished batch is left
    alone, a duplicate waits out the first, and a record already logged (or already in
    the ledger) for this batch is not sent again. A failure is kept on the batch for
    the user to read and retry; it is not raised.

    The run holds a lease on the batch (`accounting.transfer.Lease`), renewed while it
    works; a run whose process dies stops renewing it, and the batch becomes
    interrupted once it expires. Only a queued or interrupted transfer (or a running one
    whose lease expired or was never taken) is started, and only the lease's holder
    marks the batch done or failed.

    `fan_out` (given by the task that runs it on a real broker) may cut a big file
    transfer into parts for the workers to write side by side
    (`accounting.transfer.fanout.start`); when it does, it answers True, the batch stays
    running under this run's lease holder, and the part that finishes last records it
    done."""
    with transfer_lock(batch_id) as acquired:
        if not acquired:
            return GLBatch.objects.get(pk=batch_id)
        lease = Lease(batch_id)
        with transaction.atomic():
            batch = lock_batch(batch_id)
            startable = batch.transfer_state in (TransferState.QUEUED, TransferState.INTERRUPTED)
            taken_over = batch.transfer_state == TransferState.RUNNING and (
                batch.transfer_lease_until is None or batch.lease_expired()
            )
            if batch.status == BatchStatus.DELETED or not (startable or taken_over):
                return batch
            batch.transfer_state = TransferState.RUNNING
            batch.transfer_started_at = timezone.now()
            batch.transfer_finished_at = None
            batch.transfer_progress = 0
            batch.transfer_error = ""
            batch.transfer_lease_holder = lease.holder
            batch.transfer_lease_until = lease.until()
            batch.transfer_attempts = min(batch.transfer_attempts + 1, 32767)
            batch.save(
                update_fields=[
                    "transfer_state",
                    "transfer_started_at",
                    "transfer_finished_at",
                    "transfer_progress",
                    "transfer_error",
                    "transfer_lease_holder",
                    "transfer_lease_until",
                    "transfer_attempts",
                ]
            )
        try:
            if fan_out is not None and fan_out(batch, lease.holder):
                return batch
            with lease:
                run_transfer(batch, progress=lease.progress)
        except Exception as error:
            return _record_failure(batch_id, lease.holder, error)
        return record_done(batch_id, lease.holder)


def record_done(batch_id: int, holder: str) -> GLBatch:
    """Mark the batch's transfer done, if `holder` still holds its lease."""
    with transaction.atomic():
        batch = lock_batch(batch_id)
        if not _holds_lease(batch, holder):
            return batch
        batch.transfer_state = TransferState.DONE
        batch.transfer_progress = 100
        batch.transfer_finished_at = timezone.now()
        batch.transfer_lease_until = None
        batch.save(
            update_fields=[
                "transfer_state",
                "transfer_progress",
                "transfer_finished_at",
                "transfer_lease_until",
            ]
        )
        audit_batch(
            actor=None,
            action="transfer_done",
            batch=batch,
            changes={"method": batch.transfer_method},
        )
    return batch


def _holds_lease(batch: GLBatch, holder: str) -> bool:
    """Whether this run still holds the (locked) batch's lease: one that lost it (it
    expired and another run or a person took the batch over) records nothing."""
    if batch.transfer_state == TransferState.RUNNING and batch.transfer_lease_holder == holder:
        return True
    logger.warning(
        "Transfer of GL batch %s lost its lease (now %s, held by %s); its outcome is not recorded",
        batch.batch_identifier,
        batch.transfer_state,
        batch.transfer_lease_holder or "nobody",
    )
    return False


def _record_failure(batch_id: int, holder: str, error: Exception) -> GLBatch:
    """Keep a failed run's reason on the batch (in the product's words) and the detail in
    the server log, under one reference. A run that lost its database connection
    records the failure on a new one; if even that fails, the error is raised and the
    batch becomes interrupted once its lease expires."""
    reference = uuid.uuid4().hex[:8]
    logger.error(
        "Transfer of GL batch id %s failed (reference %s)",
        batch_id,
        reference,
        exc_info=(type(error), error, error.__traceback__),
    )
    message = transfer_error_text(error, reference)
    for attempt in (1, 2):
        try:
            with transaction.atomic():
                batch = lock_batch(batch_id)
                if not _holds_lease(batch, holder):
                    return batch
                batch.transfer_state = TransferState.FAILED
                batch.transfer_error = message
                batch.transfer_finished_at = timezone.now()
                batch.transfer_lease_until = None
                batch.save(
                    update_fields=[
                        "transfer_state",
                        "transfer_error",
                        "transfer_finished_at",
                        "transfer_lease_until",
                    ]
                )
                audit_batch(
                    actor=None,
                    action="transfer_failed",
                    batch=batch,
                    changes={"error": message, "reference": reference},
                )
            return batch
        except DatabaseError:
            if attempt == 2 or connection.in_atomic_block:
                raise
            connection.close()  # a dropped connection: the next statement opens a new one
    raise AssertionError("unreachable")
