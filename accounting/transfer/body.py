"""The body of a transfer: the batch's postings, streamed into an export file or
through a connector, and one transfer-log row per record sent."""

import logging
import tempfile
from collections.abc import Callable, Iterator
from concurrent import futures
from concurrent.futures import Future, ThreadPoolExecutor
from typing import BinaryIO, cast

from django.core.files import File
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.utils import timezone

from accounting import selectors
from accounting.audit import audit_batch
from accounting.connectors import Connector, get_connector
from accounting.exporters import get_exporter
from accounting.gl import AccountBook, Posting, fewer_collections
from accounting.models import AccountingSetup, GLBatch, TransferLog, TransferMethod
from accounting.postables import batched_rows, kinds
from core.errors import ApplicationError

logger = logging.getLogger(__name__)
CHUNK = 2000


def batch_postings(batch: GLBatch, counts: dict[str, int]) -> Iterator[Posting]:
    """The postings of the batch's records, kind by kind; `counts` per kind skips the
    kinds the batch has none of."""
    book = AccountBook()
    for kind in kinds():
        if counts.get(kind.type):
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


def _log_rows(batch: GLBatch, postings: list[Posting], references: dict, *, fresh: bool) -> None:
    """One transfer-log row per record. `fresh`: the batch had no log rows when the
    transfer started, so none of these records can be logged yet; otherwise (a
    redelivered task) a row the batch already has is left as it is."""
    if connection.vendor == "postgresql":
        _copy_log(batch, _copy_text(batch, postings, references), fresh=fresh)
        return
    now = timezone.now()
    package, method, export_format = _where_sent(batch)
    TransferLog.objects.bulk_create(
        [
            TransferLog(
                batch_id=batch.pk,
                record_type=p.header.type,
                record_id=p.header.id,
                reference=p.header.reference,
                package=package,
                method=method,
                export_format=export_format,
                gl_lines=p.lines_json(),
                fingerprint=p.fingerprint(),
                external_reference=references.get((p.header.type, p.header.id), ""),
                sent_at=now,
                removal="",
            )
            for p in postings
        ],
        ignore_conflicts=True,
    )


def log_sent(batch: GLBatch, postings: list[Posting]) -> None:
    """Log records an integration sent itself (an external batch), all at once: the
    re-send guard then knows they are in the package."""
    _log_rows(batch, postings, {}, fresh=True)


def _where_sent(batch: GLBatch) -> tuple[str, str, str]:
    """The package, method and export format a log row names (a direct transfer has no
    export format)."""
    method = batch.transfer_method
    return batch.package, method, batch.export_format if method == TransferMethod.FILE else ""


def _copy_text(batch: GLBatch, postings: list[Posting], references: dict) -> str:
    """The log rows of `postings` as the text of a COPY (LOG_COLUMNS), built at once:
    a fraction of the cost of handing over the values one by one. The GL lines go as
    the JSON text their fingerprint was made from."""
    constant = "\t".join(_where_sent(batch))
    sent_at, batch_id = timezone.now().isoformat(), str(batch.pk)
    return "".join(
        f"{batch_id}\t{p.header.type}\t{p.header.id}\t{_copy_field(p.header.reference)}\t"
        f"{constant}\t{_copy_field(p.lines_json_text())}\t{p.fingerprint()}\t"
        f"{_copy_field(references.get((p.header.type, p.header.id), ''))}\t{sent_at}\t\n"
        for p in postings
    )


def _copy_log(batch: GLBatch, text: str, *, fresh: bool) -> None:
    """Stores log rows given as COPY text (PostgreSQL)."""
    table, columns = TransferLog._meta.db_table, ", ".join(LOG_COLUMNS)
    with transaction.atomic(), connection.cursor() as cursor:
        if batch.transfer_method == TransferMethod.FILE:
            # Nothing has left yet: the file is stored at the end, and the batch marked
            # done by a durable commit, which makes these rows durable with it. So this
            # commit need not wait for the disk (a crash before then reruns the transfer).
            cursor.execute("SET LOCAL synchronous_commit = off")
        if not fresh:  # into a scratch table, then one INSERT that skips rows already there
            cursor.execute(
                "CREATE TEMP TABLE IF NOT EXISTS incoming_transfer_log ON COMMIT DELETE ROWS "
                f"AS SELECT {columns} FROM {table} WITH NO DATA"
            )
        target = table if fresh else "incoming_transfer_log"
        with cursor.copy(f"COPY {target} ({columns}) FROM STDIN") as copy:
            copy.write(text)
        if not fresh:
            cursor.execute(
                f"INSERT INTO {table} ({columns}) SELECT {columns} FROM incoming_transfer_log "
                "ON CONFLICT DO NOTHING"
            )


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_field(value: str) -> str:
    """Text as a field of COPY's text format: backslash, tab and line breaks escaped."""
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.translate(_COPY_ESCAPES)
    return value


def _has_log_rows(batch: GLBatch) -> bool:
    """Whether an earlier run of this transfer (stopped before it finished) logged
    records already. The batch's transfer lock keeps any other writer out until the end
    of this run, so no log row can appear meanwhile."""
    return TransferLog.objects.filter(batch=batch).exists()


class _LogWriter:
    """Stores a file transfer's log a chunk behind the export. On PostgreSQL outside a
    transaction (a worker's run), a thread with a database connection of its own stores
    each chunk's rows, committed chunk by chunk, while the next chunk is read and sent:
    the database's work on the log overlaps the transfer's. At most one chunk is in
    flight. Inside a transaction (a caller's, a test's) the rows are stored inline, on
    the one connection that sees the batch."""

    def __init__(self, batch: GLBatch, *, chunks: int, fresh: bool | None = None) -> None:
        self.batch = batch
        # `fresh`: the caller knows none of these records is logged yet (a part of a
        # fanned-out transfer, which cleared its own rows).
        self.fresh = not _has_log_rows(batch) if fresh is None else fresh
        self.pending: Future | None = None
        self.executor = None
        # One chunk has nothing to overlap with: not worth a thread and a connection.
        if chunks > 1 and connection.vendor == "postgresql" and not connection.in_atomic_block:
            self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="transfer-log")

    def write(self, postings: list[Posting], references: dict) -> None:
        if self.executor is None:
            _log_rows(self.batch, postings, references, fresh=self.fresh)
            return
        # The rows' text is built here: the thread runs no Python of its own while it
        # waits on the database, so the two do not take turns at the interpreter.
        text = _copy_text(self.batch, postings, references)
        self.wait()
        self.pending = self.executor.submit(_copy_log, self.batch, text, fresh=self.fresh)

    def wait(self) -> None:
        """Until the rows handed over are stored; raises what storing them raised."""
        pending, self.pending = self.pending, None
        if pending is not None:
            pending.result()

    def __enter__(self) -> "_LogWriter":
        return self

    def __exit__(self, *error) -> None:
        if self.executor is None:
            return
        try:
            if error[0] is None:
                self.wait()
            elif self.pending is not None:
                futures.wait([self.pending])  # the transfer's own error is the one raised
        finally:
            # The thread's connection is closed by the thread that opened it.
            self.executor.submit(lambda: connection.close()).result()
            self.executor.shutdown()


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
    """Reports the percentage of records written after each chunk the exporter (or the
    connector) has taken in: one small write per chunk of CHUNK records (it also renews
    the transfer's lease), never per record. Not throttled by time: a report left out
    while the chunks ran fast stayed on the page until the next one, chunks behind."""

    def __init__(self, total: int, report: Callable[[int], None]) -> None:
        self.total, self.done, self.report = max(total, 1), 0, report

    def advance(self, count: int) -> None:
        self.done += count
        self.report(min(99, self.done * 100 // self.total))


def run_transfer(batch: GLBatch, progress: Callable[[int], None]) -> None:
    setup = selectors.accounting_setup()
    counts, _total = selectors.batch_counts(batch)
    tracker = _Progress(sum(counts.values()), progress)
    with fewer_collections():
        if batch.transfer_method == TransferMethod.DIRECT and not batch.is_rerecord:
            _send_direct(batch, setup, counts, tracker)
        else:
            _write_file(batch, setup, counts, tracker)


def _write_file(
    batch: GLBatch, setup: AccountingSetup, counts: dict[str, int], tracker: _Progress
) -> None:
    exporter = get_exporter(batch.export_format)

    def logged(log: _LogWriter) -> Iterator[Posting]:
        for chunk in _chunks(batch_postings(batch, counts), CHUNK):
            if not batch.is_rerecord:  # a re-record sends nothing: no new log rows
                log.write(chunk, {})
            yield from chunk
            tracker.advance(len(chunk))

    name = f"batches/{batch.pk}/batch-{batch.pk}.{exporter.extension}"
    _clear_unfinished_log(batch)
    with tempfile.TemporaryFile("w+", newline="", encoding="utf-8") as handle:
        try:
            with _LogWriter(batch, chunks=-(-tracker.total // CHUNK)) as log:
                exporter.write(
                    logged(log),
                    handle,
                    batch_identifier=batch.batch_identifier,
                    options=setup.options,
                )
        except Exception:
            # No file was made, so nothing was sent: the log must not say otherwise.
            TransferLog.objects.filter(batch=batch).delete()
            raise
        handle.seek(0)
        if default_storage.exists(name):  # a re-run replaces, never adds, the file
            default_storage.delete(name)
        # The text file's bytes, as written: storage copies bytes.
        stored = default_storage.save(name, File(cast(BinaryIO, handle.buffer)))
    GLBatch.objects.filter(pk=batch.pk).update(file=stored)


def _clear_unfinished_log(batch: GLBatch) -> None:
    """A file transfer's log rows are stored chunk by chunk, a chunk behind the export,
    and committed as they go (in a thread of their own: that overlap is much of the
    transfer's speed), but the records reach the package only with the file, stored at
    the end. So they count as sent only once the batch's transfer is done (the
    selectors of what was sent read only those), and rows an earlier run of an
    unfinished transfer left (killed, or cut off from the database before it could
    clean up) are cleared here, before this run writes the whole file again."""
    if batch.transfer_method == TransferMethod.FILE or batch.is_rerecord:
        TransferLog.objects.filter(batch=batch).delete()


def _send_direct(
    batch: GLBatch, setup: AccountingSetup, counts: dict[str, int], tracker: _Progress
) -> None:
    connector = get_connector(batch.package, setup.options)
    assert connector is not None, "a batch is sent directly only to a package with a connector"
    if hasattr(connector, "on_wait"):
        connector.on_wait = lambda until: _show_waiting(batch, until)
    # Records the package refused (`refusals`, where a connector keeps them): not sent,
    # and said why at the end.
    refusals: dict[tuple[str, int], str] = getattr(connector, "refusals", {})
    # Originals of records sent again: the connector removes them itself, all in one
    # pass over the package, with the batch's first chunk (in the same database
    # transaction, where the package has them).
    live = [
        (record_type, record_id, send)
        for (record_type, record_id), sends in selectors.live_sends_in_batch(batch).items()
        for send in sends
    ]
    replacing = [(t, i, send["batch_identifier"]) for t, i, send in live]
    # Each chunk is logged as soon as the package has it, before the next is sent.
    fresh = not _has_log_rows(batch)
    names: dict[tuple[str, int], str] = {}
    for chunk in _chunks(batch_postings(batch, counts), CHUNK):
        # The whole chunk goes to the connector (a package that groups records into
        # requests groups the same records again on a retry); it leaves out refused ones.
        references = connector.send(
            [p for p in chunk if (p.header.type, p.header.id) not in refusals]
            if refusals
            else chunk,
            batch_identifier=batch.batch_identifier,
            replacing=replacing,
        )
        if replacing:
            _replaced(batch, live, refusals)
            replacing = []
        _remove_orphans(batch, connector, chunk)
        sent = [p for p in chunk if (p.header.type, p.header.id) in references]
        if len(sent) < len(chunk):
            names.update(
                {
                    (p.header.type, p.header.id): p.header.reference
                    for p in chunk
                    if (p.header.type, p.header.id) in refusals
                }
            )
        _log_rows(batch, sent, references, fresh=fresh)
        tracker.advance(len(chunk))
    if replacing:  # a batch with nothing left to send still replaces its originals
        connector.remove_sent(replacing)
        _replaced(batch, live, refusals)
    if refusals:
        raise ApplicationError(
            _refusals_text(refusals, names),
            code="records_refused",
            extra={"refused": len(refusals)},
        )


def _replaced(batch: GLBatch, live: list, refusals: dict[tuple[str, int], str]) -> None:
    """The transfer-log rows of the originals the connector removed say so (an original
    the package would not remove, for example one with payments, stays logged)."""
    TransferLog.objects.filter(
        pk__in=[send["log_id"] for t, i, send in live if (t, i) not in refusals]
    ).update(removed_at=timezone.now(), removal="connector", replaced_by=batch)


def _refusals_text(refusals: dict[tuple[str, int], str], names: dict) -> str:
    """What a user reads of the records the package refused: each one by reference."""
    shown = [
        f"{names.get(key) or f'{key[0]} {key[1]}'}: {why}"
        for key, why in list(refusals.items())[:20]
    ]
    more = f" (and {len(refusals) - 20} more)" if len(refusals) > 20 else ""
    return (
        f"{len(refusals)} record(s) were not sent; the rest of the batch was. "
        + " ".join(shown)
        + more
        + " Correct them, then retry the transfer: what was sent is not sent twice."
    )


def _show_waiting(batch: GLBatch, until) -> None:
    """Shows the batch as waiting for the package's limit until `until` (None: no
    longer)."""
    GLBatch.objects.filter(pk=batch.pk).update(transfer_waiting_until=until)


def _remove_orphans(batch: GLBatch, connector: Connector, chunk: list[Posting]) -> None:
    """Copies of the chunk's records that the package holds from another batch and that
    no live transfer-log row names (the originals that one names were removed with the
    first chunk):
    written just before a run of that batch stopped, so their log rows never committed,
    and that batch was deleted since. They are removed before the records are sent
    again, so the package never holds a record twice, and an audit event of this batch
    names them (the chunk's own, just sent, are kept). The connector answers at the
    cost of a set lookup per record when its index shows none."""
    removed = connector.remove_except(
        [(posting.header.type, posting.header.id) for posting in chunk],
        keep_batch=batch.batch_identifier,
    )
    if not removed:
        return
    references = [sent.external_reference for sent in removed]
    logger.warning(
        "GL batch %s: removed %d transactions of its records that another batch left in "
        "the package without a transfer-log row",
        batch.batch_identifier,
        len(references),
    )
    audit_batch(
        actor=None,
        action="orphans_removed",
        batch=batch,
        changes={"count": len(references), "references": references},
    )
