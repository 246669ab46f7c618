"""The floors of batch create and delete: the same rows attached to (or let go of) a
batch by a hand-written UPDATE per kind, and, to show what the audit adds, the same
with the audit event and its sets of records (one row per kind, the ids sorted in an
array) written by hand. The transfer's
floor (a raw cursor and csv.writer) runs in `bench.worker`."""

import datetime as dt
import os
import time

from django.db import connection, transaction
from django.utils import timezone

from accounting.models import AuditEvent, AuditRecordSet, BatchStatus, GLBatch, TransferState
from bench.context import Context
from bench.kinds import KindSQL, kind_sql


def thru_date_for(count: int) -> tuple[dt.date, int]:
    """The date through which the unposted records number at least `count`."""
    parts, params = [], []
    for k in kind_sql().values():
        parts.append(
            f"SELECT {k.date} AS d, count(*) AS n FROM {k.table} "
            f"WHERE {k.batch} IS NULL AND {k.ready} GROUP BY 1"
        )
        params += k.ready_params
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT d, sum(n) OVER (ORDER BY d) FROM (SELECT d, sum(n) AS n FROM "
            f"({' UNION ALL '.join(parts)}) AS u GROUP BY d) AS per_day ORDER BY d",
            params,
        )
        rows = cursor.fetchall()
    for day, total in rows:
        if total >= count:
            return day, int(total)
    return rows[-1][0], int(rows[-1][1])


def _new_floor_batch(ctx: Context) -> GLBatch:
    ctx.floor_batches += 1
    return GLBatch.objects.create(
        batch_identifier=f"FLOOR-{os.getpid()}-{ctx.floor_batches}",
        transfer_method="file",
        export_format="gl_journal_csv",
        package="other",
        created_by=ctx.user,
        transfer_state=TransferState.DONE,
    )


def _links_sql(k: KindSQL) -> str:
    """The audit set of a batch step's records of a kind, as the service writes it: one
    row holding the sorted ids of the batch's records, for the step's audit event."""
    sets = AuditRecordSet._meta
    columns = ", ".join(sets.get_field(f).column for f in ("event", "record_type", "record_ids"))
    return (
        f"INSERT INTO {sets.db_table} ({columns}) "
        f"SELECT %s, %s, array_agg({k.pk} ORDER BY {k.pk}) FROM {k.table} "
        f"WHERE {k.batch} = %s HAVING count(*) > 0"
    )


def _floor_event(ctx: Context, batch_id: int, action: str) -> int:
    return AuditEvent.objects.create(
        at=timezone.now(), actor=ctx.user, action=action, batch_id=batch_id
    ).pk


def floor_create(ctx: Context, thru: dt.date, *, audit: bool = False) -> tuple[float, int, int]:
    """The bare UPDATE per kind (the floor), or with `audit` also the audit event and
    its sets of records, as hand-written SQL."""
    batch = _new_floor_batch(ctx)
    rows = 0
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        event = _floor_event(ctx, batch.pk, "batch_created") if audit else None
        for record_type, k in kind_sql().items():
            cursor.execute(
                f"UPDATE {k.table} SET {k.batch} = %s, {k.original} = NULL "
                f"WHERE {k.batch} IS NULL AND {k.ready} AND {k.date} <= %s",
                [batch.pk, *k.ready_params, thru],
            )
            rows += cursor.rowcount
            if audit:
                cursor.execute(_links_sql(k), [event, record_type, batch.pk])
    return time.perf_counter() - started, batch.pk, rows


def floor_delete(ctx: Context, batch_id: int, *, audit: bool = False) -> float:
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        event = _floor_event(ctx, batch_id, "batch_deleted") if audit else None
        for record_type, k in kind_sql().items():
            if audit:
                cursor.execute(_links_sql(k), [event, record_type, batch_id])
            cursor.execute(
                f"UPDATE {k.table} SET {k.batch} = NULL WHERE {k.batch} = %s",
                [batch_id],
            )
    seconds = time.perf_counter() - started
    GLBatch.objects.filter(pk=batch_id).update(status=BatchStatus.DELETED)
    return seconds
