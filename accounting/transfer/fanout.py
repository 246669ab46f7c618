"""A big file transfer fanned out over the task workers.

A file transfer of more than TRANSFER_FANOUT_MIN records, run by a worker on a real
broker, is cut into parts by record order (kind by kind, then ranges of ids of
TRANSFER_PART_RECORDS records): `start` records the parts (`TransferPart`) and hands
each to the queue. Each part's task (`run_part`) writes the part's postings into a
part file in the shared storage (the workers must share MEDIA_ROOT) and stores the
part's transfer-log rows; a part delivered again (its worker was killed) clears its
own log rows and rewrites its file, and nothing else. The part that finishes last
(found under the batch's lock) joins the part files in order into the batch's file,
the same bytes a single process writes, and records the transfer done.

Every part renews the batch's lease under the holder of the run that cut it, and adds
its records written to the batch's progress (the sum over the parts). If no part runs
any more (every worker gone), the lease expires and the sweep marks the transfer
interrupted, as any other; its next run cuts the batch afresh, and parts of the
earlier run, still queued, find themselves no longer the batch's and do nothing.
"""

import io
import logging
import os
import shutil
import socket
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, BinaryIO, TextIO, cast

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import connection, transaction

from accounting import selectors
from accounting.exporters import get_exporter
from accounting.gl import AccountBook, Posting, fewer_collections
from accounting.locks import lock_batch
from accounting.models import GLBatch, TransferLog, TransferMethod, TransferPart, TransferState
from accounting.postables import batched_rows, kinds
from accounting.transfer.body import CHUNK, _chunks, _clear_unfinished_log, _LogWriter
from accounting.transfer.lease import Lease, LeaseLost
from accounting.transfer.run import _holds_lease, _record_failure, record_done

logger = logging.getLogger(__name__)

# Advisory lock keys: the batch's transfer lock is (4242, batch id).
JOIN_LOCK = 4243
PART_LOCK = 4244


def fans_out(batch: GLBatch, total: int) -> bool:
    """Whether a transfer of `total` records is cut into parts."""
    return (
        batch.transfer_method == TransferMethod.FILE
        and not batch.is_rerecord
        and total > settings.TRANSFER_FANOUT_MIN
        and connection.vendor == "postgresql"
    )


def start(batch: GLBatch, holder: str, *, dispatch: Callable[[int, str, int], None]) -> bool:
    """Cut a big file transfer into parts and hand each to the queue (`dispatch` with
    the batch id, the lease holder and the part's number); False, doing nothing, for a
    transfer that runs in one process. Parts and log rows of an earlier run go first."""
    counts, _total = selectors.batch_counts(batch)
    if not fans_out(batch, sum(counts.values())):
        return False
    _clear_unfinished_log(batch)
    _clear_parts(batch.pk)
    parts = [
        TransferPart(
            batch=batch,
            holder=holder,
            number=number,
            record_type=record_type,
            first_id=first_id,
            last_id=last_id,
            records=records,
        )
        for number, (record_type, first_id, last_id, records) in enumerate(
            _plan(batch, counts), start=1
        )
    ]
    TransferPart.objects.bulk_create(parts)
    for part in parts:
        dispatch(batch.pk, holder, part.number)
    logger.info("Transfer of GL batch %s cut into %d parts", batch.batch_identifier, len(parts))
    return True


def _plan(batch: GLBatch, counts: dict[str, int]) -> Iterator[tuple[str, int, int, int]]:
    """(kind, first id, last id, records) of each part, in the file's order: the
    kinds in order, each cut into as few ranges of ids as keep every part within
    TRANSFER_PART_RECORDS records, of even sizes (so that no small last part of a kind
    costs a task of its own for little work), found by the database in one pass over
    the kind's ids."""
    size = max(settings.TRANSFER_PART_RECORDS, 1)
    for kind in kinds():
        if not counts.get(kind.type):
            continue
        ids = batched_rows(kind, batch.pk).order_by().values("pk")
        sql, params = ids.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT min(pk), max(pk), count(*) FROM ("
                f"SELECT pk, ntile(%s) OVER (ORDER BY pk) AS part FROM ({sql}) AS r"
                ") AS numbered GROUP BY part ORDER BY part",
                [-(-counts[kind.type] // size), *params],
            )
            for first_id, last_id, records in cursor.fetchall():
                yield kind.type, first_id, last_id, records


def _parts_folder(batch_id: int) -> str:
    return f"batches/{batch_id}/parts"


def _part_name(part: TransferPart) -> str:
    return f"{_parts_folder(part.batch_id)}/{part.holder.rsplit(':', 1)[-1]}-{part.number:06d}"


def _clear_parts(batch_id: int) -> None:
    """The parts of an earlier run of the transfer, and their files."""
    TransferPart.objects.filter(batch_id=batch_id).delete()
    _clear_part_files(batch_id)


def _clear_part_files(batch_id: int) -> None:
    """The part files (once joined, the parts' rows stay: how many runs each took)."""
    folder = _parts_folder(batch_id)
    try:
        _dirs, files = default_storage.listdir(folder)
    except FileNotFoundError:
        return
    for name in files:
        default_storage.delete(f"{folder}/{name}")


def run_part(*, batch_id: int, holder: str, number: int) -> str:
    """Write one part of a fanned-out transfer (a part task's work); the part that
    finishes last joins the file and records the transfer done. Safe to run again (a
    redelivered part rewrites its file and replaces its own log rows) and side by side
    (a duplicate waits out the first). Answers what it did, for the worker's log."""
    part = TransferPart.objects.filter(batch_id=batch_id, holder=holder, number=number).first()
    if part is None:
        return "not this run's part"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [PART_LOCK, part.pk])
        if not cursor.fetchone()[0]:
            return "already running"
    try:
        if not part.finished:
            outcome = _write_and_finish(part)
            if outcome != "finished":
                return outcome
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [PART_LOCK, part.pk])
    if TransferPart.objects.filter(batch_id=batch_id, holder=holder, finished=False).exists():
        return "written"
    return _join(batch_id, holder)


def _write_and_finish(part: TransferPart) -> str:
    batch = GLBatch.objects.get(pk=part.batch_id)
    if batch.transfer_state != TransferState.RUNNING or batch.transfer_lease_holder != part.holder:
        return "not running"
    TransferPart.objects.filter(pk=part.pk).update(
        attempts=part.attempts + 1, worker=f"{socket.gethostname()[:60]}:{os.getpid()}"
    )
    lease = Lease(batch.pk)
    lease.holder = part.holder  # the parts renew the lease of the run that cut them
    try:
        _progress(part, 0, lease)  # what an earlier delivery wrote is written again
        with lease, fewer_collections():
            _write_part(batch, part, lease)
    except LeaseLost:
        # The batch is no longer this run's: its rows are the next run's to replace.
        return "lease lost"
    except Exception as error:
        with transaction.atomic():
            if _holds_lease(lock_batch(batch.pk), part.holder):
                _own_log_rows(part).delete()  # no file of the batch: nothing of it was sent
        if _record_failure(batch.pk, part.holder, error).transfer_state == TransferState.FAILED:
            # No file was made: nothing of the batch was sent, whatever other parts
            # logged (a chunk a part still stopping commits meanwhile does not count:
            # the transfer is not done, and its next run clears it).
            TransferLog.objects.filter(batch_id=batch.pk).delete()
        return "failed"
    with transaction.atomic():
        batch = lock_batch(batch.pk)  # parts finishing together take turns here
        if not _holds_lease(batch, part.holder):
            return "lease lost"
        TransferPart.objects.filter(pk=part.pk).update(finished=True)
        _progress(part, part.records, lease)
    return "finished"


def _own_log_rows(part: TransferPart):
    return TransferLog.objects.filter(
        batch_id=part.batch_id,
        record_type=part.record_type,
        record_id__gte=part.first_id,
        record_id__lte=part.last_id,
    )


def _part_postings(batch: GLBatch, part: TransferPart) -> Iterator[Posting]:
    kind = next(kind for kind in kinds() if kind.type == part.record_type)
    return kind.bulk_postings(
        batched_rows(kind, batch.pk),
        AccountBook(),
        chunk_size=CHUNK,
        between=(part.first_id, part.last_id),
    )


def _write_part(batch: GLBatch, part: TransferPart, lease: Lease) -> None:
    """The part's postings into its part file (the export file's layout, with the
    format's header rows, which the join drops from every part but the first), and its
    log rows, a chunk behind, as a single-process transfer stores them."""
    setup = selectors.accounting_setup()
    exporter = get_exporter(batch.export_format)
    _own_log_rows(part).delete()  # an earlier delivery's, killed before it finished
    written = 0

    def logged(log: _LogWriter) -> Iterator[Posting]:
        nonlocal written
        for chunk in _chunks(_part_postings(batch, part), CHUNK):
            log.write(chunk, {})
            yield from chunk
            written += len(chunk)
            _progress(part, written, lease)

    with (
        _stored_as(_part_name(part), "w", newline="", encoding="utf-8") as handle,
        _LogWriter(batch, chunks=-(-part.records // CHUNK), fresh=True) as log,
    ):
        exporter.write(
            logged(log),
            cast(TextIO, handle),
            batch_identifier=batch.batch_identifier,
            options=setup.options,
        )


@contextmanager
def _stored_as(name: str, mode: str, **options) -> Iterator[IO]:
    """A file written into the storage under `name`, replacing the one there (a part
    delivered again, a re-run's join), and only once it is complete. On a file system
    storage (the local or a shared MEDIA_ROOT) it is written in place, in the folder it
    goes to, and renamed over the name: no copy of its bytes. Any other storage gets a
    scratch file, saved under the name at the end."""
    path = _local_path(name)
    if path is None:
        with tempfile.TemporaryFile(mode + "+", **options) as handle:
            yield handle
            handle.flush()
            raw = cast(BinaryIO, getattr(handle, "buffer", handle))
            raw.seek(0)
            if default_storage.exists(name):
                default_storage.delete(name)
            saved = default_storage.save(name, File(raw))
            assert saved == name, f"{name} stored as {saved}"
        return
    folder = os.path.dirname(path)
    os.makedirs(folder, exist_ok=True)
    scratch = f"{path}.{os.getpid()}-{uuid.uuid4().hex[:8]}.partial"
    try:
        with open(scratch, mode, **options) as handle:
            yield handle
        permissions = getattr(default_storage, "file_permissions_mode", None)
        if permissions is not None:
            os.chmod(scratch, permissions)
        os.replace(scratch, path)
    finally:
        if os.path.exists(scratch):
            os.remove(scratch)


def _local_path(name: str) -> str | None:
    """Where `name` is on the file system, for a file system storage; None otherwise."""
    try:
        return default_storage.path(name)
    except NotImplementedError:
        return None


def _progress(part: TransferPart, written: int, lease: Lease) -> None:
    """The part's records written, and the batch's progress (the sum over its parts,
    never 100 before the file is joined) with its lease renewed; raises LeaseLost when
    the batch is no longer this run's. Committed without waiting for the disk, as a
    single-process transfer's reports are. The batch row is locked first, so that parts
    reporting at once take turns and each sum sees the others' committed counts."""
    parts, batches = TransferPart._meta.db_table, GLBatch._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit = off")
        cursor.execute(f"SELECT 1 FROM {batches} WHERE id = %s FOR UPDATE", [part.batch_id])
        cursor.execute(f"UPDATE {parts} SET written = %s WHERE id = %s", [written, part.pk])
        cursor.execute(
            f"UPDATE {batches} SET transfer_lease_until = %s, transfer_progress = LEAST(99, ("
            f"SELECT sum(written) * 100 / greatest(sum(records), 1) FROM {parts} "
            "WHERE batch_id = %s AND holder = %s)) "
            "WHERE id = %s AND transfer_state = %s AND transfer_lease_holder = %s",
            [
                lease.until(),
                part.batch_id,
                part.holder,
                part.batch_id,
                TransferState.RUNNING,
                part.holder,
            ],
        )
        if cursor.rowcount == 0:
            raise LeaseLost(f"GL batch id {part.batch_id}: lease lost")


def _join(batch_id: int, holder: str) -> str:
    """The part files, in order, into the batch's file (each part's header rows but
    the first part's dropped), then the transfer recorded done and the part files
    removed. Run by the part that finished last; a duplicate waits out the first."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [JOIN_LOCK, batch_id])
        if not cursor.fetchone()[0]:
            return "joined by another"
    try:
        batch = GLBatch.objects.get(pk=batch_id)
        if batch.transfer_state != TransferState.RUNNING or batch.transfer_lease_holder != holder:
            return "not running"
        lease = Lease(batch_id)
        lease.holder = holder
        try:
            with lease:
                _join_files(batch, holder)
        except Exception as error:
            _record_failure(batch_id, holder, error)
            return "failed"
        batch = record_done(batch_id, holder)
        if batch.transfer_state == TransferState.DONE:
            _clear_part_files(batch_id)
        return "joined"
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [JOIN_LOCK, batch_id])


def _join_files(batch: GLBatch, holder: str) -> None:
    """The part files, in order, into the batch's file; on a file system storage the
    kernel copies each part's bytes from its file into the joined one
    (`os.copy_file_range`), which Python never reads."""
    exporter = get_exporter(batch.export_format)
    parts = list(TransferPart.objects.filter(batch=batch, holder=holder).order_by("number"))
    name = f"batches/{batch.pk}/batch-{batch.pk}.{exporter.extension}"
    with _stored_as(name, "wb") as joined:
        for index, part in enumerate(parts):
            with default_storage.open(_part_name(part), "rb") as piece:
                if index:
                    for _ in range(exporter.header_lines):
                        piece.readline()
                _copy_rest(piece, joined)
    GLBatch.objects.filter(pk=batch.pk).update(file=name)


def _copy_rest(source: IO[bytes], target: IO[bytes]) -> None:
    """The rest of `source`, from where it has been read to, onto the end of `target`."""
    try:
        source_fd, target_fd = source.fileno(), target.fileno()
    except (AttributeError, OSError, io.UnsupportedOperation):
        shutil.copyfileobj(source, target, 1 << 20)
        return
    offset = source.tell()  # what readline() took, not what the buffer read ahead
    end = os.fstat(source_fd).st_size
    target.flush()
    try:
        while offset < end:
            copied = os.copy_file_range(source_fd, target_fd, end - offset, offset)
            if copied == 0:
                break
            offset += copied
    except OSError:  # a file system without it: copied through Python from there on
        source.seek(offset)
        shutil.copyfileobj(source, target, 1 << 20)
        return
    target.seek(0, os.SEEK_END)
