"""The body of a transfer: the batch's postings, streamed into an export file or
through a connector, and one transfer-log row per record sent."""

import json
import logging
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.core.files import File
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.utils import timezone

from accounting import selectors
from accounting.connectors import get_connector
from accounting.exporters import get_exporter
from accounting.gl import AccountBook, Posting
from accounting.models import AccountingSetup, GLBatch, TransferLog, TransferMethod
from accounting.postables import batched_rows, kinds

logger = logging.getLogger(__name__)
CHUNK = 2000


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


def batch_postings(batch: GLBatch) -> Iterator[Posting]:
    book = AccountBook()
    for kind in kinds():
        yield from kind.bulk_postings(batched_rows(kind, batch.pk), book, chunk_size=CHUNK)


LOG_COLUMNS = (
    "batch_id",
    "record_type",
    "record_id",
    "reference",
    "package",
    "method",
    "export_format",
    "gl_lines",
    "fingerprint",
    "external_reference",
    "sent_at",
    "removal",
)


def _log_rows(batch: GLBatch, postings: list[Posting], references: dict) -> None:
    """One transfer-log row per record; a row the batch already has (a redelivered
    task) is left as it is."""
    now = timezone.now()
    export_format = batch.export_format if batch.transfer_method == "file" else ""
    rows = [
        (
            batch.pk,
            p.header.type,
            p.header.id,
            p.header.reference,
            batch.package,
            batch.transfer_method,
            export_format,
            p.lines_json(),
            p.fingerprint(),
            references.get((p.header.type, p.header.id), ""),
            now,
            "",
        )
        for p in postings
    ]
    if connection.vendor != "postgresql":
        TransferLog.objects.bulk_create(
            [TransferLog(**dict(zip(LOG_COLUMNS, row, strict=True))) for row in rows],
            ignore_conflicts=True,
        )
        return
    # COPY into a scratch table, then one INSERT that skips rows already there: a
    # fraction of the cost of a multi-row INSERT with a parameter per value.
    table, columns = TransferLog._meta.db_table, ", ".join(LOG_COLUMNS)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS incoming_transfer_log ON COMMIT DELETE ROWS AS "
            f"SELECT {columns} FROM {table} WITH NO DATA"
        )
        with cursor.copy(f"COPY incoming_transfer_log ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row((*row[:7], json.dumps(row[7]), *row[8:]))
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT {columns} FROM incoming_transfer_log "
            "ON CONFLICT DO NOTHING"
        )


def _chunks(postings: Iterator[Posting], size: int) -> Iterator[list[Posting]]:
    chunk: list[Posting] = []
    for posting in postings:
        chunk.append(posting)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class _Progress:
    def __init__(self, total: int, report: Callable[[int], None]) -> None:
        self.total, self.done, self.report, self.last = max(total, 1), 0, report, -1

    def advance(self, count: int) -> None:
        self.done += count
        percent = min(99, self.done * 100 // self.total)
        if percent != self.last:
            self.last = percent
            self.report(percent)


def run_transfer(batch: GLBatch, progress: Callable[[int], None]) -> None:
    setup = AccountingSetup.objects.get(pk=1)
    counts, _total = selectors.batch_counts(batch)
    tracker = _Progress(sum(counts.values()), progress)
    if batch.transfer_method == TransferMethod.DIRECT and not batch.is_rerecord:
        _send_direct(batch, setup, tracker)
    else:
        _write_file(batch, setup, tracker)


def _write_file(batch: GLBatch, setup: AccountingSetup, tracker: _Progress) -> None:
    exporter = get_exporter(batch.export_format)

    def logged() -> Iterator[Posting]:
        for chunk in _chunks(batch_postings(batch), CHUNK):
            if not batch.is_rerecord:  # a re-record sends nothing: no new log rows
                _log_rows(batch, chunk, {})
            yield from chunk
            tracker.advance(len(chunk))

    name = f"batches/{batch.pk}/{batch.batch_identifier}.{exporter.extension}"
    with tempfile.TemporaryFile("w+", newline="", encoding="utf-8") as handle:
        try:
            exporter.write(
                logged(), handle, batch_identifier=batch.batch_identifier, options=setup.options
            )
        except Exception:
            # No file was made, so nothing was sent: the log must not say otherwise.
            TransferLog.objects.filter(batch=batch).delete()
            raise
        handle.seek(0)
        if default_storage.exists(name):  # a re-run replaces, never adds, the file
            default_storage.delete(name)
        stored = default_storage.save(
            name, File(handle.buffer if hasattr(handle, "buffer") else handle)
        )
    GLBatch.objects.filter(pk=batch.pk).update(file=stored)


def _send_direct(batch: GLBatch, setup: AccountingSetup, tracker: _Progress) -> None:
    connector = get_connector(batch.package, setup.options)
    # Originals of records sent again: the connector removes them itself.
    for (record_type, record_id), sends in selectors.live_sends_in_batch(batch).items():
        for send in sends:
            connector.remove(
                record_type=record_type,
                record_id=record_id,
                batch_identifier=send["batch_identifier"],
            )
        TransferLog.objects.filter(pk__in=[s["log_id"] for s in sends]).update(
            removed_at=timezone.now(), removal="connector", replaced_by=batch
        )
    for chunk in _chunks(batch_postings(batch), CHUNK):
        references = connector.send(chunk, batch_identifier=batch.batch_identifier)
        _log_rows(batch, chunk, references)
        tracker.advance(len(chunk))
