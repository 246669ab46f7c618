"""Celery tasks: an interface like any other. A task receives ids, re-fetches and
calls one service."""

from celery import shared_task

from accounting import services


@shared_task(name="accounting.batch_transfer", acks_late=True, reject_on_worker_lost=True)
def batch_transfer(batch_id: int) -> str:
    return services.batch_transfer_run(batch_id=batch_id).transfer_state
