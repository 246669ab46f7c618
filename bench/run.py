"""The timings: every workflow against a floor measured in the same run, on the same
data, with a table on stdout and everything in JSON.

- batch create / delete (the services) against hand-written SQL UPDATEs of the same
  rows, in alternating order, VACUUM ANALYZE + CHECKPOINT before each timed step;
- the transfer to each export format (`batch_transfer_run`, in a process of its own)
  against the same rows read with a raw cursor and written with csv.writer; records per
  second and the peak memory of the process, at the batch size and at a tenth of it;
- the unposted list, REST API and browser page, first and last page, in-process with
  Django's test client and a Finance user; the selectors underneath, with OFFSET and
  with a keyset (date, id) cursor for comparison;
- unbatch and rebatch of one record of each kind inside the big batch (and inside the
  small one);
- the books check of an uploaded export of the big batch (the package's GL journal
  CSV of it) against reading the export, the log and the records once; at the batch's
  size and at a tenth of it, for memory;
- EXPLAIN of the queries those workflows ran;
- last, month-end in one go: every unposted record batched and transferred, fanned out
  over a worker, phase by phase (`bench.suites.monthend`; not with --no-month-end).

Transfers are not queued while the batch workflows are timed (the Celery task's
`delay` is replaced by a no-op, `bench.context`); the benchmark runs each transfer itself.

This module runs the suites in order; each lives in `bench.suites`, the floors of batch
create and delete in `bench.floors` (their SQL names read off the adapters by
`bench.kinds`), the transfer's floor in `bench.worker`, the table and JSON in
`bench.report`.
"""

import time

from accounting import selectors, services
from bench.context import Context
from bench.floors import thru_date_for
from bench.suites.batches import bench_batches, service_create, service_delete
from bench.suites.books import bench_books
from bench.suites.monthend import bench_month_end
from bench.suites.pages import bench_deleted_page, bench_lists
from bench.suites.plans import explain, former_plan_checks, plan_checks
from bench.suites.single import bench_single, bench_trail
from bench.suites.transfers import (
    XERO_BATCH,
    bench_fanout,
    bench_transfers,
    reset_transfer,
    worker,
)


class Bench(Context):
    """A whole run: each suite in turn, on the batches the later ones share."""

    def run(self) -> dict:
        started = time.perf_counter()
        lists = bench_lists(self)
        batches = bench_batches(self)
        # The batches the transfers and single-record actions work on.
        thru, _ = thru_date_for(self.batch)
        self.settle()
        create_seconds, big, _ = service_create(self, thru, capture="batch create")
        small_thru, _ = thru_date_for(max(1, self.batch // 10))
        _, small, _ = service_create(self, small_thru)
        invoice_ids = list(
            selectors.unposted_list(record_type="invoice").values_list("pk", flat=True)[:XERO_BATCH]
        )
        xero = services.batch_create(
            actor=self.user,
            items=[{"type": "invoice", "id": pk} for pk in invoice_ids],
            transfer="file",
        ).pk
        plans_checked = plan_checks(self, big, thru)
        transfers = bench_transfers(self, big, small, xero)
        single = bench_single(self, {"big": big, "small": small})
        books = bench_books(self, big, small)
        reset_transfer(self, small, "gl_journal_csv")
        plans = worker("service", small, explain=True)
        self.settle()
        delete_seconds = service_delete(self, big, capture="batch delete")
        deleted_page = bench_deleted_page(self, big)
        single += bench_trail(self, big)
        plans_checked += former_plan_checks(self, big)
        explained = explain(self, plans.get("plans", []))
        month_end = bench_month_end(self, small) if self.month_end else None
        return {
            "lists": lists,
            "batch": batches,
            "transfer": transfers,
            "single": single,
            "books_check": books,
            "deleted_page": deleted_page,
            "month_end": month_end,
            "explain": explained,
            "plans": plans_checked,
            "extra": {"create_big_seconds": create_seconds, "delete_big_seconds": delete_seconds},
            "missing": self.missing,
            "notes": self.notes,
            "seconds": round(time.perf_counter() - started, 1),
        }

    def run_only(self, suite: str) -> dict:
        """One suite on its batch (`--only`, for development): fanout, the big batch's
        fanned-out transfers."""
        thru, _ = thru_date_for(self.batch)
        _, big, _ = service_create(self, thru)
        return {suite: bench_fanout(self, big), "missing": self.missing}
