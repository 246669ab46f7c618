"""A deleted batch's split: which of the records it let go still match what it sent.

The split is computed once, set-based, when the batch is deleted: one
`INSERT ... SELECT` per kind into `FormerRecord`, while the records are still in the
batch. A record of the batch is

- *not sent* when the batch has no transfer-log row of it that reached the package
  (`selectors.sent_logs`: a direct transfer's rows, a file transfer's once it is done);
- *changed* when it was unbatched from the batch after it was sent and a step changed it
  since (a record in a batch is locked: it changes only once unbatched), unless the
  clerk said since that step that the package was updated by hand to match it;
- *unchanged* otherwise: what the package holds is what it holds.

After the delete, a step that changes a record (any audited step on it but unbatch and
rebatch, which move it without changing it) moves it from unchanged to changed in the
split of every deleted batch that let it go (`record_changed`, called by
`audit.audit_record`), and moves the parts' counts (`FormerCount`, written with the split)
with it; nothing else is recomputed. The page of a deleted batch pages the
split by its primary key, and a re-record takes its unchanged records from it.

What the split does not see: a change of the accounting setup (an account's number or
name) after a record was sent changes the record's GL lines without a step on the
record, so the record stays unchanged in the split.
"""

from django.db import connection

from accounting.models import (
    AuditEvent,
    AuditEventRecord,
    FormerCount,
    FormerRecord,
    FormerState,
    GLBatch,
    TransferLog,
    TransferMethod,
    TransferState,
)
from accounting.postables import PostableKind

# Steps on one record that move it without changing what it posts, or (the clerk's word
# that the package was updated by hand) bring what was sent in line with it.
MOVES = ("unbatched", "rebatched", "package_updated_by_hand")
# The clerk's word that the package holds the record as it is now: steps before it are
# in the package too.
IN_LINE = "package_updated_by_hand"


def _tables() -> dict[str, str]:
    return {
        "former": FormerRecord._meta.db_table,
        "log": TransferLog._meta.db_table,
        "event": AuditEvent._meta.db_table,
        "links": AuditEventRecord._meta.db_table,
        "counts": FormerCount._meta.db_table,
    }


def _state_sql(kind: PostableKind, rows: str) -> str:
    """The INSERT ... SELECT of one kind's part of a split; `rows` yields the records'
    ids as `r.id`. Parameters: batch id, record type, those of `rows`, batch id, record
    type, whether the batch's file transfer is done, batch id, record type."""
    t = _tables()
    return f"""
        INSERT INTO {t["former"]} (batch_id, state, record_type, record_id, sent_at)
        SELECT %s,
               CASE WHEN t.record_id IS NULL THEN {FormerState.NOT_SENT.value}
                    WHEN u.record_id IS NOT NULL AND EXISTS (
                        SELECT 1 FROM {t["event"]} AS e
                        WHERE e.record_type = u.record_type AND e.record_id = r.id
                          AND e.at > t.sent_at AND e.action NOT IN {MOVES!r}
                          AND NOT EXISTS (
                              SELECT 1 FROM {t["event"]} AS h
                              WHERE h.record_type = u.record_type AND h.record_id = r.id
                                AND h.action = '{IN_LINE}' AND h.at >= e.at
                          )
                    ) THEN {FormerState.CHANGED.value}
                    ELSE {FormerState.UNCHANGED.value} END,
               %s, r.id, t.sent_at
        FROM ({rows}) AS r
        LEFT JOIN {t["log"]} AS t
          ON t.batch_id = %s AND t.record_type = %s AND t.record_id = r.id
         AND (t.method = '{TransferMethod.DIRECT.value}' OR %s)
        LEFT JOIN (
            SELECT DISTINCT record_type, record_id FROM {t["event"]}
            WHERE batch_id = %s AND action = 'unbatched' AND record_type = %s
        ) AS u ON u.record_id = r.id
    """


def store_split(batch: GLBatch, kind: PostableKind) -> int:
    """Store the split of the kind's records still in `batch`, which is being deleted
    (before its records are let go), and the counts of its parts, in one statement;
    returns how many records."""
    table = kind.model._meta.db_table
    column = kind.model._meta.get_field(kind.batch_field).column
    done = batch.transfer_state == TransferState.DONE
    rows = _state_sql(kind, f"SELECT id FROM {table} WHERE {column} = %s")
    split = [batch.pk, kind.type, batch.pk, batch.pk, kind.type, done, batch.pk, kind.type]
    if connection.vendor != "postgresql":
        return _store_split_in_two(batch, kind, rows, split)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""WITH stored AS ({rows} RETURNING state)
            INSERT INTO {_tables()["counts"]} (batch_id, state, record_type, records)
            SELECT %s, state, %s, count(*) FROM stored GROUP BY state
            RETURNING records""",
            [*split, batch.pk, kind.type],
        )
        return sum(n for (n,) in cursor.fetchall())


def _store_split_in_two(batch: GLBatch, kind: PostableKind, insert: str, split: list) -> int:
    """`store_split` on the embedded default (SQLite: no INSERT inside a WITH): the
    split, then its counts read back from it."""
    t = _tables()
    with connection.cursor() as cursor:
        cursor.execute(insert, split)
        stored = cursor.rowcount
        cursor.execute(
            f"""INSERT INTO {t["counts"]} (batch_id, state, record_type, records)
            SELECT batch_id, state, record_type, count(*) FROM {t["former"]}
            WHERE batch_id = %s AND record_type = %s GROUP BY batch_id, state, record_type""",
            [batch.pk, kind.type],
        )
        return stored


def record_changed_sql() -> str:
    """The statement of `record_changed`; parameters: record type, id, type, id, type,
    id. The deleted batches that let the record go are found by its delete steps: their
    sets of records (`accounting_batch_steps`, migration 0021: the sets' GIN index), or
    the links of those written before sets."""
    t = _tables()
    return f"""
        WITH moved AS (
            UPDATE {t["former"]} SET state = {FormerState.CHANGED.value}
            WHERE state = {FormerState.UNCHANGED.value}
              AND record_type = %s AND record_id = %s
              AND batch_id IN (
                  SELECT e.batch_id FROM accounting_batch_steps(%s, %s) AS s(event_id)
                  JOIN {t["event"]} AS e ON e.id = s.event_id
                  WHERE e.action = 'batch_deleted'
                  UNION ALL
                  SELECT e.batch_id FROM {t["links"]} AS l
                  JOIN {t["event"]} AS e ON e.id = l.event_id
                  WHERE l.record_type = %s AND l.record_id = %s
                    AND e.action = 'batch_deleted'
              )
            RETURNING batch_id, record_type
        ), unchanged AS (
            UPDATE {t["counts"]} AS c SET records = c.records - 1
            FROM moved AS m
            WHERE c.batch_id = m.batch_id AND c.record_type = m.record_type
              AND c.state = {FormerState.UNCHANGED.value}
        )
        INSERT INTO {t["counts"]} (batch_id, state, record_type, records)
        SELECT batch_id, {FormerState.CHANGED.value}, record_type, 1 FROM moved
        ON CONFLICT (batch_id, state, record_type)
        DO UPDATE SET records = {t["counts"]}.records + 1
    """


def record_changed(record_type: str, record_id: int) -> int:
    """A step changed the record: it is changed now in the split of every deleted batch
    that let it go and still counts it unchanged, and those batches' counts move with
    it. One statement, on the record's delete steps and the split's primary key; returns
    in how many splits it moved."""
    if connection.vendor != "postgresql":
        return _record_changed_step_by_step(record_type, record_id)
    with connection.cursor() as cursor:
        cursor.execute(record_changed_sql(), [record_type, record_id] * 3)
        return cursor.rowcount


def _record_changed_step_by_step(record_type: str, record_id: int) -> int:
    """`record_changed` on the embedded default (SQLite: no UPDATE inside a WITH, and
    batch steps there write links only): the same moves, a statement each."""
    t = _tables()
    unchanged, changed = FormerState.UNCHANGED.value, FormerState.CHANGED.value
    moved = 0
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT e.batch_id FROM {t["links"]} AS l JOIN {t["event"]} AS e
            ON e.id = l.event_id WHERE l.record_type = %s AND l.record_id = %s
            AND e.action = 'batch_deleted'""",
            [record_type, record_id],
        )
        for (batch_id,) in cursor.fetchall():
            cursor.execute(
                f"""UPDATE {t["former"]} SET state = {changed} WHERE batch_id = %s
                AND state = {unchanged} AND record_type = %s AND record_id = %s""",
                [batch_id, record_type, record_id],
            )
            if not cursor.rowcount:
                continue
            moved += 1
            cursor.execute(
                f"""UPDATE {t["counts"]} SET records = records - 1 WHERE batch_id = %s
                AND state = {unchanged} AND record_type = %s""",
                [batch_id, record_type],
            )
            cursor.execute(
                f"""INSERT INTO {t["counts"]} (batch_id, state, record_type, records)
                VALUES (%s, {changed}, %s, 1) ON CONFLICT (batch_id, state, record_type)
                DO UPDATE SET records = records + 1""",
                [batch_id, record_type],
            )
    return moved
