"""Transfers: `batch_transfer_run` per export format, each in a process of its own
(`bench.worker`, for its peak memory), against the floor of a raw cursor and
csv.writer over the same rows, at the batch's size and at a tenth of it; then where
a transfer's time goes."""

import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from django.conf import settings

from accounting import selectors
from accounting.models import GLBatch, TransferLog, TransferState
from bench.context import ROOT, TARGETS, Context

EXPORT_FORMATS = ["gl_journal_csv", "iif", "quickbooks_online_csv"]
XERO_BATCH = 500  # Xero imports at most 500 invoices or bills a file
TRANSFER_REPEAT = 3  # runs of each transfer and of its floor; the median counts
# Xero's batch of 500 takes tens of milliseconds, in which a shared machine's noise
# is as large as the work: more runs.
XERO_REPEAT = 7
# The fanned-out transfer: a worker of this many processes, its target against the
# single-process floor, and the broker (a Redis the workers and the benchmark share).
FANOUT_PROCESSES = 2
FANOUT_TARGET = 1.5
BROKER_ENV = "BENCH_BROKER_URL"


def reset_transfer(ctx: Context, batch_id: int, export_format: str, *, settle: bool = True) -> None:
    TransferLog.objects.filter(batch_id=batch_id).delete()
    GLBatch.objects.filter(pk=batch_id).update(
        export_format=export_format,
        transfer_state=TransferState.QUEUED,
        transfer_progress=0,
        transfer_error="",
        transfer_started_at=None,
        transfer_finished_at=None,
        file="",
    )
    shutil.rmtree(Path(settings.MEDIA_ROOT) / "batches" / str(batch_id), ignore_errors=True)
    if settle:
        ctx.settle()


def median_runs(
    ctx: Context, batch_id: int, export_format: str, repeat: int = TRANSFER_REPEAT
) -> tuple[dict, dict]:
    """The floor and the service's transfer, `repeat` times each and in turn,
    each from the same start, and the run of median time of each: a single run on
    a shared machine swings by a quarter either way, and its speed drifts over
    minutes, so a floor is measured beside the transfer it is compared with."""
    runs: dict[str, list[dict]] = {"floor": [], "service": []}
    for _ in range(repeat):
        ctx.settle()
        runs["floor"].append(worker("floor", batch_id))
        reset_transfer(ctx, batch_id, export_format)
        runs["service"].append(worker("service", batch_id))
    medians = []
    for mode in ("floor", "service"):
        ordered = sorted(runs[mode], key=lambda run: run["seconds"])
        medians.append(
            {**ordered[len(ordered) // 2], "all_seconds": [r["seconds"] for r in runs[mode]]}
        )
    return medians[0], medians[1]


def worker(mode: str, batch_id: int, *, explain: bool = False, args: tuple = ()) -> dict:
    command = [sys.executable, "-m", "bench.worker", mode, "--batch-id", str(batch_id), *args]
    if explain:
        command.append("--explain")
    done = subprocess.run(command, cwd=ROOT, env=dict(os.environ), capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"bench.worker {mode} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def bench_transfers(ctx: Context, big: int, small: int, xero: int) -> dict:
    sizes = {"big": big, "small": small}
    small_id = small
    counts = {
        name: sum(selectors.batch_counts(GLBatch.objects.get(pk=pk))[0].values())
        for name, pk in sizes.items()
    }
    ctx.say(f"\nTransfers: {counts['big']:,} records, and {counts['small']:,} for memory")
    results = []
    for export_format in EXPORT_FORMATS:
        floors, runs = {}, {}
        for name, pk in sizes.items():
            floors[name], runs[name] = median_runs(ctx, pk, export_format)
            if runs[name]["state"] != TransferState.DONE:
                raise AssertionError(f"{export_format} transfer failed: {runs[name]['error']}")
            ctx.say(
                f"  {export_format:<22} {name:<5} {runs[name]['seconds']:8.2f} s  "
                f"+{runs[name]['growth_kib'] / 1024:.1f} MiB; floor "
                f"{floors[name]['seconds']:.2f} s  {floors[name]['rows']:,} rows  "
                f"+{floors[name]['growth_kib'] / 1024:.1f} MiB"
            )
        results.append(transfer_result(export_format, counts, runs, floors))
    # Xero: at most 500 documents a file, invoices apart from bills.
    xero_count = sum(selectors.batch_counts(GLBatch.objects.get(pk=xero))[0].values())
    xero_floor, xero_run = median_runs(ctx, xero, "xero_csv", XERO_REPEAT)
    if xero_run["state"] != TransferState.DONE:
        raise AssertionError(f"xero_csv transfer failed: {xero_run['error']}")
    ctx.say(
        f"  xero_csv ({xero_count} invoices) {xero_run['seconds']:8.3f} s, "
        f"floor {xero_floor['seconds']:.3f} s"
    )
    results.append(
        {
            "format": "xero_csv",
            "records": xero_count,
            "seconds": xero_run["seconds"],
            "floor_seconds": xero_floor["seconds"],
            "ratio": round(xero_run["seconds"] / xero_floor["seconds"], 2),
            "records_per_second": round(xero_count / xero_run["seconds"]),
            "bytes": xero_run["bytes"],
            "peak_growth_mib": round(xero_run["growth_kib"] / 1024, 1),
            "target_ratio": TARGETS["transfer"],
            "met": xero_run["seconds"] / xero_floor["seconds"] <= TARGETS["transfer"],
            "note": f"Xero imports at most {XERO_BATCH} documents a file, and invoices "
            "apart from bills, so it is timed on a batch of 500 invoices.",
        }
    )
    phases = transfer_phases(ctx, small_id)
    phases["service (gl_journal_csv, with the transfer log)"] = next(
        r["small_seconds"] for r in results if r["format"] == "gl_journal_csv"
    )
    phases["floor"] = next(
        r["small_floor_seconds"] for r in results if r["format"] == "gl_journal_csv"
    )
    ctx.say(f"  phases on {phases['records']:,} records: {phases}")
    results += bench_fanout(ctx, big)
    return {"formats": results, "records": counts, "phases": phases}


def transfer_phases(ctx: Context, batch_id: int) -> dict:
    """Where a transfer's time goes, in-process on one batch: reading the records
    and building their postings (as the transfer does), then with the export file
    written, then with the log's JSON and fingerprints instead; the rest of the
    service's time is storing the log."""
    from accounting.exporters import get_exporter
    from accounting.transfer import batch_postings

    batch = GLBatch.objects.get(pk=batch_id)
    counts, _total = selectors.batch_counts(batch)
    records = sum(counts.values())

    def postings():
        return batch_postings(batch, counts)

    phases = {}
    sum(1 for _ in postings())  # warm-up: caches, the book, first queries
    ctx.settle()
    started = time.perf_counter()
    sum(1 for _ in postings())
    phases["read + postings"] = time.perf_counter() - started
    started = time.perf_counter()
    with open(os.devnull, "w", newline="", encoding="utf-8") as out:
        get_exporter("gl_journal_csv").write(postings(), out, batch_identifier="PHASES", options={})
    phases["read + postings + file"] = time.perf_counter() - started
    started = time.perf_counter()
    for posting in postings():
        posting.lines_json_text()
    phases["read + postings + log JSON and fingerprint"] = time.perf_counter() - started
    return {"records": records, **{k: round(v, 3) for k, v in phases.items()}}


def transfer_result(export_format: str, counts: dict, runs: dict, floors: dict):
    big, small = runs["big"], runs["small"]
    ratio = big["seconds"] / floors["big"]["seconds"]
    # Streamed: the batch ten times bigger does not need (anywhere near) ten times
    # the memory. Allow 2x + 16 MiB for allocator noise.
    streamed = big["growth_kib"] <= 2 * small["growth_kib"] + 16 * 1024
    return {
        "format": export_format,
        "records": counts["big"],
        "seconds": big["seconds"],
        "floor_seconds": floors["big"]["seconds"],
        "ratio": round(ratio, 2),
        "records_per_second": round(counts["big"] / big["seconds"]),
        "floor_records_per_second": round(counts["big"] / floors["big"]["seconds"]),
        "bytes": big["bytes"],
        "peak_growth_mib": round(big["growth_kib"] / 1024, 1),
        "peak_rss_mib": round(big["peak_kib"] / 1024, 1),
        "small_records": counts["small"],
        "small_seconds": small["seconds"],
        "small_floor_seconds": floors["small"]["seconds"],
        "small_peak_growth_mib": round(small["growth_kib"] / 1024, 1),
        "floor_peak_growth_mib": round(floors["big"]["growth_kib"] / 1024, 1),
        "streamed": streamed,
        "target_ratio": TARGETS["transfer"],
        "met": ratio <= TARGETS["transfer"] and streamed,
    }


def bench_fanout(ctx: Context, batch_id: int, repeat: int = TRANSFER_REPEAT) -> list[dict]:
    """Each file format's transfer fanned out over a Celery worker of FANOUT_PROCESSES
    processes (`accounting.transfer.fanout`), from the task handed to the broker until
    the batch is done (file joined, log written), against the single-process floor
    (raw cursor + csv.writer over the same rows), measured in turn with it. Needs a
    Redis broker: BENCH_BROKER_URL (skipped, and said so, without one)."""
    app = broker_app(ctx, "fanned-out transfers")
    if app is None:
        return []
    broker = app.conf.broker_url
    records = sum(selectors.batch_counts(GLBatch.objects.get(pk=batch_id))[0].values())
    # Parts enough to keep every process busy to the end (each takes a few in turn).
    part = max(1, math.ceil(records / (4 * FANOUT_PROCESSES)))
    ctx.say(
        f"\nFanned-out transfers: {records:,} records in parts of {part:,}, "
        f"{FANOUT_PROCESSES} worker processes"
    )
    env = {
        **os.environ,
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "CELERY_BROKER_URL": broker,
        "TRANSFER_FANOUT_MIN": "0",
        "TRANSFER_PART_RECORDS": str(part),
    }
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-worker-") as logs:
        worker_process = start_worker(env, Path(logs) / "worker.log")
        try:
            for export_format in EXPORT_FORMATS:
                reset_transfer(ctx, batch_id, export_format)
                _fanned_out_run(app, batch_id)  # warm-up: the processes' imports and caches
                floors, runs = [], []
                for _ in range(repeat):
                    ctx.settle()
                    floors.append(worker("floor", batch_id)["seconds"])
                    reset_transfer(ctx, batch_id, export_format)
                    runs.append(_fanned_out_run(app, batch_id))
                seconds, floor = sorted(runs)[len(runs) // 2], sorted(floors)[len(floors) // 2]
                ratio = seconds / floor
                ctx.say(
                    f"  {export_format:<22} fanned out {seconds:8.2f} s; "
                    f"floor {floor:.2f} s; {ratio:.2f}x"
                )
                results.append(
                    {
                        "format": f"{export_format} fanned out ({FANOUT_PROCESSES} processes)",
                        "records": records,
                        "seconds": round(seconds, 4),
                        "floor_seconds": floor,
                        "ratio": round(ratio, 2),
                        "records_per_second": round(records / seconds),
                        "all_seconds": [round(r, 4) for r in runs],
                        "floor_all_seconds": floors,
                        "parts": math.ceil(records / part),
                        "target_ratio": FANOUT_TARGET,
                        "met": ratio <= FANOUT_TARGET,
                    }
                )
            # The same processes wrote every format: their peak over all of them.
            peaks = [round(p / 1024, 1) for p in worker_peaks_kib(worker_process.pid)]
            for result in results:
                result["worker_peak_rss_mib"] = peaks
        finally:
            stop_worker(worker_process)
    return results


def broker_app(ctx: Context, what: str):
    """The product's Celery app sending to the benchmark's broker (BENCH_BROKER_URL),
    or None, with `what` listed as missing, without one."""
    broker = os.environ.get(BROKER_ENV, "")
    if not broker:
        ctx.missing.append(f"{what}: no broker ({BROKER_ENV} not set)")
        return None
    from config.celery import app

    app.conf.update(task_always_eager=False, broker_url=broker)
    app._pool = None  # a broker connection to the new URL
    app.amqp._producer_pool = None
    return app


def start_worker(env: dict, log: Path) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "config",
        "worker",
        "--pool=prefork",
        f"--concurrency={FANOUT_PROCESSES}",
        "--loglevel=WARNING",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT
    )


def stop_worker(process: subprocess.Popen) -> None:
    """A worker started by `start_worker`, stopped warm (SIGTERM), killed if it hangs."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


def worker_peaks_kib(pid: int) -> list[int]:
    """The peak resident size (VmHWM, KiB) of each process of the worker under `pid`."""
    peaks = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            for line in Path(f"/proc/{child}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peaks.append(int(line.split()[1]))
    return sorted(peaks)


def _fanned_out_run(app, batch_id: int, timeout: float = 1800) -> float:
    """Seconds from the transfer handed to the broker until the batch is done."""
    started = time.perf_counter()
    app.send_task("accounting.batch_transfer", args=[batch_id])
    while time.perf_counter() - started < timeout:
        state, error = GLBatch.objects.filter(pk=batch_id).values_list(
            "transfer_state", "transfer_error"
        )[0]
        if state == TransferState.DONE:
            return time.perf_counter() - started
        if state == TransferState.FAILED:
            raise AssertionError(f"fanned-out transfer failed: {error}")
        time.sleep(0.02)  # a finer poll would take a core's share from the workers
    raise AssertionError("the fanned-out transfer did not finish (is the worker running?)")
