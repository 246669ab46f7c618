"""Unbatch and rebatch of one record of each kind inside a batch: the median of
`single_repeat` pairs after a warm-up whose queries are kept for EXPLAIN; and one
record's audit trail, with the batch steps it went through."""

import statistics
import time
from collections.abc import Callable
from functools import partial

from django.test import Client
from django.urls import reverse

from accounting import selectors, services
from accounting.models import FormerRecord, GLBatch
from accounting.postables import batched_rows, kinds
from bench.context import TARGETS, Context, percentile, queries_of


def bench_single(ctx: Context, batches: dict[str, int]) -> list[dict]:
    ctx.say("\nUnbatch / rebatch one record")
    ctx.settle()
    results = []
    for batch_name, batch_id in batches.items():
        for kind in kinds():
            rows = batched_rows(kind, batch_id).order_by("pk")
            size = rows.count()
            if not size:
                continue
            record_id = rows.values_list("pk", flat=True)[size // 2]
            timings: dict[str, list[float]] = {"unbatch": [], "rebatch": []}
            queries = {}
            for attempt in range(ctx.single_repeat + 1):
                for action, service in (
                    ("unbatch", services.record_unbatch),
                    ("rebatch", services.record_rebatch),
                ):
                    if attempt == 0:  # warm-up; its queries are kept for EXPLAIN
                        with queries_of() as captured:
                            service(actor=ctx.user, record_type=kind.type, record_id=record_id)
                        queries[action] = len(captured.captured_queries)
                        ctx.captured[f"{action} {kind.type}"] = [
                            q["sql"] for q in captured.captured_queries
                        ]
                        continue
                    started = time.perf_counter()
                    service(actor=ctx.user, record_type=kind.type, record_id=record_id)
                    timings[action].append(time.perf_counter() - started)
            for action, values in timings.items():
                median_ms = statistics.median(values) * 1000
                results.append(
                    {
                        "action": action,
                        "type": kind.type,
                        "batch": batch_name,
                        "batch_records": sum(
                            selectors.batch_counts(GLBatch.objects.get(pk=batch_id))[0].values()
                        ),
                        "median_ms": round(median_ms, 2),
                        "p95_ms": round(percentile(values, 95) * 1000, 2),
                        "max_ms": round(max(values) * 1000, 2),
                        "queries": queries[action],
                        "target_ms": TARGETS["single_ms"],
                        "met": median_ms <= TARGETS["single_ms"],
                    }
                )
                ctx.say(
                    f"  {action:<8} {kind.type:<8} in {batch_name:<5} "
                    f"median {median_ms:6.2f} ms  ({queries[action]} queries)"
                )
    return results


def bench_trail(ctx: Context, batch_id: int) -> list[dict]:
    """One record's audit trail, once the big batch is deleted (the record of each kind
    in the middle of the batch: its trail holds its creation, the batch's create and
    delete steps, found by the sets' GIN index): the selector, and an invoice's page,
    which shows its trail. The median of `single_repeat` after a warm-up."""
    ctx.say("\nAudit trail of one record")
    ctx.settle()
    client = Client(raise_request_exception=False, HTTP_HOST="localhost")
    client.force_login(ctx.user)
    results = []
    for kind in kinds():
        former = FormerRecord.objects.filter(batch_id=batch_id, record_type=kind.type)
        size = former.count()
        if not size:
            continue
        record_id = former.order_by("record_id").values_list("record_id", flat=True)[size // 2]
        steps = [
            event.action
            for event in selectors.audit_trail(record_type=kind.type, record_id=record_id)
        ]
        timed: dict[str, Callable[[], object]] = {
            "selector": partial(selectors.audit_trail, record_type=kind.type, record_id=record_id)
        }
        if kind.type == "invoice":
            timed["page"] = partial(
                client.get, reverse("invoicing:invoice_detail", args=[record_id])
            )
        for what, call in timed.items():
            with queries_of() as captured:
                call()
            ctx.captured[f"audit trail {what} {kind.type}"] = [
                q["sql"] for q in captured.captured_queries
            ]
            values = []
            for _ in range(ctx.single_repeat):
                started = time.perf_counter()
                call()
                values.append(time.perf_counter() - started)
            median_ms = statistics.median(values) * 1000
            target = TARGETS["trail_ms"] if what == "selector" else TARGETS["list_ms"]
            results.append(
                {
                    "action": f"audit trail ({what})",
                    "type": kind.type,
                    "batch": "deleted",
                    "batch_records": size,
                    "steps": steps,
                    "median_ms": round(median_ms, 2),
                    "p95_ms": round(percentile(values, 95) * 1000, 2),
                    "max_ms": round(max(values) * 1000, 2),
                    "queries": len(captured.captured_queries),
                    "target_ms": target,
                    "met": median_ms <= target,
                }
            )
            ctx.say(
                f"  {what:<8} {kind.type:<8} median {median_ms:6.2f} ms  "
                f"({len(captured.captured_queries)} queries; {', '.join(steps)})"
            )
    return results
