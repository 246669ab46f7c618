"""One transfer in a process of its own, so that its peak memory is its own.

    python -m bench.worker service --batch-id 7   # the product: batch_transfer_run
    python -m bench.worker floor --batch-id 7     # raw cursor + csv.writer, same rows
    python -m bench.worker books --batch-id 7 --file export.csv --user-id 3
    python -m bench.worker books-floor --batch-id 7 --file export.csv --package other

DATABASE_URL and MEDIA_ROOT come from the environment (the benchmark sets them). Prints
one JSON line: seconds, peak RSS of the process before and after the work (KiB), rows
and bytes written, and with --explain the plans of the queries it ran (auto_explain).
"""

import argparse
import csv
import json
import os
import re
import resource
import sys
import tempfile
import time

# What a posting reads, per kind, joined by hand: the floor reads the same rows.
FLOOR_SQL = {
    "invoice": """
        SELECT i.id, i.number, i.date, i.due_date, i.subtotal, i.tax, i.total, c.name,
            c.identifier, t.code, t.gl_account_id, l.position, l.description, l.amount,
            l.gl_account_id
        FROM invoicing_invoice AS i
        JOIN psa_company AS c ON c.id = i.company_id
        LEFT JOIN accounting_taxcode AS t ON t.id = i.tax_code_id
        JOIN invoicing_invoiceline AS l ON l.invoice_id = i.id
        WHERE i.gl_batch_id = %s
        ORDER BY i.id, l.position, l.id""",
    "expense": """
        SELECT e.id, e.date, e.amount, e.description, et.name, et.gl_account_id,
            u.username, u.first_name, u.last_name
        FROM expenses_expenseentry AS e
        JOIN expenses_expensesheet AS s ON s.id = e.sheet_id
        JOIN auth_user AS u ON u.id = s.member_id
        JOIN expenses_expensetype AS et ON et.id = e.expense_type_id
        WHERE e.gl_batch_id = %s
        ORDER BY e.id""",
    "freight": """
        SELECT po.id, po.number, po.date, po.freight_amount, po.freight_gl_account_id, v.name,
            v.identifier
        FROM procurement_purchaseorder AS po
        JOIN psa_company AS v ON v.id = po.vendor_id
        WHERE po.freight_gl_batch_id = %s
        ORDER BY po.id""",
    "product": """
        SELECT l.id, po.number, l.received_date, po.date, l.description, l.amount, l.total,
            l.gl_account_id, v.name, v.identifier, t.code, t.rate, t.gl_account_id
        FROM procurement_purchaseorderline AS l
        JOIN procurement_purchaseorder AS po ON po.id = l.purchase_order_id
        JOIN psa_company AS v ON v.id = po.vendor_id
        LEFT JOIN accounting_taxcode AS t ON t.id = po.tax_code_id
        WHERE l.gl_batch_id = %s
        ORDER BY l.id""",
}


def _peak_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def floor_transfer(batch_id: int, out_dir: str, chunk: int = 2000) -> dict:
    """The same rows read with a raw server-side cursor and written with csv.writer."""
    from django.db import connection

    connection.ensure_connection()
    raw = connection.connection
    rows = 0
    with tempfile.NamedTemporaryFile(
        "w", newline="", encoding="utf-8", dir=out_dir, suffix=".csv", delete=False
    ) as handle:
        writer = csv.writer(handle)
        with raw.transaction():
            for kind, sql in FLOOR_SQL.items():
                with raw.cursor(name=f"bench_floor_{kind}") as cursor:
                    cursor.itersize = chunk
                    cursor.execute(sql, [batch_id])
                    for row in cursor:
                        writer.writerow(row)
                        rows += 1
        name = handle.name
    size = os.path.getsize(name)
    os.unlink(name)
    return {"rows": rows, "bytes": size}


def service_transfer(batch_id: int) -> dict:
    from django.core.files.storage import default_storage

    from accounting import services

    batch = services.batch_transfer_run(batch_id=batch_id)
    size = default_storage.size(batch.file.name) if batch.file else 0
    return {
        "state": batch.transfer_state,
        "error": batch.transfer_error,
        "bytes": size,
        "logged": batch.transfer_logs.count(),
    }


def books_floor(batch_id: int, path: str, package: str) -> dict:
    """What any comparison of an export with the books reads, at least: every row of
    the export parsed (csv.reader, an amount per row), the transfer log's file sends to
    the package (raw server-side cursor), and the batch's records as a transfer reads
    them (the transfer's floor queries)."""
    from decimal import Decimal

    from django.db import connection

    rows = 0
    with open(path, newline="", encoding="utf-8") as handle:
        for row in csv.reader(handle):
            if rows:
                Decimal(row[6]) - Decimal(row[7])
            rows += 1
    connection.ensure_connection()
    raw = connection.connection
    with raw.transaction():
        with raw.cursor(name="bench_books_log") as cursor:
            cursor.itersize = 2000
            cursor.execute(
                """SELECT record_type, record_id, reference, fingerprint, gl_lines
                     FROM accounting_transferlog WHERE method = 'file' AND package = %s
                    ORDER BY record_type COLLATE "C", record_id, sent_at, id""",
                [package],
            )
            for _row in cursor:
                rows += 1
        for kind, sql in FLOOR_SQL.items():
            with raw.cursor(name=f"bench_books_{kind}") as cursor:
                cursor.itersize = 2000
                cursor.execute(sql, [batch_id])
                for _row in cursor:
                    rows += 1
    return {"rows": rows}


def books_check(path: str, user_id: int) -> dict:
    """The books check of an uploaded export: the upload (read strictly, staged) and
    the run (resolve, compare, differences stored), each timed."""
    from django.contrib.auth.models import User
    from django.core.files import File

    from accounting import reconciliation, services, tasks

    tasks.reconciliation_run.delay = lambda reconciliation_id: None  # run below, timed
    user = User.objects.get(pk=user_id)
    started = time.perf_counter()
    with open(path, "rb") as handle:
        run = services.reconciliation_upload(
            actor=user, upload_format="gl_journal_csv", file=File(handle, name="export.csv")
        )
    uploaded = time.perf_counter() - started
    run = reconciliation.reconciliation_run(reconciliation_id=run.pk)
    return {
        "state": run.state,
        "error": run.error,
        "counts": run.counts,
        "rows": run.upload_rows,
        "upload_seconds": round(uploaded, 4),
        "run_seconds": round(time.perf_counter() - started - uploaded, 4),
    }


def _collect_plans(plans: list[str]):
    from django.db import connection

    connection.ensure_connection()
    raw = connection.connection

    seen: set[str] = set()

    def on_notice(diagnostic) -> None:
        text = diagnostic.message_primary or ""
        if "plan:" not in text:
            return
        query = text.split("Query Text:", 1)[-1].split("\n", 1)[0]
        shape = re.sub(r"\b\d+\b|'[^']*'|_curs_\w+", "?", query)[:400]
        if shape not in seen:  # one plan per statement shape
            seen.add(shape)
            plans.append(text)

    raw.add_notice_handler(on_notice)
    with connection.cursor() as cursor:
        cursor.execute("LOAD 'auto_explain'")
        cursor.execute("SET auto_explain.log_min_duration = 0")
        cursor.execute("SET auto_explain.log_level = notice")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.worker")
    parser.add_argument("mode", choices=["service", "floor", "books", "books-floor"])
    parser.add_argument("--batch-id", type=int, required=True)
    parser.add_argument("--file", help="books check: the export to upload")
    parser.add_argument("--user-id", type=int, help="books check: who uploads it")
    parser.add_argument("--package", help="books check floor: the package sent to")
    parser.add_argument("--explain", action="store_true", help="collect the plans it ran")
    args = parser.parse_args(argv)

    from bench import db

    db.setup_django(os.environ["DATABASE_URL"], os.environ["MEDIA_ROOT"])
    from django.conf import settings

    settings.DEBUG = False
    import accounting.services
    import accounting.transfer  # noqa: F401

    plans: list[str] = []
    if args.explain:
        _collect_plans(plans)
    else:
        from django.db import connection

        connection.ensure_connection()
    baseline = _peak_kib()
    started = time.perf_counter()
    if args.mode == "service":
        result = service_transfer(args.batch_id)
    elif args.mode == "books":
        result = books_check(args.file, args.user_id)
    elif args.mode == "books-floor":
        result = books_floor(args.batch_id, args.file, args.package)
    else:
        result = floor_transfer(args.batch_id, os.environ["MEDIA_ROOT"])
    seconds = time.perf_counter() - started
    result.update(
        seconds=round(seconds, 4),
        baseline_kib=baseline,
        peak_kib=_peak_kib(),
        growth_kib=_peak_kib() - baseline,
    )
    if args.explain:
        result["plans"] = plans
    sys.stdout.write(json.dumps(result, default=str) + "\n")


if __name__ == "__main__":
    main()
