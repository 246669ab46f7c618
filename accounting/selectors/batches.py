"""Reads of batches: lists, counts and totals, items, the GL export, the resend
checklist, and what became of a deleted batch's records."""

from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Count, F, Lookup, Q, QuerySet, Sum
from django.utils import timezone

from accounting.gl import AccountBook
from accounting.models import (
    BatchStatus,
    FormerCount,
    FormerRecord,
    FormerState,
    GLBatch,
    TransferLog,
    TransferState,
)
from accounting.postables import (
    PostableKind,
    RecordRef,
    batched_rows,
    get_kind,
    kinds,
    record_refs,
    unbatched_rows,
)


def batch_unbatched_refs(batch: GLBatch) -> list[RecordRef]:
    refs: list[RecordRef] = []
    for kind in kinds():
        refs += record_refs(
            kind,
            kind.queryset()
            .filter(pk__in=unbatched_rows(kind, batch.pk).values("pk"))
            .order_by("pk"),
        )
    return refs


def batch_summaries(batch_ids: list[int], *, unbatched: bool = True) -> dict[int, dict[str, Any]]:
    """Counts and totals of many batches at once: two grouped queries per kind,
    however many batches. `unbatched` counts records unbatched from a batch and still
    outside it (left at 0 with unbatched=False, one query per kind less)."""
    summaries: dict[int, dict[str, Any]] = {
        pk: {
            "counts": {kind.type: 0 for kind in kinds()},
            "totals": {kind.type: Decimal("0.00") for kind in kinds()},
            "total": Decimal("0.00"),
            "records": 0,
            "unbatched": 0,
        }
        for pk in batch_ids
    }
    if not batch_ids:
        return summaries
    for kind in kinds():
        column = f"{kind.batch_field}_id"
        grouped = (
            kind.model._default_manager.filter(**{f"{column}__in": batch_ids})
            .order_by()
            .values(column)
            .annotate(n=Count("pk"), total=Sum(kind.amount_field))
        )
        for row in grouped:
            summary = summaries[row[column]]
            summary["counts"][kind.type] = row["n"]
            summary["totals"][kind.type] = row["total"] or Decimal("0.00")
            summary["records"] += row["n"]
            summary["total"] += row["total"] or Decimal("0")
        if not unbatched:
            continue
        original = f"{kind.original_batch_field}_id"
        outside = (
            kind.model._default_manager.filter(
                **{f"{original}__in": batch_ids, f"{kind.batch_field}__isnull": True}
            )
            .order_by()
            .values(original)
            .annotate(n=Count("pk"))
        )
        for row in outside:
            summaries[row[original]]["unbatched"] += row["n"]
    return summaries


def batch_counts(batch: GLBatch) -> tuple[dict[str, int], Decimal]:
    """How many records of each kind the batch holds, and their total amount."""
    summary = batch_summaries([batch.pk], unbatched=False)[batch.pk]
    return summary["counts"], summary["total"]


def batches_in_transfer_state(batches: QuerySet, state: str) -> QuerySet:
    """Batches whose transfer is in `state` as users see it: a running transfer whose
    lease expired counts as interrupted, not running."""
    expired = Q(transfer_state=TransferState.RUNNING, transfer_lease_until__lt=timezone.now())
    if state == TransferState.INTERRUPTED:
        return batches.filter(Q(transfer_state=state) | expired)
    if state == TransferState.RUNNING:
        return batches.filter(transfer_state=state).exclude(expired)
    return batches.filter(transfer_state=state)


def batch_list(
    *,
    status: str | None = None,
    identifier: str = "",
    created_from: date | None = None,
    created_to: date | None = None,
) -> QuerySet:
    """GL batches, newest first: by status, part of the batch ID, and the days they
    were created on."""
    batches = GLBatch.objects.select_related("created_by")
    if status:
        batches = batches.filter(status=status)
    if identifier.strip():
        batches = batches.filter(batch_identifier__icontains=identifier.strip())
    if created_from is not None:
        batches = batches.filter(created_at__date__gte=created_from)
    if created_to is not None:
        batches = batches.filter(created_at__date__lte=created_to)
    return batches


def batch_item_rows(kind: PostableKind, batch_id: int) -> QuerySet:
    """A batch's records of one kind, by id: those in it and those unbatched from it."""
    return (
        kind.queryset()
        .filter(
            Q(**{f"{kind.batch_field}_id": batch_id})
            | Q(
                **{f"{kind.original_batch_field}_id": batch_id, f"{kind.batch_field}__isnull": True}
            )
        )
        .order_by("pk")
    )


def batch_item(kind: PostableKind, record: Any, batch_id: int) -> dict[str, Any]:
    """A row of a batch's item list, `state` "batched" or "unbatched" (from it)."""
    in_batch = getattr(record, f"{kind.batch_field}_id") == batch_id
    return {
        "type": kind.type,
        "id": record.pk,
        "reference": kind.reference(record),
        "company": kind.company_name(record),
        "amount": getattr(record, kind.amount_field),
        "state": "batched" if in_batch else "unbatched",
    }


def batch_items(batch: GLBatch) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for kind in kinds():
        for state, rows in (
            ("batched", batched_rows(kind, batch.pk)),
            ("unbatched", unbatched_rows(kind, batch.pk)),
        ):
            for record in kind.queryset().filter(pk__in=rows.values("pk")).order_by("pk"):
                items.append(
                    {
                        "type": kind.type,
                        "id": record.pk,
                        "reference": kind.reference(record),
                        "amount": getattr(record, kind.amount_field),
                        "state": state,
                    }
                )
    return items


def batch_gl_export(batch: GLBatch) -> list[dict[str, Any]]:
    book = AccountBook()
    return [
        {
            "type": posting.header.type,
            "id": posting.header.id,
            "reference": posting.header.reference,
            "lines": [
                {
                    "account": line.account_number,
                    "account_name": line.account_name,
                    "debit": line.debit,
                    "credit": line.credit,
                    "memo": line.memo,
                }
                for line in posting.lines
            ],
        }
        for kind in kinds()
        for posting in kind.bulk_postings(batched_rows(kind, batch.pk), book)
    ]


def batch_resend_checklist(batch: GLBatch) -> list[dict[str, Any]]:
    """The originals a user must remove from the package because this batch sent
    their records again: batch, date, reference."""
    return [
        {
            "type": log.record_type,
            "id": log.record_id,
            "reference": log.reference,
            "batch_identifier": log.batch.batch_identifier,
            "sent_at": log.sent_at,
            "external_reference": log.external_reference,
            "removal": log.removal,
        }
        for log in TransferLog.objects.filter(replaced_by=batch)
        .select_related("batch")
        .order_by("record_type", "record_id", "sent_at")
    ]


def batch_holding(identifier: str) -> GLBatch | None:
    """The open or closed batch that holds a batch ID (a deleted batch frees its ID)."""
    return (
        GLBatch.objects.exclude(status=BatchStatus.DELETED)
        .filter(batch_identifier=identifier)
        .first()
    )


def rerecordable(split: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Of a deleted batch's split, what a re-record takes: the unchanged former records
    no other batch holds now."""
    return [item for item in split["unchanged"] if item["gl_batch"] is None]


PARTS = {
    "unchanged": FormerState.UNCHANGED,
    "changed": FormerState.CHANGED,
    "not_sent": FormerState.NOT_SENT,
}


def former_counts(batch: GLBatch) -> dict[str, int]:
    """How many former records of a deleted batch each part of its stored split holds
    (its counts, `FormerCount`: a row per state and kind), and `rerecordable`: the
    unchanged ones no batch holds now. Two queries, whatever the batch's size."""
    counts = dict.fromkeys([*PARTS, "rerecordable"], 0)
    names = {state.value: name for name, state in PARTS.items()}
    for state, n in FormerCount.objects.filter(batch=batch).values_list("state", "records"):
        counts[names[state]] += n
    if counts["unchanged"]:
        counts["rerecordable"] = counts["unchanged"] - _taken(batch)
    return counts


def _taken(batch: GLBatch) -> int:
    """Of a deleted batch's unchanged former records, how many a batch holds now."""
    holders = taking_batches(batch)
    if not holders:
        return 0
    sql, params = taken_sql(batch, holders)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return int(cursor.fetchone()[0] or 0)


def taking_batches(batch: GLBatch) -> list[int]:
    """The batches that can hold a former record of a deleted batch: a record let go
    enters a batch again by a batch created after it (a new batch, a re-record, a
    rebatch into a batch it left), or by a re-record adding to an open re-record batch."""
    return list(
        GLBatch.objects.exclude(status=BatchStatus.DELETED)
        .filter(Q(pk__gt=batch.pk) | Q(is_rerecord=True))
        .values_list("pk", flat=True)
    )


def taken_sql(batch: GLBatch, holders: list[int]) -> tuple[str, list[Any]]:
    """The count of `_taken`: per kind, the records of the `holders` batches (their
    batch index) found in the unchanged part of the split (its primary key). It costs
    what the later batches hold, not the size of the split.

    The split is probed once per record of the holders by its full primary key, in a
    scalar subquery, which PostgreSQL never turns into a join: as a join, the planner
    read the split's part instead whenever its statistics predated the delete (as they
    do until the next ANALYZE of the table), a hundred thousand probes of the records
    for a big batch."""
    former = FormerRecord._meta.db_table
    # One array parameter on PostgreSQL; a list of them on the embedded default.
    among_params: list[Any]
    if connection.vendor == "postgresql":
        among, among_params = "= ANY(%s)", [holders]
    else:
        among, among_params = f"IN ({', '.join(['%s'] * len(holders))})", holders
    parts, params = [], []
    for kind in kinds():
        table = kind.model._meta.db_table
        column = kind.model._meta.get_field(kind.batch_field).column
        parts.append(
            f"SELECT count(*) AS n FROM {table} AS r WHERE r.{column} {among} "
            f"AND (SELECT true FROM {former} AS f WHERE f.batch_id = %s AND f.state = %s "
            f"AND f.record_type = %s AND f.record_id = r.id)"
        )
        params += [*among_params, batch.pk, FormerState.UNCHANGED.value, kind.type]
    return f"SELECT sum(n) FROM ({' UNION ALL '.join(parts)}) AS taken", params


def former_page(
    batch: GLBatch, part: str, *, after: tuple[str, int] | None = None, limit: int | None = 100
) -> list[dict[str, Any]]:
    """One page of a part ("unchanged", "changed", "not_sent") of a deleted batch's
    stored split, by record type and id, after `after` (the last row of the page
    before): `limit` rows and their records' details, in a query per kind shown."""
    rows = former_rows(batch, part, after=after)
    return _former_items(list(rows[:limit] if limit else rows))


def former_rows(batch: GLBatch, part: str, *, after: tuple[str, int] | None = None) -> QuerySet:
    """A part of a deleted batch's stored split in its primary key's order, after `after`."""
    rows = FormerRecord.objects.filter(batch=batch, state=PARTS[part])
    if after is not None:
        rows = rows.filter(_after(after))
    return rows.order_by("record_type", "record_id").values_list(
        "record_type", "record_id", "sent_at"
    )


class _RowAfter(Lookup):
    """`(record_type, record_id) > (%s, %s)`: a keyset over the split's primary key."""

    prepare_rhs = False

    def as_sql(self, compiler, connection):
        return "(record_type, record_id) > (%s, %s)", list(self.rhs)


def _after(after: tuple[str, int]) -> Lookup:
    return _RowAfter(F("record_type"), after)


def _former_items(rows: list[tuple[str, int, Any]]) -> list[dict[str, Any]]:
    by_type: dict[str, list[int]] = defaultdict(list)
    for record_type, record_id, _ in rows:
        by_type[record_type].append(record_id)
    details: dict[tuple[str, int], tuple[str, Any, int | None]] = {}
    batch_ids: set[int] = set()
    for record_type, ids in by_type.items():
        kind = get_kind(record_type)
        # The kind's rows with what their references read joined in, by primary key;
        # nothing prefetched (an invoice's lines are not shown here).
        for record in kind.queryset().prefetch_related(None).filter(_pk_among(ids)):
            batch_id = getattr(record, f"{kind.batch_field}_id")
            details[record_type, record.pk] = (
                kind.reference(record),
                getattr(record, kind.amount_field),
                batch_id,
            )
            if batch_id is not None:
                batch_ids.add(batch_id)
    identifiers = (
        dict(GLBatch.objects.filter(pk__in=batch_ids).values_list("pk", "batch_identifier"))
        if batch_ids
        else {}
    )
    items = []
    for record_type, record_id, sent_at in rows:
        reference, amount, batch_id = details[record_type, record_id]
        items.append(
            {
                "type": record_type,
                "id": record_id,
                "reference": reference,
                "amount": amount,
                "gl_batch": identifiers.get(batch_id) if batch_id else None,
                "sent_at": sent_at,
            }
        )
    return items


def rerecordable_refs(batch: GLBatch) -> set[tuple[str, int]]:
    """The unchanged former records of a deleted batch that no batch holds now: what a
    re-record takes, read from its stored split."""
    refs: set[tuple[str, int]] = set()
    for kind in kinds():
        unchanged = FormerRecord.objects.filter(
            batch=batch, state=FormerState.UNCHANGED, record_type=kind.type
        ).values("record_id")
        refs.update(
            (kind.type, pk)
            for pk in kind.model._default_manager.filter(
                pk__in=unchanged, **{f"{kind.batch_field}__isnull": True}
            ).values_list("pk", flat=True)
        )
    return refs


def deleted_batch_changes(batch: GLBatch) -> dict[str, list[dict[str, Any]]]:
    """The former records of a deleted batch, by whether they still match what was
    sent, read from the split stored when it was deleted (`accounting.former`):
    unchanged ones can be re-recorded under the original identifier, changed ones go
    out with the next batch; `not_sent` were in the batch but never sent. Every row:
    for the API; the batch's page reads a page of each part (`former_page`)."""
    return {part: former_page(batch, part, limit=None) for part in PARTS}


class _AnyOf(Lookup):
    """`column = ANY(%s)`, the values as one array parameter: for a hundred thousand ids,
    a fraction of the cost of an IN list with a parameter each."""

    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} = ANY(%s)", [*lhs_params, list(self.rhs)]


def _pk_among(ids: list[int]) -> Q | Lookup:
    """Rows by a list of their ids. Given as the ids rather than as a subquery, so that the
    planner knows how many rows to expect (ANY on PostgreSQL, IN elsewhere)."""
    if connection.vendor == "postgresql":
        return _AnyOf(F("pk"), ids)
    return Q(pk__in=ids)
