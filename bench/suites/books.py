"""The books check of an uploaded export: the batch's own GL journal CSV (as the
package would export it back) uploaded and compared with the transfer log and the
records, in a process of its own (for its peak memory), against a floor measured in
the same run: reading the export, the log and the records once, with nothing built.
At the batch's size and at a tenth of it, to show memory does not grow with it."""

import shutil
from pathlib import Path

from django.conf import settings

from accounting import selectors
from accounting.models import AccountingSetup, GLBatch, TransferState
from bench.context import TARGETS, Context
from bench.suites.transfers import reset_transfer, worker

BOOKS_REPEAT = 3


def exported(ctx: Context, batch_id: int) -> Path:
    """Send the batch in the GL journal CSV (its transfer log, as sent) and keep its
    file: the export the package holds of it."""
    reset_transfer(ctx, batch_id, "gl_journal_csv")
    done = worker("service", batch_id)
    if done["state"] != TransferState.DONE:
        raise AssertionError(f"the transfer for the books check failed: {done['error']}")
    batch = GLBatch.objects.get(pk=batch_id)
    kept = Path(settings.MEDIA_ROOT) / f"books-check-{batch_id}.csv"
    shutil.copyfile(batch.file.path, kept)
    return kept


def bench_books(ctx: Context, big: int, small: int) -> dict:
    sizes = {"big": big, "small": small}
    package = GLBatch.objects.get(pk=big).package
    AccountingSetup.objects.filter(pk=1).update(package=package, direct_transfer=False)
    records = {
        name: sum(selectors.batch_counts(GLBatch.objects.get(pk=pk))[0].values())
        for name, pk in sizes.items()
    }
    ctx.say(f"\nBooks check of an uploaded export: {records['big']:,} records sent")
    runs: dict[str, dict] = {}
    floors: dict[str, dict] = {}
    for name, pk in sizes.items():
        path = exported(ctx, pk)
        service_runs, floor_runs = [], []
        for _ in range(BOOKS_REPEAT):
            ctx.settle()
            floor_runs.append(
                worker("books-floor", pk, args=("--file", str(path), "--package", package))
            )
            ctx.settle()
            service_runs.append(
                worker("books", pk, args=("--file", str(path), "--user-id", str(ctx.user.pk)))
            )
        for run in service_runs:
            if run["state"] != "done":
                raise AssertionError(f"the books check failed: {run['error']}")
        runs[name] = sorted(service_runs, key=lambda r: r["seconds"])[len(service_runs) // 2]
        floors[name] = sorted(floor_runs, key=lambda r: r["seconds"])[len(floor_runs) // 2]
        path.unlink()
        ctx.say(
            f"  {name:<5} {runs[name]['seconds']:8.2f} s (upload "
            f"{runs[name]['upload_seconds']:.2f} s, run {runs[name]['run_seconds']:.2f} s) "
            f"+{runs[name]['growth_kib'] / 1024:.1f} MiB; floor {floors[name]['seconds']:.2f} s"
            f"; in step {runs[name]['counts'].get('in_step', 0):,}"
        )
    big_run, small_run = runs["big"], runs["small"]
    ratio = big_run["seconds"] / floors["big"]["seconds"]
    # Streamed: ten times the records do not take (anywhere near) ten times the memory.
    streamed = big_run["growth_kib"] <= 2 * small_run["growth_kib"] + 16 * 1024
    in_step = big_run["counts"].get("in_step", 0)
    return {
        "records": records["big"],
        "rows": big_run["rows"],
        "seconds": big_run["seconds"],
        "upload_seconds": big_run["upload_seconds"],
        "run_seconds": big_run["run_seconds"],
        "floor_seconds": floors["big"]["seconds"],
        "ratio": round(ratio, 2),
        "records_per_second": round(records["big"] / big_run["seconds"]),
        "peak_growth_mib": round(big_run["growth_kib"] / 1024, 1),
        "peak_rss_mib": round(big_run["peak_kib"] / 1024, 1),
        "small_records": records["small"],
        "small_seconds": small_run["seconds"],
        "small_peak_growth_mib": round(small_run["growth_kib"] / 1024, 1),
        "counts": big_run["counts"],
        "streamed": streamed,
        "target_ratio": TARGETS["books_check"],
        # Every record of the batch must be found in step in its own export.
        "met": ratio <= TARGETS["books_check"] and streamed and in_step >= records["big"],
    }
