"""Unbatch and rebatch of one record of each kind inside a batch: the median of
`single_repeat` pairs after a warm-up whose queries are kept for EXPLAIN."""

import statistics
import time

from accounting import selectors, services
from accounting.models import GLBatch
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
