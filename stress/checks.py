"""What every scenario proves afterwards, in SQL on the private database and from the
files and ledgers the transfers wrote."""

import csv
import io
from collections import Counter
from pathlib import Path

# The records each batch step moved, one row each: from its sets (one row per kind, the
# ids in an array) and from the links of steps written before sets.
LINKS = """(
    SELECT event_id, record_type, unnest(record_ids) AS record_id
    FROM accounting_auditrecordset
    UNION ALL
    SELECT event_id, record_type, record_id FROM accounting_auditeventrecord
)"""

# Each record kind's table and the column that holds its batch.
KINDS = {
    "invoice": ("invoicing_invoice", "gl_batch_id"),
    "expense": ("expenses_expenseentry", "gl_batch_id"),
    "freight": ("procurement_purchaseorder", "freight_gl_batch_id"),
    "product": ("procurement_purchaseorderline", "gl_batch_id"),
}


def records_in_two_batches(stack) -> int:
    """Records that the creation events of two batches still standing (not deleted)
    both took and neither let go (no unbatch from it): a record in two batches at once."""
    return stack.sql(
        f"""
        SELECT count(*) FROM (
            SELECT l.record_type, l.record_id
            FROM {LINKS} AS l
            JOIN accounting_auditevent AS e ON e.id = l.event_id
            JOIN accounting_glbatch AS b ON b.id = e.batch_id
            WHERE e.action = 'batch_created' AND b.status <> 'deleted'
              AND NOT EXISTS (SELECT 1 FROM accounting_auditevent AS u
                  WHERE u.action = 'unbatched' AND u.batch_id = b.id
                    AND u.record_type = l.record_type AND u.record_id = l.record_id)
            GROUP BY l.record_type, l.record_id
            HAVING count(DISTINCT e.batch_id) > 1
        ) AS twice"""
    )[0][0]


def links_disagreeing_with_columns(stack) -> int:
    """Records whose batch column names a batch that did not take them (no link from its
    creation event), plus links of a standing batch to a record that is elsewhere."""
    total = 0
    for kind, (table, column) in KINDS.items():
        total += stack.sql(
            f"""
            SELECT count(*) FROM {table} AS r
            JOIN accounting_glbatch AS b ON b.id = r.{column}
            WHERE NOT EXISTS (
                SELECT 1 FROM {LINKS} AS l
                JOIN accounting_auditevent AS e ON e.id = l.event_id
                WHERE e.action IN ('batch_created', 'batch_rerecorded') AND e.batch_id = b.id
                  AND l.record_type = %s AND l.record_id = r.id)
            AND NOT EXISTS (
                SELECT 1 FROM accounting_auditevent AS e
                WHERE e.action = 'rebatched' AND e.batch_id = b.id
                  AND e.record_type = %s AND e.record_id = r.id)""",
            [kind, kind],
        )[0][0]
        total += stack.sql(
            f"""
            SELECT count(*) FROM {LINKS} AS l
            JOIN accounting_auditevent AS e ON e.id = l.event_id
            JOIN accounting_glbatch AS b ON b.id = e.batch_id
            JOIN {table} AS r ON r.id = l.record_id
            WHERE e.action = 'batch_created' AND b.status <> 'deleted' AND l.record_type = %s
              AND r.{column} IS DISTINCT FROM b.id
              AND NOT EXISTS (SELECT 1 FROM accounting_auditevent AS u
                  WHERE u.action = 'unbatched' AND u.batch_id = b.id
                    AND u.record_type = l.record_type AND u.record_id = l.record_id)""",
            [kind],
        )[0][0]
    return total


def sent_twice_in_log(stack) -> int:
    """Records with two live (not removed) transfer-log rows: in the package twice."""
    return stack.sql(
        """
        SELECT count(*) FROM (
            SELECT record_type, record_id FROM accounting_transferlog
            WHERE removed_at IS NULL GROUP BY record_type, record_id HAVING count(*) > 1
        ) AS twice"""
    )[0][0]


def batch_records(stack, batch_id: int) -> set[tuple[str, int]]:
    found = set()
    for kind, (table, column) in KINDS.items():
        for (record_id,) in stack.sql(f"SELECT id FROM {table} WHERE {column} = %s", [batch_id]):
            found.add((kind, record_id))
    return found


def log_rows(stack, batch_id: int) -> Counter:
    return Counter(
        {
            (kind, record_id): count
            for kind, record_id, count in stack.sql(
                "SELECT record_type, record_id, count(*) FROM accounting_transferlog "
                "WHERE batch_id = %s GROUP BY 1, 2",
                [batch_id],
            )
        }
    )


def log_references(stack, batch_id: int) -> dict[tuple[str, str], tuple[str, int]]:
    return {
        (kind, reference): (kind, record_id)
        for kind, record_id, reference in stack.sql(
            "SELECT record_type, record_id, reference FROM accounting_transferlog "
            "WHERE batch_id = %s",
            [batch_id],
        )
    }


def batch_row(stack, batch_id: int) -> dict:
    columns = (
        "id",
        "batch_identifier",
        "status",
        "transfer_state",
        "transfer_progress",
        "transfer_error",
        "file",
        "transfer_method",
    )
    row = stack.sql(
        f"SELECT {', '.join(columns)} FROM accounting_glbatch WHERE id = %s", [batch_id]
    )
    return dict(zip(columns, row[0], strict=True))


def file_records(path: Path) -> Counter:
    """(record_type, reference) -> how many separate runs of rows it has in a GL journal
    CSV: 1 when the record is in the file once (its lines are written together)."""
    runs: Counter = Counter()
    previous = None
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(io.StringIO(handle.read())):
            key = (row["record_type"], row["reference"])
            if key != previous:
                runs[key] += 1
                previous = key
    return runs


def verify_file_batch(stack, batch_id: int) -> dict:
    """A done file transfer: the file and the transfer log hold each record of the batch
    exactly once, and nothing else."""
    batch = batch_row(stack, batch_id)
    expected = batch_records(stack, batch_id)
    logged = log_rows(stack, batch_id)
    result = {
        "records": len(expected),
        "log_twice": sum(1 for n in logged.values() if n > 1),
        "log_missing": len(expected - set(logged)),
        "log_extra": len(set(logged) - expected),
        "file_twice": 0,
        "file_missing": 0,
        "file_extra": 0,
        "file": bool(batch["file"]),
    }
    if not batch["file"]:
        result["file_missing"] = len(expected)
        return result
    runs = file_records(stack.media / batch["file"])
    references = log_references(stack, batch_id)
    in_file = {references.get(key, ("?", *key)) for key in runs}
    result["file_twice"] = sum(1 for n in runs.values() if n > 1)
    result["file_missing"] = len(expected - in_file)
    result["file_extra"] = len(in_file - expected)
    return result


def verify_ledger(path: Path, expected: set[tuple[str, int]], batch_identifier: str) -> dict:
    """The ledger loads with beancount's loader with zero errors and holds one
    transaction per record of the batch."""
    from beancount import loader
    from beancount.core.data import Transaction

    if not path.exists():
        return {
            "ledger_errors": 0,
            "ledger_twice": 0,
            "ledger_missing": len(expected),
            "ledger_extra": 0,
            "transactions": 0,
        }
    entries, errors, _ = loader.load_file(str(path))
    seen: Counter = Counter()
    for entry in entries:
        if isinstance(entry, Transaction) and entry.meta.get("psa_batch") == batch_identifier:
            record_type, _, record_id = str(entry.meta.get("psa_record", "")).partition(":")
            seen[(record_type, int(record_id or 0))] += 1
    return {
        "ledger_errors": len(errors),
        "ledger_twice": sum(1 for n in seen.values() if n > 1),
        "ledger_missing": len(expected - set(seen)),
        "ledger_extra": len(set(seen) - expected),
        "transactions": sum(seen.values()),
    }
