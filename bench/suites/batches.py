"""Batch create and delete: the services against their floors (`bench.floors`), in
rotating order, each timed step from the same start, the median of the rounds."""

import datetime as dt
import statistics
import time

from accounting import selectors, services
from accounting.models import GLBatch
from bench.context import TARGETS, Context
from bench.floors import floor_create, floor_delete, thru_date_for


def service_create(ctx: Context, thru: dt.date, *, capture: str | None = None):
    def create() -> GLBatch:
        return services.batch_create(
            actor=ctx.user, all_unposted=True, thru_date=thru, transfer="file"
        )

    started = time.perf_counter()
    batch = ctx.capture(capture, create) if capture else create()
    seconds = time.perf_counter() - started
    counts, _total = selectors.batch_counts(batch)
    return seconds, batch.pk, sum(counts.values())


def service_delete(ctx: Context, batch_id: int, *, capture: str | None = None) -> float:
    def delete() -> GLBatch:
        return services.batch_delete(actor=ctx.user, batch_id=batch_id)

    started = time.perf_counter()
    if capture:
        ctx.capture(capture, delete)
    else:
        delete()
    return time.perf_counter() - started


def bench_batches(ctx: Context) -> dict:
    thru, expected = thru_date_for(ctx.batch)
    ctx.say(f"\nBatch create/delete: {expected:,} unposted records through {thru}")
    order = ["floor", "service", "floor_audit"]
    samples: dict[str, dict[str, list[float]]] = {
        who: {"create": [], "delete": []} for who in order
    }
    for round_ in range(ctx.repeat):
        shift = round_ % len(order)
        for who in order[shift:] + order[:shift]:
            ctx.settle()
            if who == "service":
                seconds, batch_id, rows = service_create(ctx, thru)
            else:
                seconds, batch_id, rows = floor_create(ctx, thru, audit=who == "floor_audit")
            if rows != expected:
                raise AssertionError(f"{who} batched {rows} records, expected {expected}")
            samples[who]["create"].append(seconds)
            ctx.settle()
            if who == "service":
                deleted = service_delete(ctx, batch_id)
            else:
                deleted = floor_delete(ctx, batch_id, audit=who == "floor_audit")
            samples[who]["delete"].append(deleted)
            ctx.say(
                f"  round {round_ + 1} {who:<26} create {seconds:7.3f} s   delete {deleted:7.3f} s"
            )
    result = {"records": expected, "thru_date": thru.isoformat(), "samples": samples}
    for action in ("create", "delete"):
        service = statistics.median(samples["service"][action])
        floor = statistics.median(samples["floor"][action])
        floor_audit = statistics.median(samples["floor_audit"][action])
        result[action] = {
            "seconds": round(service, 4),
            "floor_seconds": round(floor, 4),
            "floor_with_audit_seconds": round(floor_audit, 4),
            "ratio": round(service / floor, 2),
            "ratio_vs_floor_with_audit": round(service / floor_audit, 2),
            "records_per_second": round(expected / service),
            "target_ratio": TARGETS["batch"],
            "met": service / floor <= TARGETS["batch"],
        }
    return result
