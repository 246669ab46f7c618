"""Month-end in one go: every unposted record of the book batched by one
`batch_create(all_unposted=True)` and transferred as a GL journal CSV fanned out over a
Celery worker (`accounting.transfer.fanout`, the product's own part size), end to end,
with each phase timed; against its floor: the same rows attached by a hand-written
UPDATE per kind, then read with a raw cursor and written with csv.writer in one
process.

Phases, read off the database while the transfer runs (polled every 20 ms):
create (the batch, its audit and its records locked), cut (the transfer task took
the batch and cut it into parts), parts written (each part's postings into its part
file, its transfer-log rows stored beside them), file joined and stored, recorded
done. Memory: the peak resident size of each worker process (VmHWM), which must not
grow with the batch: it is compared with the same worker's peak after the 100,000
batch's fanned-out transfer.

Runs last: it batches the whole book."""

import os
import tempfile
import time
from pathlib import Path

from django.conf import settings

from accounting import selectors, services
from accounting.models import GLBatch, TransferPart, TransferState
from bench.context import TARGETS, Context
from bench.floors import floor_create, floor_delete, thru_date_for
from bench.suites.transfers import (
    BROKER_ENV,
    broker_app,
    reset_transfer,
    start_worker,
    stop_worker,
    worker,
    worker_peaks_kib,
)

FORMAT = "gl_journal_csv"
POLL = 0.02


def bench_month_end(ctx: Context, warm_up_batch: int) -> dict | None:
    app = broker_app(ctx, "month-end in one go")
    if app is None:
        return None
    last_day, _count = thru_date_for(10**12)  # the last day with an unposted record
    ctx.say("\nMonth-end in one go: every unposted record, batched and transferred")
    # The floor first (it lets its rows go again): UPDATE per kind, then one process
    # reading them with a raw cursor and writing csv.writer.
    ctx.settle()
    create_floor, floor_batch, records = floor_create(ctx, last_day)
    transfer_floor = worker("floor", floor_batch)
    ctx.settle()
    floor_delete(ctx, floor_batch)
    floor = create_floor + transfer_floor["seconds"]
    ctx.say(
        f"  floor: {records:,} records, UPDATE {create_floor:.2f} s + csv.writer "
        f"{transfer_floor['seconds']:.2f} s = {floor:.2f} s"
    )
    env = {
        **os.environ,
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "CELERY_BROKER_URL": os.environ[BROKER_ENV],
    }
    with tempfile.TemporaryDirectory(prefix="bench-month-end-") as logs:
        process = start_worker(env, Path(logs) / "worker.log")
        try:
            # A running worker, as at a month-end: its processes started, the product
            # imported (a transfer of `warm_up_batch` in each process), before the clock.
            _warm_up(ctx, app, warm_up_batch)
            phases, batched = _month_end_run(ctx, app)
            peaks = worker_peaks_kib(process.pid)
        finally:
            stop_worker(process)
    if batched != records:
        raise AssertionError(f"month-end batched {batched:,} records, the floor {records:,}")
    seconds = phases["create"] + phases["transfer"]
    ctx.say(
        f"  month-end: {seconds:.2f} s ({seconds / floor:.2f}x the floor); "
        + ", ".join(f"{name} {value:.2f} s" for name, value in phases.items())
        + f"; worker processes' peak RSS {[round(p / 1024) for p in peaks]} MiB"
    )
    return {
        "records": batched,
        "seconds": round(seconds, 3),
        "phases": {name: round(value, 3) for name, value in phases.items()},
        "floor_seconds": round(floor, 3),
        "floor_phases": {
            "create (UPDATE per kind)": round(create_floor, 3),
            "transfer (raw cursor + csv.writer)": transfer_floor["seconds"],
        },
        "ratio": round(seconds / floor, 2),
        "records_per_second": round(batched / seconds),
        "worker_peak_rss_mib": [round(p / 1024, 1) for p in peaks],
        "target_seconds": TARGETS["month_end_seconds"],
        "met": seconds < TARGETS["month_end_seconds"],
    }


def _warm_up(ctx: Context, app, batch_id: int) -> None:
    for _ in range(2):
        reset_transfer(ctx, batch_id, FORMAT, settle=False)
        started = time.perf_counter()
        app.send_task("accounting.batch_transfer", args=[batch_id])
        while GLBatch.objects.get(pk=batch_id).transfer_state != TransferState.DONE:
            if time.perf_counter() - started > 600:
                raise AssertionError("the worker did not start (see its log)")
            time.sleep(POLL)


def _month_end_run(ctx: Context, app) -> tuple[dict[str, float], int]:
    ctx.settle()
    started = time.perf_counter()
    # The records the deleted batch let go were sent before: month-end re-sends them,
    # as a clerk does once their originals are out of the package.
    batch = services.batch_create(
        actor=ctx.user, all_unposted=True, transfer="file", confirm_resend=True
    )
    created = time.perf_counter() - started
    counts, _total = selectors.batch_counts(batch)
    # The bench's own task hand-off (its `delay` is a no-op here), in the format timed.
    reset_transfer(ctx, batch.pk, FORMAT, settle=False)
    marks: dict[str, float] = {}
    started = time.perf_counter()
    app.send_task("accounting.batch_transfer", args=[batch.pk])
    while time.perf_counter() - started < 1800:
        now = time.perf_counter() - started
        state, error, file = GLBatch.objects.filter(pk=batch.pk).values_list(
            "transfer_state", "transfer_error", "file"
        )[0]
        if state == TransferState.FAILED:
            raise AssertionError(f"month-end transfer failed: {error}")
        parts = TransferPart.objects.filter(batch_id=batch.pk)
        if "cut" not in marks and parts.exists():
            marks["cut"] = now
        if "cut" in marks and "written" not in marks and not parts.filter(finished=False).exists():
            marks["written"] = now
        if file and "stored" not in marks:
            marks["stored"] = now
        if state == TransferState.DONE:
            marks["done"] = now
            break
        time.sleep(POLL)
    else:
        raise AssertionError("the month-end transfer did not finish (is the worker running?)")
    # A phase too short for the poll to see is counted with the next one.
    cut = marks.get("cut", 0.0)
    written = marks.get("written", cut)
    stored = marks.get("stored", written)
    phases = {
        "create": created,
        "transfer": marks["done"],
        "cut into parts": cut,
        "parts written, with their log rows": written - cut,
        "file joined and stored": stored - written,
        "recorded done": marks["done"] - stored,
    }
    return phases, sum(counts.values())
