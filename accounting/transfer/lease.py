"""What keeps one transfer of a batch running at a time and lets a dead one be taken
up again: the batch's advisory lock, and the lease a running transfer holds on it."""

import logging
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from accounting.models import GLBatch, TransferState

logger = logging.getLogger(__name__)


@contextmanager
def transfer_lock(batch_id: int) -> Iterator[bool]:
    """Hold a session-level PostgreSQL advisory lock for one batch's transfer, so a
    duplicated task does not run beside the first. (SQLite runs tasks inline, one at
    a time.)"""
    if connection.vendor != "postgresql":
        yield True
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [4242, batch_id])
        acquired = cursor.fetchone()[0]
    try:
        yield acquired
    finally:
        if acquired:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [4242, batch_id])


class LeaseLost(Exception):
    """The batch's lease went to another run (or to a person's step) while this run
    worked: it must stop and record nothing."""


class Lease:
    """A running transfer's claim on its batch: `transfer_lease_holder` names this
    process, `transfer_lease_until` says until when it counts. The run renews it with
    each progress report, and a thread of its own renews it every third of its length,
    so that a long chunk (a slow package) does not let it lapse. A process that dies
    stops renewing it: once it has expired, the batch is interrupted, which Finance can
    retry and the transfer sweep queues again.

    Inside a transaction (a caller's, a test's), only the progress reports renew it: a
    thread's connection would wait on the caller's lock of the batch."""

    def __init__(self, batch_id: int) -> None:
        self.batch_id = batch_id
        self.seconds = settings.TRANSFER_LEASE_SECONDS
        self.holder = f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        self.lost = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def until(self):
        return timezone.now() + timedelta(seconds=self.seconds)

    def _renew(self, **fields) -> bool:
        return bool(
            GLBatch.objects.filter(
                pk=self.batch_id,
                transfer_state=TransferState.RUNNING,
                transfer_lease_holder=self.holder,
            ).update(transfer_lease_until=self.until(), **fields)
        )

    def progress(self, percent: int) -> None:
        """Store the percentage done and renew the lease; raises LeaseLost when the
        lease is no longer this run's. Committed without waiting for the disk: a lost
        report costs nothing but a stale percentage."""
        if self.lost:
            raise LeaseLost(f"GL batch id {self.batch_id}: lease lost")
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL synchronous_commit = off")
            if not self._renew(transfer_progress=percent):
                self.lost = True
                raise LeaseLost(f"GL batch id {self.batch_id}: lease lost")

    def _keep_renewed(self) -> None:
        try:
            while not self._stop.wait(max(self.seconds / 3, 0.2)):
                if not self._renew():
                    self.lost = True
                    return
        except Exception:
            # The run goes on; if it cannot renew its lease either, the batch becomes
            # interrupted and is taken up again.
            logger.exception("Could not renew the lease of GL batch id %s", self.batch_id)
        finally:
            connection.close()  # this thread's own connection

    def __enter__(self) -> "Lease":
        if connection.vendor == "postgresql" and not connection.in_atomic_block:
            self._thread = threading.Thread(
                target=self._keep_renewed, name="transfer-lease", daemon=True
            )
            self._thread.start()
        return self

    def __exit__(self, *error) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
