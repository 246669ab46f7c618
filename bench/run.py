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
- EXPLAIN of the queries those workflows ran.

Transfers are not queued while the batch workflows are timed (the Celery task's
`delay` is replaced by a no-op here); the benchmark runs each transfer itself.
"""

import contextlib
import datetime as dt
import json
import math
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounting import selectors, services, tasks
from accounting.models import (
    AuditEvent,
    AuditEventRecord,
    BatchStatus,
    GLBatch,
    TransferLog,
    TransferState,
)
from accounting.postables import (
    batched_rows,
    get_kind,
    kind_types,
    kinds,
    unbatched_rows,
    unposted_rows,
)
from bench.book import finance_user

ROOT = Path(__file__).resolve().parent.parent
PAGE_SIZE = 50
TARGETS = {
    "batch": 2.0,  # batch create and delete: at most 2x their floor
    "transfer": 3.0,  # export: at most 3x its floor
    "list_ms": 50.0,  # list pages: under 50 ms at any depth
    "single_ms": 20.0,  # unbatch / rebatch: under 20 ms
}
EXPORT_FORMATS = ["gl_journal_csv", "iif", "quickbooks_online_csv"]
XERO_BATCH = 500  # Xero imports at most 500 invoices or bills a file

# The unposted rows of each kind, written by hand: the floor of the batch workflows.
KIND_SQL = {
    "invoice": {
        "table": "invoicing_invoice",
        "batch": "gl_batch_id",
        "original": "original_batch_id",
        "date": "date",
        "ready": "is_closed",
    },
    "expense": {
        "table": "expenses_expenseentry",
        "batch": "gl_batch_id",
        "original": "original_batch_id",
        "date": "date",
        "ready": "is_approved",
    },
    "freight": {
        "table": "procurement_purchaseorder",
        "batch": "freight_gl_batch_id",
        "original": "freight_original_batch_id",
        "date": "date",
        "ready": "status = 'closed' AND freight_amount <> 0",
    },
    "product": {
        "table": "procurement_purchaseorderline",
        "batch": "gl_batch_id",
        "original": "original_batch_id",
        "date": "received_date",
        "ready": "received AND closed",
    },
}
TRANSFER_REPEAT = 3  # runs of each transfer and of its floor; the median counts
# Xero's batch of 500 takes tens of milliseconds, in which a shared machine's noise
# is as large as the work: more runs.
XERO_REPEAT = 7
DELETED_PAGE_REPEAT = 3  # seconds each on the big book
BIG_TABLES = [
    *(k["table"] for k in KIND_SQL.values()),
    "invoicing_invoiceline",
    "accounting_auditevent",
    "accounting_transferlog",
    "accounting_glbatch",
]


class Bench:
    def __init__(
        self,
        *,
        batch: int,
        repeat: int,
        page_repeat: int,
        single_repeat: int,
        verbose: bool = True,
    ) -> None:
        self.batch = batch
        self.repeat = repeat
        self.page_repeat = page_repeat
        self.single_repeat = single_repeat
        self.verbose = verbose
        self.user = finance_user()
        self.captured: dict[str, list[str]] = {}
        self.missing: list[str] = []
        self.notes: list[str] = []
        self._floor_batches = 0
        settings.DEBUG = False  # no query log: production-like timings
        tasks.batch_transfer.delay = lambda batch_id: None  # the bench runs transfers

    def say(self, text: str) -> None:
        if self.verbose:
            print(text, flush=True)

    # --- helpers ----------------------------------------------------------------------

    def settle(self) -> None:
        """The same starting point for every timed step: tables vacuumed and analysed
        (visibility map and statistics up to date), dirty pages written out."""
        with connection.cursor() as cursor:
            for table in BIG_TABLES:
                cursor.execute(f"VACUUM (ANALYZE) {table}")
            cursor.execute("CHECKPOINT")

    def thru_date_for(self, count: int) -> tuple[dt.date, int]:
        """The date through which the unposted records number at least `count`."""
        parts = " UNION ALL ".join(
            f"SELECT {k['date']} AS d, count(*) AS n FROM {k['table']} "
            f"WHERE {k['batch']} IS NULL AND {k['ready']} GROUP BY 1"
            for k in KIND_SQL.values()
        )
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT d, sum(n) OVER (ORDER BY d) FROM (SELECT d, sum(n) AS n FROM "
                f"({parts}) AS u GROUP BY d) AS per_day ORDER BY d"
            )
            rows = cursor.fetchall()
        for day, total in rows:
            if total >= count:
                return day, int(total)
        return rows[-1][0], int(rows[-1][1])

    def capture(self, name: str, fn: Callable[[], Any]) -> Any:
        with queries_of() as queries:
            result = fn()
        self.captured[name] = [q["sql"] for q in queries.captured_queries]
        return result

    # --- batch create and delete --------------------------------------------------------

    def _new_floor_batch(self) -> GLBatch:
        self._floor_batches += 1
        return GLBatch.objects.create(
            batch_identifier=f"FLOOR-{os.getpid()}-{self._floor_batches}",
            transfer_method="file",
            export_format="gl_journal_csv",
            package="other",
            created_by=self.user,
            transfer_state=TransferState.DONE,
        )

    def _links_sql(self, k: dict) -> str:
        """The audit links of a batch step, as the service writes them: one row per record
        of the batch, pointing at the step's audit event."""
        return (
            f"INSERT INTO accounting_auditeventrecord (event_id, record_type, record_id) "
            f"SELECT %s, %s, id FROM {k['table']} WHERE {k['batch']} = %s"
        )

    def _floor_event(self, batch_id: int, action: str) -> int:
        return AuditEvent.objects.create(
            at=timezone.now(), actor=self.user, action=action, batch_id=batch_id
        ).pk

    def floor_create(self, thru: dt.date, *, audit: bool = False) -> tuple[float, int, int]:
        """The bare UPDATE per kind (the floor), or with `audit` also the audit event and
        its links to the records, as hand-written SQL."""
        batch = self._new_floor_batch()
        rows = 0
        started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            event = self._floor_event(batch.pk, "batch_created") if audit else None
            for record_type, k in KIND_SQL.items():
                cursor.execute(
                    f"UPDATE {k['table']} SET {k['batch']} = %s, {k['original']} = NULL "
                    f"WHERE {k['batch']} IS NULL AND {k['ready']} AND {k['date']} <= %s",
                    [batch.pk, thru],
                )
                rows += cursor.rowcount
                if audit:
                    cursor.execute(self._links_sql(k), [event, record_type, batch.pk])
        return time.perf_counter() - started, batch.pk, rows

    def floor_delete(self, batch_id: int, *, audit: bool = False) -> float:
        started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            event = self._floor_event(batch_id, "batch_deleted") if audit else None
            for record_type, k in KIND_SQL.items():
                if audit:
                    cursor.execute(self._links_sql(k), [event, record_type, batch_id])
                cursor.execute(
                    f"UPDATE {k['table']} SET {k['batch']} = NULL WHERE {k['batch']} = %s",
                    [batch_id],
                )
        seconds = time.perf_counter() - started
        GLBatch.objects.filter(pk=batch_id).update(status=BatchStatus.DELETED)
        return seconds

    def service_create(self, thru: dt.date, *, capture: str | None = None):
        def create() -> GLBatch:
            return services.batch_create(
                actor=self.user, all_unposted=True, thru_date=thru, transfer="file"
            )

        started = time.perf_counter()
        batch = self.capture(capture, create) if capture else create()
        seconds = time.perf_counter() - started
        counts, _total = selectors.batch_counts(batch)
        return seconds, batch.pk, sum(counts.values())

    def service_delete(self, batch_id: int, *, capture: str | None = None) -> float:
        def delete() -> GLBatch:
            return services.batch_delete(actor=self.user, batch_id=batch_id)

        started = time.perf_counter()
        if capture:
            self.capture(capture, delete)
        else:
            delete()
        return time.perf_counter() - started

    def bench_batches(self) -> dict:
        thru, expected = self.thru_date_for(self.batch)
        self.say(f"\nBatch create/delete: {expected:,} unposted records through {thru}")
        order = ["floor", "service", "floor_audit"]
        samples: dict[str, dict[str, list[float]]] = {
            who: {"create": [], "delete": []} for who in order
        }
        for round_ in range(self.repeat):
            shift = round_ % len(order)
            for who in order[shift:] + order[:shift]:
                self.settle()
                if who == "service":
                    seconds, batch_id, rows = self.service_create(thru)
                else:
                    seconds, batch_id, rows = self.floor_create(thru, audit=who == "floor_audit")
                if rows != expected:
                    raise AssertionError(f"{who} batched {rows} records, expected {expected}")
                samples[who]["create"].append(seconds)
                self.settle()
                if who == "service":
                    deleted = self.service_delete(batch_id)
                else:
                    deleted = self.floor_delete(batch_id, audit=who == "floor_audit")
                samples[who]["delete"].append(deleted)
                self.say(
                    f"  round {round_ + 1} {who:<26} create {seconds:7.3f} s   "
                    f"delete {deleted:7.3f} s"
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

    # --- transfers --------------------------------------------------------------------------

    def reset_transfer(self, batch_id: int, export_format: str) -> None:
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
        self.settle()

    def median_runs(
        self, batch_id: int, export_format: str, repeat: int = TRANSFER_REPEAT
    ) -> tuple[dict, dict]:
        """The floor and the service's transfer, `repeat` times each and in turn,
        each from the same start, and the run of median time of each: a single run on
        a shared machine swings by a quarter either way, and its speed drifts over
        minutes, so a floor is measured beside the transfer it is compared with."""
        runs: dict[str, list[dict]] = {"floor": [], "service": []}
        for _ in range(repeat):
            self.settle()
            runs["floor"].append(self.worker("floor", batch_id))
            self.reset_transfer(batch_id, export_format)
            runs["service"].append(self.worker("service", batch_id))
        medians = []
        for mode in ("floor", "service"):
            ordered = sorted(runs[mode], key=lambda run: run["seconds"])
            medians.append(
                {**ordered[len(ordered) // 2], "all_seconds": [r["seconds"] for r in runs[mode]]}
            )
        return medians[0], medians[1]

    def worker(self, mode: str, batch_id: int, *, explain: bool = False) -> dict:
        command = [sys.executable, "-m", "bench.worker", mode, "--batch-id", str(batch_id)]
        if explain:
            command.append("--explain")
        done = subprocess.run(
            command, cwd=ROOT, env=dict(os.environ), capture_output=True, text=True
        )
        if done.returncode != 0:
            raise RuntimeError(f"bench.worker {mode} failed:\n{done.stderr[-4000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])

    def bench_transfers(self, big: int, small: int, xero: int) -> dict:
        sizes = {"big": big, "small": small}
        small_id = small
        counts = {
            name: sum(selectors.batch_counts(GLBatch.objects.get(pk=pk))[0].values())
            for name, pk in sizes.items()
        }
        self.say(f"\nTransfers: {counts['big']:,} records, and {counts['small']:,} for memory")
        results = []
        for export_format in EXPORT_FORMATS:
            floors, runs = {}, {}
            for name, pk in sizes.items():
                floors[name], runs[name] = self.median_runs(pk, export_format)
                if runs[name]["state"] != TransferState.DONE:
                    raise AssertionError(f"{export_format} transfer failed: {runs[name]['error']}")
                self.say(
                    f"  {export_format:<22} {name:<5} {runs[name]['seconds']:8.2f} s  "
                    f"+{runs[name]['growth_kib'] / 1024:.1f} MiB; floor "
                    f"{floors[name]['seconds']:.2f} s  {floors[name]['rows']:,} rows  "
                    f"+{floors[name]['growth_kib'] / 1024:.1f} MiB"
                )
            results.append(self._transfer_result(export_format, counts, runs, floors))
        # Xero: at most 500 documents a file, invoices apart from bills.
        xero_count = sum(selectors.batch_counts(GLBatch.objects.get(pk=xero))[0].values())
        xero_floor, xero_run = self.median_runs(xero, "xero_csv", XERO_REPEAT)
        if xero_run["state"] != TransferState.DONE:
            raise AssertionError(f"xero_csv transfer failed: {xero_run['error']}")
        self.say(
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
        phases = self.transfer_phases(small_id)
        phases["service (gl_journal_csv, with the transfer log)"] = next(
            r["small_seconds"] for r in results if r["format"] == "gl_journal_csv"
        )
        phases["floor"] = next(
            r["small_floor_seconds"] for r in results if r["format"] == "gl_journal_csv"
        )
        self.say(f"  phases on {phases['records']:,} records: {phases}")
        return {"formats": results, "records": counts, "phases": phases}

    def transfer_phases(self, batch_id: int) -> dict:
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
        self.settle()
        started = time.perf_counter()
        sum(1 for _ in postings())
        phases["read + postings"] = time.perf_counter() - started
        started = time.perf_counter()
        with open(os.devnull, "w", newline="", encoding="utf-8") as out:
            get_exporter("gl_journal_csv").write(
                postings(), out, batch_identifier="PHASES", options={}
            )
        phases["read + postings + file"] = time.perf_counter() - started
        started = time.perf_counter()
        for posting in postings():
            posting.lines_json_text()
        phases["read + postings + log JSON and fingerprint"] = time.perf_counter() - started
        return {"records": records, **{k: round(v, 3) for k, v in phases.items()}}

    def _transfer_result(self, export_format: str, counts: dict, runs: dict, floors: dict):
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

    # --- one record: unbatch and rebatch ---------------------------------------------------

    def bench_single(self, batches: dict[str, int]) -> list[dict]:
        self.say("\nUnbatch / rebatch one record")
        self.settle()
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
                for attempt in range(self.single_repeat + 1):
                    for action, service in (
                        ("unbatch", services.record_unbatch),
                        ("rebatch", services.record_rebatch),
                    ):
                        if attempt == 0:  # warm-up; its queries are kept for EXPLAIN
                            with queries_of() as captured:
                                service(actor=self.user, record_type=kind.type, record_id=record_id)
                            queries[action] = len(captured.captured_queries)
                            self.captured[f"{action} {kind.type}"] = [
                                q["sql"] for q in captured.captured_queries
                            ]
                            continue
                        started = time.perf_counter()
                        service(actor=self.user, record_type=kind.type, record_id=record_id)
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
                            "p95_ms": round(_percentile(values, 95) * 1000, 2),
                            "max_ms": round(max(values) * 1000, 2),
                            "queries": queries[action],
                            "target_ms": TARGETS["single_ms"],
                            "met": median_ms <= TARGETS["single_ms"],
                        }
                    )
                    self.say(
                        f"  {action:<8} {kind.type:<8} in {batch_name:<5} "
                        f"median {median_ms:6.2f} ms  ({queries[action]} queries)"
                    )
        return results

    def bench_deleted_page(self, batch_id: int) -> dict:
        """The page of the big batch once deleted (after its last transfer): it splits
        the former records into unchanged, changed and never sent by building each
        one's posting, so it grows with the batch. No target: shown, not judged."""
        self.say("\nDeleted batch page")
        self.settle()
        client = Client(raise_request_exception=False, HTTP_HOST="localhost")
        client.force_login(self.user)
        url = reverse("accounting:batch_detail", args=[batch_id])
        result = self._time_get(client, url, repeat=DELETED_PAGE_REPEAT)
        if result["status"] != 200:
            self.missing.append(f"deleted batch page {url} answered {result['status']}")
            return {}
        result.update(
            records=AuditEventRecord.objects.filter(
                event__batch_id=batch_id, event__action="batch_deleted"
            ).count(),
            target_ms=None,
            met=None,
        )
        self.say(
            f"  {result['records']:,} former records: {result['median_ms']:.0f} ms "
            f"({result['queries']} queries)"
        )
        return result

    # --- the unposted list ---------------------------------------------------------------

    def _time_get(self, client: Client, url: str, repeat: int | None = None) -> dict:
        response = client.get(url)  # warm-up
        if response.status_code != 200:
            return {"url": url, "status": response.status_code}
        with queries_of() as captured:
            client.get(url)
        sql = [q["sql"] for q in captured.captured_queries]  # before the next request resets
        items, is_last = _items(response), _is_last(response)
        timings = []
        for _ in range(repeat or self.page_repeat):
            started = time.perf_counter()
            response = client.get(url)
            timings.append(time.perf_counter() - started)
        median_ms = statistics.median(timings) * 1000
        return {
            "url": url,
            "status": response.status_code,
            "median_ms": round(median_ms, 2),
            "p95_ms": round(_percentile(timings, 95) * 1000, 2),
            "queries": len(sql),
            "items": items,
            "is_last": is_last,
            "sql": sql,
            "target_ms": TARGETS["list_ms"],
            "met": median_ms < TARGETS["list_ms"],
        }

    def bench_lists(self) -> dict:
        """First and last page of each list. The pagination is read off the first page:
        page numbers (`?page=N`), or a position cursor (`?cursor=after:<kind>.<date>.<id>`,
        kind = its index among the kinds listed), in which case the last page is asked
        for by the position of the row just before it."""
        self.say("\nUnposted list (first page, last page)")
        self.settle()  # the freshly built book written out: reads do not race the checkpoint
        client = Client(raise_request_exception=False, HTTP_HOST="localhost")
        client.force_login(self.user)
        results: list[dict] = []
        counts = {
            kind.type: selectors.unposted_list(record_type=kind.type).count() for kind in kinds()
        }
        cases = [
            ("API", "invoice", "/api/v1/accounting/unposted/?type=invoice", ["invoice"]),
            ("API", "all kinds", "/api/v1/accounting/unposted/", kind_types()),
            ("page", "invoice", "/finance/accounting-interface/unposted/invoice/", ["invoice"]),
        ]
        for interface, what, url, types in cases:
            rows = sum(counts[t] for t in types)
            separator = "&" if "?" in url else "?"
            first = client.get(url)
            style = _pagination_style(first)
            if style == "cursor":
                deep_kind = types[-1]  # the last page lies in the last kind listed
                deep = self._position_before_last_page(types.index(deep_kind), deep_kind, counts)
                deep_url, deep_label = f"{url}{separator}cursor=after:{deep}", "cursor"
            else:
                last = max(1, math.ceil(rows / PAGE_SIZE))
                deep_url, deep_label = f"{url}{separator}page={last}", f"{last:,}"
            for depth, page_url, label in (
                ("first", url, "1"),
                ("last", deep_url, deep_label),
            ):
                result = self._time_get(client, page_url)
                result.update(
                    interface=interface,
                    what=what,
                    depth=depth,
                    page=label,
                    pagination=style,
                    rows=rows,
                )
                if result["status"] != 200:
                    self.missing.append(f"{interface} {page_url} answered {result['status']}")
                    result["met"] = False
                else:
                    self.captured[f"{interface} {what} {depth} page"] = result["sql"]
                    self.say(
                        f"  {interface:<4} {what:<9} {depth:<5} page {label:>8} ({style}): "
                        f"{result['median_ms']:8.2f} ms  ({result['queries']} queries, "
                        f"{result.get('items', '?')} items)"
                    )
                results.append(result)
        return {"counts": counts, "requests": results, "selectors": self._bench_selectors(counts)}

    def _position_before_last_page(self, kind_index: int, record_type: str, counts) -> str:
        kind = get_kind(record_type)
        offset = max(0, counts[record_type] - PAGE_SIZE - 1)
        day, pk = selectors.unposted_list(record_type=record_type).values_list(
            kind.date_field, "pk"
        )[offset]
        position = getattr(selectors, "UnpostedPosition", None)
        if position is not None:
            return position(kind_index, day, pk).encode()
        return f"{kind_index}.{day.isoformat()}.{pk}"

    def _bench_selectors(self, counts: dict[str, int]) -> list[dict]:
        """The selectors under the pages, by OFFSET and by a keyset cursor on (date, id):
        what a keyset-paginated page would cost at the same depth."""
        results = []
        for record_type in ("invoice", "product"):
            kind = get_kind(record_type)
            rows = counts[record_type]
            offset = max(0, (math.ceil(rows / PAGE_SIZE) - 1) * PAGE_SIZE)
            anchor = None
            if offset:
                anchor = selectors.unposted_list(record_type=record_type).values_list(
                    kind.date_field, "pk"
                )[offset - 1]

            def by_offset(start: int = offset, record_type: str = record_type) -> list:
                records = list(
                    selectors.unposted_list(record_type=record_type)[start : start + PAGE_SIZE]
                )
                return selectors.unposted_items(record_type=record_type, records=records)

            def by_keyset(anchor=anchor, kind=kind) -> list:
                rows = selectors.unposted_list(record_type=kind.type)
                if anchor is not None:
                    day, pk = anchor
                    rows = rows.filter(**{f"{kind.date_field}__gte": day}).exclude(
                        **{kind.date_field: day, "pk__lte": pk}
                    )
                records = list(rows[:PAGE_SIZE])
                return selectors.unposted_items(record_type=kind.type, records=records)

            for method, fn in (("offset", by_offset), ("keyset", by_keyset)):
                fn()
                timings = []
                for _ in range(self.page_repeat):
                    started = time.perf_counter()
                    items = fn()
                    timings.append(time.perf_counter() - started)
                results.append(
                    {
                        "type": record_type,
                        "method": method,
                        "depth": "last" if offset else "first",
                        "offset": offset,
                        "items": len(items),
                        "median_ms": round(statistics.median(timings) * 1000, 2),
                    }
                )
                self.say(
                    f"  selector {record_type:<8} {method:<6} at offset {offset:>7,}: "
                    f"{results[-1]['median_ms']:8.2f} ms"
                )
        return results

    # --- the plans the hot queries must have ------------------------------------------------

    def plan_checks(self, batch_id: int, thru: dt.date) -> list[dict]:
        """EXPLAIN the product's own querysets for the hot reads and check each uses the
        index meant for it (a sequential scan or a sort of a million rows is how these
        pages and workflows become slow)."""

        checks: list[tuple[str, Any, str]] = []
        for kind in kinds():
            unposted = selectors.unposted_list(record_type=kind.type)
            anchor = unposted.values_list(kind.date_field, "pk")[unposted.count() // 2]
            keyset = unposted.filter(**{f"{kind.date_field}__gte": anchor[0]}).exclude(
                **{kind.date_field: anchor[0], "pk__lte": anchor[1]}
            )
            original = (
                kind.model.objects.filter(**{f"{kind.original_batch_field}__isnull": False})
                .values_list(f"{kind.original_batch_field}_id", flat=True)
                .first()
            )
            record_id = batched_rows(kind, batch_id).values_list("pk", flat=True).first()
            checks += [
                (
                    f"{kind.type}: unposted, first page",
                    unposted[:PAGE_SIZE],
                    f"{kind.type}_unposted",
                ),
                (
                    f"{kind.type}: unposted, keyset page",
                    keyset[:PAGE_SIZE],
                    f"{kind.type}_unposted",
                ),
                (
                    f"{kind.type}: batch create rows (through {thru})",
                    unposted_rows(kind, thru).values("pk"),
                    f"{kind.type}_unposted",
                ),
                (
                    f"{kind.type}: a batch's rows (delete, transfer, counts)",
                    batched_rows(kind, batch_id).values("pk"),
                    f"{kind.type}_gl_batch",
                ),
                (
                    f"{kind.type}: records unbatched from a batch",
                    unbatched_rows(kind, original or batch_id).values("pk"),
                    f"{kind.type}_original_batch",
                ),
                (
                    f"{kind.type}: one record, locked",
                    kind.queryset().filter(pk=record_id),
                    f"{kind.model._meta.db_table}_pkey",
                ),
            ]
        invoice_ids = list(
            selectors.unposted_list(record_type="invoice").values_list("pk", flat=True)[:PAGE_SIZE]
        )
        checks += [
            (
                "earlier sends of a page of records",
                TransferLog.objects.filter(
                    record_type="invoice", record_id__in=invoice_ids, removed_at__isnull=True
                ),
                "transfer_log_live_record",
            ),
            (
                "audit trail of a record",
                AuditEvent.objects.filter(record_type="invoice", record_id=invoice_ids[0]),
                "audit_record",
            ),
            (
                "batch steps of a record (its audit trail)",
                AuditEventRecord.objects.filter(record_type="invoice", record_id=invoice_ids[0]),
                "accounting_auditeventrecord_pkey",
            ),
            (
                "records a batch let go (a deleted batch's split)",
                AuditEventRecord.objects.filter(
                    event__in=AuditEvent.objects.filter(batch_id=batch_id, action="batch_created")
                ),
                "audit_link_event",
            ),
        ]
        results = []
        self.say("\nPlans of the hot queries")
        for name, queryset, index in checks:
            sql, params = queryset.query.sql_with_params()
            with connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
                plan = cursor.fetchone()[0][0]["Plan"]
            scans = list(_scans(plan))
            used = sorted({s["index"] for s in scans if s["index"]})
            met = index in used
            results.append(
                {
                    "check": name,
                    "expected_index": index,
                    "indexes": used,
                    "met": met,
                    "scans": scans,
                    "cost": plan.get("Total Cost"),
                }
            )
            self.say(f"  {'ok ' if met else 'NO '} {name:<58} {', '.join(used) or scans}")
        return results

    # --- EXPLAIN ------------------------------------------------------------------------------

    def explain(self, worker_plans: list[str]) -> list[dict]:
        self.say("\nEXPLAIN of the hot queries")
        seen: set[str] = set()
        results = []
        with connection.cursor() as cursor:
            cursor.execute("SELECT relname FROM pg_class WHERE relkind = 'r' AND reltuples > 10000")
            big = {row[0] for row in cursor.fetchall()}
        for name, statements in self.captured.items():
            for sql in statements:
                head = sql.lstrip().split(None, 1)[0].upper()
                if head not in ("SELECT", "UPDATE", "INSERT", "DELETE", "WITH"):
                    continue
                shape = re.sub(r"\b\d+\b|'[^']*'", "?", sql)
                if shape in seen:
                    continue
                seen.add(shape)
                try:
                    with connection.cursor() as cursor:
                        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}")
                        plan = cursor.fetchone()[0][0]["Plan"]
                except Exception as error:
                    results.append({"workflow": name, "sql": sql[:300], "error": str(error)})
                    continue
                scans = list(_scans(plan))
                results.append(
                    {
                        "workflow": name,
                        "sql": sql[:300],
                        "cost": plan.get("Total Cost"),
                        "rows": plan.get("Plan Rows"),
                        "scans": scans,
                        "seq_scan_on_big_table": [
                            s["relation"]
                            for s in scans
                            if s["node"] == "Seq Scan" and s["relation"] in big
                        ],
                    }
                )
        for text in worker_plans:
            results.append({"workflow": "transfer (auto_explain)", "plan_text": text[:3000]})
        for item in results:
            if item.get("seq_scan_on_big_table"):
                self.say(
                    f"  SEQ SCAN {item['seq_scan_on_big_table']} in {item['workflow']}: "
                    f"{item['sql'][:120]}"
                )
        self.say(
            f"  {len(results)} distinct statements explained; "
            f"{sum(bool(i.get('seq_scan_on_big_table')) for i in results)} with a "
            "sequential scan of a big table"
        )
        return results

    # --- the whole run ----------------------------------------------------------------------

    def run(self) -> dict:
        started = time.perf_counter()
        lists = self.bench_lists()
        batches = self.bench_batches()
        # The batches the transfers and single-record actions work on.
        thru, _ = self.thru_date_for(self.batch)
        self.settle()
        create_seconds, big, _ = self.service_create(thru, capture="batch create")
        small_thru, _ = self.thru_date_for(max(1, self.batch // 10))
        _, small, _ = self.service_create(small_thru)
        invoice_ids = list(
            selectors.unposted_list(record_type="invoice").values_list("pk", flat=True)[:XERO_BATCH]
        )
        xero = services.batch_create(
            actor=self.user,
            items=[{"type": "invoice", "id": pk} for pk in invoice_ids],
            transfer="file",
        ).pk
        plans_checked = self.plan_checks(big, thru)
        transfers = self.bench_transfers(big, small, xero)
        single = self.bench_single({"big": big, "small": small})
        self.reset_transfer(small, "gl_journal_csv")
        plans = self.worker("service", small, explain=True)
        self.settle()
        delete_seconds = self.service_delete(big, capture="batch delete")
        deleted_page = self.bench_deleted_page(big)
        explain = self.explain(plans.get("plans", []))
        return {
            "lists": lists,
            "batch": batches,
            "transfer": transfers,
            "single": single,
            "deleted_page": deleted_page,
            "explain": explain,
            "plans": plans_checked,
            "extra": {"create_big_seconds": create_seconds, "delete_big_seconds": delete_seconds},
            "missing": self.missing,
            "notes": self.notes,
            "seconds": round(time.perf_counter() - started, 1),
        }


def _pagination_style(response) -> str:
    """ "offset" (?page=N) or "cursor" (?cursor=after:...), from a first page."""
    if response.get("Content-Type", "").startswith("application/json"):
        body = response.json()
        link = body.get("next") or ""
        return "cursor" if "count" not in body and "cursor=" in link else "offset"
    text = response.content.decode("utf-8", "replace")
    return "cursor" if "cursor=after" in text and "page=" not in text else "offset"


def _items(response) -> int | None:
    if response.get("Content-Type", "").startswith("application/json"):
        return len(response.json().get("results", []))
    return None


def _is_last(response) -> bool | None:
    """Whether a JSON page says it is the last one (no next link)."""
    if response.get("Content-Type", "").startswith("application/json"):
        return response.json().get("next") is None
    return None


def queries_of() -> CaptureQueriesContext:
    """Django's query capture, on an emptied query log: the log is a deque of at most
    9,000 queries, and once full (after `migrate`) a capture would slice nothing."""
    connection.queries_log.clear()
    return CaptureQueriesContext(connection)


def _percentile(values: list[float], percent: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, math.ceil(percent / 100 * len(ordered)) - 1))
    return ordered[index]


def _scans(plan: dict):
    node = plan.get("Node Type", "")
    if "Scan" in node:
        yield {
            "node": node,
            "relation": plan.get("Relation Name"),
            "index": plan.get("Index Name"),
            "rows": plan.get("Plan Rows"),
        }
    for child in plan.get("Plans", []):
        yield from _scans(child)


# --- the machine, the table, the JSON ----------------------------------------------------------


def machine() -> dict:
    info: dict[str, Any] = {
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["memory_gib"] = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        info["postgresql"] = cursor.fetchone()[0]
        for name in ("shared_buffers", "work_mem", "max_wal_size", "jit", "synchronous_commit"):
            cursor.execute(f"SHOW {name}")
            info[f"pg_{name}"] = cursor.fetchone()[0]
    with contextlib.suppress(OSError):
        info["git_commit"] = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
    return info


def summary_rows(report: dict) -> list[dict]:
    """One row per timed workflow: measured, floor or target, ratio, met."""
    rows = []
    batch = report["batch"]
    for action in ("create", "delete"):
        r = batch[action]
        rows.append(
            {
                "workflow": f"batch {action} ({batch['records']:,} records)",
                "measured": f"{r['seconds']:.2f} s",
                "floor": f"{r['floor_seconds']:.2f} s",
                "ratio": f"{r['ratio']:.2f}x",
                "target": f"<= {r['target_ratio']:g}x floor",
                "met": r["met"],
                "extra": f"floor + audit links {r['floor_with_audit_seconds']:.2f} s "
                f"({r['ratio_vs_floor_with_audit']:.2f}x); {r['records_per_second']:,} rec/s",
            }
        )
    for t in report["transfer"]["formats"]:
        extra = f"{t['records_per_second']:,} rec/s; peak +{t['peak_growth_mib']} MiB"
        if "small_peak_growth_mib" in t:
            extra += f" (+{t['small_peak_growth_mib']} MiB at {t['small_records']:,})"
        rows.append(
            {
                "workflow": f"transfer {t['format']} ({t['records']:,} records)",
                "measured": f"{t['seconds']:.2f} s",
                "floor": f"{t['floor_seconds']:.2f} s",
                "ratio": f"{t['ratio']:.2f}x",
                "target": f"<= {t['target_ratio']:g}x floor"
                + (", streamed" if "streamed" in t else " (at most 500 a file)"),
                "met": t["met"],
                "extra": extra,
            }
        )
    for r in report["lists"]["requests"]:
        rows.append(
            {
                "workflow": f"{r['interface']} unposted {r['what']}, {r['depth']} page "
                f"({r['page']})",
                "measured": f"{r['median_ms']:.1f} ms"
                if "median_ms" in r
                else f"HTTP {r['status']}",
                "floor": "",
                "ratio": "",
                "target": f"< {TARGETS['list_ms']:g} ms",
                "met": r["met"],
                "extra": f"{r.get('queries', '?')} queries; p95 {r.get('p95_ms', '?')} ms",
            }
        )
    page = report.get("deleted_page")
    if page:
        rows.append(
            {
                "workflow": f"page of a deleted batch ({page['records']:,} former records)",
                "measured": f"{page['median_ms'] / 1000:.2f} s",
                "floor": "",
                "ratio": "",
                "target": "none (grows with the batch)",
                "met": "-",
                "extra": f"{page['queries']} queries; unchanged / changed / never sent",
            }
        )
    plans = report.get("plans", [])
    if plans:
        missed = [p["check"] for p in plans if not p["met"]]
        rows.append(
            {
                "workflow": f"EXPLAIN: hot queries on their index ({len(plans)} checked)",
                "measured": f"{len(plans) - len(missed)}/{len(plans)}",
                "floor": "",
                "ratio": "",
                "target": "all",
                "met": not missed,
                "extra": "; ".join(missed)[:200],
            }
        )
    for s in report["single"]:
        rows.append(
            {
                "workflow": f"{s['action']} one {s['type']} in a {s['batch_records']:,} batch",
                "measured": f"{s['median_ms']:.1f} ms",
                "floor": "",
                "ratio": "",
                "target": f"< {s['target_ms']:g} ms",
                "met": s["met"],
                "extra": f"{s['queries']} queries; p95 {s['p95_ms']} ms",
            }
        )
    return rows


def print_table(rows: list[dict]) -> None:
    columns = ["workflow", "measured", "floor", "ratio", "target", "met", "extra"]
    widths = {c: max(len(c), *(len(_cell(r[c])) for r in rows)) for c in columns if c != "extra"}
    header = "  ".join(c.ljust(widths[c]) for c in columns if c != "extra") + "  extra"
    print("\n" + header)
    print("-" * len(header))
    for r in rows:
        print(
            "  ".join(_cell(r[c]).ljust(widths[c]) for c in columns if c != "extra")
            + "  "
            + r["extra"]
        )


def markdown(report: dict) -> str:
    """The summary as a Markdown table, with the machine: for bench/README.md."""
    meta, machine_info = report["meta"], report["meta"]["machine"]
    lines = [
        f"{meta['date']}, {meta['records']:,} records, batch {meta['batch']:,}; "
        f"{machine_info.get('nproc')} cores ({machine_info.get('cpu', '?')}), "
        f"{machine_info.get('memory_gib', '?')} GiB; {machine_info['postgresql'].split(' on ')[0]}"
        f" (shared_buffers {machine_info['pg_shared_buffers']}, jit {machine_info['pg_jit']}); "
        f"Python {machine_info['python']}; load average "
        f"{machine_info['load_average_before'][0]} before, "
        f"{machine_info['load_average'][0]} after; book built in {report['build']['seconds']} s, "
        f"whole run {meta['total_seconds']} s.",
        "",
        "| workflow | measured | floor | ratio | target | met | notes |",
        "|---|---:|---:|---:|---|:-:|---|",
    ]
    for row in report["summary"]:
        lines.append(
            f"| {row['workflow']} | {row['measured']} | {row['floor']} | {row['ratio']} | "
            f"{row['target']} | {_cell(row['met'])} | {row['extra']} |"
        )
    return "\n".join(lines) + "\n"


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "NO"
    return str(value)


def write_json(report: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, default=str) + "\n")
