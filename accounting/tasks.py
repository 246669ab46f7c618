"""Celery tasks: an interface like any other. A task receives ids, re-fetches and
calls the transfer (`accounting.transfer`). `queue_transfer` is how the batch workflows
and the sweep hand a transfer to the queue."""

import logging

from celery import shared_task
from django.db import transaction
from kombu.exceptions import OperationalError as BrokerUnavailable

from accounting import payments, reconciliation, selectors, transfer
from accounting.connectors import reads_back
from accounting.models import GLBatch, Reconciliation

logger = logging.getLogger(__name__)


@shared_task(name="accounting.batch_transfer", acks_late=True, reject_on_worker_lost=True)
def batch_transfer(batch_id: int) -> str:
    # On a real broker a big file transfer is cut into parts for the workers; run
    # inline (no broker), it runs in one process as always.
    fan_out = None if batch_transfer.app.conf.task_always_eager else _fan_out
    return transfer.batch_transfer_run(batch_id=batch_id, fan_out=fan_out).transfer_state


def _fan_out(batch: GLBatch, holder: str) -> bool:
    return transfer.fanout.start(batch, holder, dispatch=_queue_part)


def _queue_part(batch_id: int, holder: str, number: int) -> None:
    transfer_part.delay(batch_id, holder, number)


@shared_task(name="accounting.transfer_part", acks_late=True, reject_on_worker_lost=True)
def transfer_part(batch_id: int, holder: str, number: int) -> str:
    """One part of a fanned-out file transfer (`accounting.transfer.fanout`): delivered
    again if its worker dies, it rewrites only its own part."""
    return transfer.fanout.run_part(batch_id=batch_id, holder=holder, number=number)


@shared_task(name="accounting.transfer_sweep", acks_late=False, ignore_result=True)
def transfer_sweep() -> dict[str, int]:
    """Run by the beat: marks interrupted transfers and queues them again, and hands
    long-queued batches to the queue again."""
    return transfer.transfer_sweep(queue=queue_transfer)


def queue_transfer(batch: GLBatch) -> None:
    """Hand the transfer to the queue once the batch is committed. A broker that cannot
    be reached does not undo the step: the batch stays queued (its queued time left
    empty, which the page shows), and the transfer sweep hands it over later."""
    batch_id = batch.pk

    def hand_over() -> None:
        if not queue_batch_transfer(batch_id):
            transfer.not_handed_over(batch)

    transaction.on_commit(hand_over)


def queue_batch_transfer(batch_id: int) -> bool:
    """Hand a batch's transfer to the queue; False when the broker cannot be reached.
    The batch stays queued, and the sweep hands it over once the broker is back."""
    try:
        batch_transfer.delay(batch_id)
    except (BrokerUnavailable, ConnectionError, TimeoutError):
        logger.exception(
            "The task queue is unreachable; GL batch id %s stays queued until the transfer "
            "sweep hands it over",
            batch_id,
        )
        return False
    return True


@shared_task(name="accounting.reconciliation_run", acks_late=True, reject_on_worker_lost=True)
def reconciliation_run(reconciliation_id: int) -> str:
    return reconciliation.reconciliation_run(reconciliation_id=reconciliation_id).state


@shared_task(name="accounting.books_check_nightly", acks_late=False, ignore_result=True)
def books_check_nightly() -> int | None:
    """Run by the beat (BOOKS_CHECK_HOUR, BOOKS_CHECK_MINUTE): a books check of
    everything, when the setup transfers through a connector."""
    run = reconciliation.nightly_reconciliation()
    if run is None:
        return None
    reconciliation.reconciliation_run(reconciliation_id=run.pk)
    return run.pk


def queue_reconciliation(run: Reconciliation) -> None:
    """Hand a books check to the queue once its run is committed. A broker that cannot
    be reached leaves the run queued; starting another one is the way out."""
    run_id = run.pk

    def hand_over() -> None:
        try:
            reconciliation_run.delay(run_id)
        except (BrokerUnavailable, ConnectionError, TimeoutError):
            logger.exception("The task queue is unreachable; books check %s stays queued", run_id)

    transaction.on_commit(hand_over)


@shared_task(name="accounting.payments_refresh", acks_late=False, ignore_result=True)
def payments_refresh() -> dict[str, int] | None:
    """Run by the beat (PAYMENTS_REFRESH_SECONDS): payments back from the package, when
    the setup transfers through a connector."""
    if not reads_back(selectors.accounting_setup().package):
        return None
    return payments.payments_refresh(actor=None)
