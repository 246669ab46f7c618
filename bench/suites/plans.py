"""The plans of the hot queries: EXPLAIN of the product's own querysets, each of which
must use the index meant for it, and of every statement the timed workflows ran."""

import datetime as dt
import re
from typing import Any

from django.db import connection

from accounting import selectors
from accounting.former import record_changed_sql
from accounting.models import AuditEvent, AuditRecordSet, FormerRecord, GLBatch, TransferLog
from accounting.postables import batched_rows, kinds, unbatched_rows, unposted_rows
from accounting.selectors.batches import taken_sql, taking_batches
from bench.context import PAGE_SIZE, Context, plan_scans


def plan_checks(ctx: Context, batch_id: int, thru: dt.date) -> list[dict]:
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
            # The body of accounting_batch_steps, planned as it runs (no sequential scan).
            "batch steps of a record (its audit trail: the sets' GIN index)",
            AuditRecordSet.objects.filter(
                record_type="invoice", record_ids__contains=[invoice_ids[0]]
            ).values("event_id"),
            "audit_set_ids",
        ),
    ]
    ctx.say("\nPlans of the hot queries")
    return _check(ctx, checks)


def former_plan_checks(ctx: Context, batch_id: int) -> list[dict]:
    """The same for a deleted batch's stored split (`accounting.former`), once the big
    batch is deleted: a page of a part, deep in it by its keyset; how many
    of its unchanged records a batch holds now; and an edit's update of a record's row.
    (The counts of its parts are a few rows of `FormerCount`, read by its primary key
    once that table is more than a page.)"""
    batch = GLBatch.objects.get(pk=batch_id)
    unchanged = selectors.former_rows(batch, "unchanged")
    middle = unchanged[unchanged.count() // 2]
    record_type, record_id = middle[0], middle[1]
    pkey = f"{FormerRecord._meta.db_table}_pkey"
    checks: list[tuple[str, Any, str]] = [
        ("deleted batch's split: first page of a part", unchanged[:101], pkey),
        (
            "deleted batch's split: a page deep in a part (keyset)",
            selectors.former_rows(batch, "unchanged", after=(record_type, record_id))[:101],
            pkey,
        ),
        (
            "deleted batch's split: unchanged records a later batch holds",
            taken_sql(batch, taking_batches(batch) or [0]),
            pkey,
        ),
        (
            "deleted batch's split: an edit moves a record to changed",
            (record_changed_sql(), [record_type, record_id] * 3),
            pkey,
        ),
    ]
    ctx.say("\nPlans of the deleted batch's split")
    return _check(ctx, checks)


def _check(ctx: Context, checks: list[tuple[str, Any, str]]) -> list[dict]:
    results = []
    for name, query, index in checks:
        sql, params = query if isinstance(query, tuple) else query.query.sql_with_params()
        with connection.cursor() as cursor:
            # A function's body is planned with the function's settings.
            sets = "accounting_auditrecordset" in sql and "@>" in sql
            if sets:
                cursor.execute("SET enable_seqscan = off")
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
            plan = cursor.fetchone()[0][0]["Plan"]
            if sets:
                cursor.execute("RESET enable_seqscan")
        scans = list(plan_scans(plan))
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
        ctx.say(f"  {'ok ' if met else 'NO '} {name:<58} {', '.join(used) or scans}")
    return results


def explain(ctx: Context, worker_plans: list[str]) -> list[dict]:
    ctx.say("\nEXPLAIN of the hot queries")
    seen: set[str] = set()
    results = []
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname FROM pg_class WHERE relkind = 'r' AND reltuples > 10000")
        big = {row[0] for row in cursor.fetchall()}
    for name, statements in ctx.captured.items():
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
            scans = list(plan_scans(plan))
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
            ctx.say(
                f"  SEQ SCAN {item['seq_scan_on_big_table']} in {item['workflow']}: "
                f"{item['sql'][:120]}"
            )
    ctx.say(
        f"  {len(results)} distinct statements explained; "
        f"{sum(bool(i.get('seq_scan_on_big_table')) for i in results)} with a "
        "sequential scan of a big table"
    )
    return results
