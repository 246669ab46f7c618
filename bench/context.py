"""What every suite of the benchmark shares: the targets, the Finance user the steps
run as, the queries kept for EXPLAIN, what went missing, and the same starting point
before every timed step."""

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounting import tasks
from bench.book import finance_user
from bench.kinds import big_tables

ROOT = Path(__file__).resolve().parent.parent
PAGE_SIZE = 50
TARGETS = {
    "batch": 1.2,  # batch create and delete: at most 1.2x their floor
    "transfer": 3.0,  # export: at most 3x its floor
    "books_check": 8.0,  # books check of an uploaded export: at most 8x its floor
    "list_ms": 20.0,  # list pages: under 20 ms at any depth
    "single_ms": 20.0,  # unbatch / rebatch: under 20 ms
    "deleted_page_ms": 100.0,  # a deleted batch's page: under 100 ms at any size
    # Every unposted record batched and transferred (GL journal CSV, fanned out over a
    # worker of 2 processes): under 40 s on the 1,000,000-record book.
    "month_end_seconds": 40.0,
    "trail_ms": 10.0,  # one record's audit trail, with its batch steps: under 10 ms
}


class Context:
    def __init__(
        self,
        *,
        batch: int,
        repeat: int,
        page_repeat: int,
        single_repeat: int,
        month_end: bool = True,
        verbose: bool = True,
    ) -> None:
        self.batch = batch
        self.repeat = repeat
        self.page_repeat = page_repeat
        self.single_repeat = single_repeat
        self.month_end = month_end
        self.verbose = verbose
        self.user = finance_user()
        self.captured: dict[str, list[str]] = {}
        self.missing: list[str] = []
        self.notes: list[str] = []
        self.floor_batches = 0
        settings.DEBUG = False  # no query log: production-like timings
        tasks.batch_transfer.delay = lambda batch_id: None  # the bench runs transfers

    def say(self, text: str) -> None:
        if self.verbose:
            print(text, flush=True)

    def settle(self) -> None:
        """The same starting point for every timed step: tables vacuumed and analysed
        (visibility map and statistics up to date), dirty pages written out."""
        with connection.cursor() as cursor:
            for table in big_tables():
                cursor.execute(f"VACUUM (ANALYZE) {table}")
            cursor.execute("CHECKPOINT")

    def capture(self, name: str, fn: Callable[[], Any]) -> Any:
        with queries_of() as queries:
            result = fn()
        self.captured[name] = [q["sql"] for q in queries.captured_queries]
        return result


def queries_of() -> CaptureQueriesContext:
    """Django's query capture, on an emptied query log: the log is a deque of at most
    9,000 queries, and once full (after `migrate`) a capture would slice nothing."""
    connection.queries_log.clear()
    return CaptureQueriesContext(connection)


def percentile(values: list[float], percent: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, math.ceil(percent / 100 * len(ordered)) - 1))
    return ordered[index]


def plan_scans(plan: dict):
    """The scans of an EXPLAIN (FORMAT JSON) plan, depth first."""
    node = plan.get("Node Type", "")
    if "Scan" in node:
        yield {
            "node": node,
            "relation": plan.get("Relation Name"),
            "index": plan.get("Index Name"),
            "rows": plan.get("Plan Rows"),
        }
    for child in plan.get("Plans", []):
        yield from plan_scans(child)
