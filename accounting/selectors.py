"""Reads of the accounting interface: unposted records, batches, their items and
exports, what was sent, and audit trails."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Count, F, Lookup, Q, QuerySet, Sum
from django.utils import timezone

from accounting.audit import RECORD_ACTIONS
from accounting.gl import AccountBook, fewer_collections
from accounting.models import (
    AccountingSetup,
    AuditEvent,
    AuditEventRecord,
    BatchStatus,
    DefaultGLAccount,
    GLBatch,
    PackagePayment,
    Reconciliation,
    ReconciliationState,
    TransferLog,
    TransferMethod,
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
    unposted_rows,
)


def sent_logs() -> QuerySet:
    """Transfer-log rows of records that reached the package: every row of a direct
    transfer (each is logged once the package has it), and a file transfer's rows once
    its transfer is done (the file is made at the end; rows an unfinished one left
    behind say nothing was sent)."""
    return TransferLog.objects.filter(
        Q(method=TransferMethod.DIRECT) | Q(batch__transfer_state=TransferState.DONE)
    )


def live_sends(record_type: str, record_ids: list[int] | QuerySet) -> dict[int, list[dict]]:
    """For each record: its transfers still in the accounting package, oldest first."""
    rows = (
        sent_logs()
        .filter(record_type=record_type, record_id__in=record_ids, removed_at__isnull=True)
        .select_related("batch")
        .order_by("sent_at", "id")
    )
    sends: dict[int, list[dict]] = defaultdict(list)
    for log in rows:
        sends[log.record_id].append(
            {
                "log_id": log.pk,
                "batch_identifier": log.batch.batch_identifier,
                "batch_id": log.batch_id,
                "sent_at": log.sent_at,
                "reference": log.reference,
                "fingerprint": log.fingerprint,
                "external_reference": log.external_reference,
            }
        )
    return sends


def accounting_setup() -> AccountingSetup:
    """The one setup row (made by a migration)."""
    return AccountingSetup.objects.get(pk=1)


def default_accounts() -> dict[str, int]:
    """GL account type -> the id of its default GL account."""
    return dict(DefaultGLAccount.objects.values_list("type", "gl_account_id"))


def live_sends_in_batch(batch: GLBatch) -> dict[tuple[str, int], list[dict]]:
    """The records of a batch that are in the accounting package from other batches."""
    found: dict[tuple[str, int], list[dict]] = {}
    for kind in kinds():
        ids = batched_rows(kind, batch.pk).values("pk")
        for record_id, sends in live_sends(kind.type, ids).items():
            others = [s for s in sends if s["batch_id"] != batch.pk]
            if others:
                found[(kind.type, record_id)] = others
    return found


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


def batch_list(*, status: str | None = None) -> QuerySet:
    batches = GLBatch.objects.select_related("created_by")
    if status:
        batches = batches.filter(status=status)
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


def deleted_batch_changes(batch: GLBatch) -> dict[str, list[dict[str, Any]]]:
    """The former records of a deleted batch, by whether they still match what was
    sent: unchanged ones can be re-recorded under the original identifier, changed
    ones go out with the next batch; `not_sent` were in the batch but never sent.
    Each kind's postings are built from plain rows, as a transfer builds them: a
    deleted batch can have held a hundred thousand records."""
    former: dict[str, list[int]] = defaultdict(list)
    for record_type, record_id in AuditEventRecord.objects.filter(
        event__batch=batch, event__action="batch_deleted"
    ).values_list("record_type", "record_id"):
        former[record_type].append(record_id)
    book = AccountBook()
    split: dict[str, list[dict[str, Any]]] = {"unchanged": [], "changed": [], "not_sent": []}
    with fewer_collections():
        sent = {
            (record_type, record_id): (fingerprint, sent_at)
            for record_type, record_id, fingerprint, sent_at in sent_logs()
            .filter(batch=batch)
            .values_list("record_type", "record_id", "fingerprint", "sent_at")
        }
        for kind in kinds():
            if not former[kind.type]:
                continue
            rows = kind.model._default_manager.filter(_pk_among(former[kind.type]))
            details = {
                pk: (amount, batch_identifier)
                for pk, amount, batch_identifier in rows.values_list(
                    "pk", kind.amount_field, f"{kind.batch_field}__batch_identifier"
                )
            }
            for posting in kind.bulk_postings(rows, book):
                record_id = posting.header.id
                amount, batch_identifier = details[record_id]
                fingerprint, sent_at = sent.get((kind.type, record_id), (None, None))
                item = {
                    "type": kind.type,
                    "id": record_id,
                    "reference": posting.header.reference,
                    "amount": amount,
                    "gl_batch": batch_identifier,
                    "sent_at": sent_at,
                }
                if fingerprint is None:
                    split["not_sent"].append(item)
                elif posting.matches(fingerprint):
                    split["unchanged"].append(item)
                else:
                    split["changed"].append(item)
    return split


@dataclass(frozen=True)
class UnpostedPosition:
    """Where a row stands in the unposted list: its kind (in registry order), date, id."""

    kind: int
    date: date
    id: int

    def encode(self) -> str:
        return f"{self.kind}.{self.date.isoformat()}.{self.id}"

    @classmethod
    def decode(cls, text: str) -> "UnpostedPosition":
        """Raises ValueError for text that is no position."""
        kind, day, record_id = text.split(".")
        return cls(int(kind), date.fromisoformat(day), int(record_id))


@dataclass
class UnpostedPage:
    rows: list[tuple[str, Any]]  # (record type, record)
    first: UnpostedPosition | None
    last: UnpostedPosition | None
    has_next: bool
    has_previous: bool

    @property
    def next_cursor(self) -> str | None:
        return f"after:{self.last.encode()}" if self.has_next and self.last else None

    @property
    def previous_cursor(self) -> str | None:
        return f"before:{self.first.encode()}" if self.has_previous and self.first else None


def parse_unposted_cursor(
    text: str,
) -> tuple[UnpostedPosition | None, UnpostedPosition | None]:
    """A page's `after:<position>` or `before:<position>` as (after, before); raises
    ValueError for text that is neither."""
    direction, _, position = text.partition(":")
    if direction not in ("after", "before"):
        raise ValueError(text)
    decoded = UnpostedPosition.decode(position)
    return (decoded, None) if direction == "after" else (None, decoded)


def unposted_page(
    *,
    record_types: list[str],
    thru_date: date | None = None,
    after: UnpostedPosition | None = None,
    before: UnpostedPosition | None = None,
    size: int = 50,
) -> UnpostedPage:
    """A page of unposted records across kinds, ordered by kind, date and id, found by
    position rather than by offset: every page, however deep, is one indexed range
    scan per kind it spans (the kinds' partial "unposted" indexes on date and id)."""
    chosen = [kind for kind in kinds() if kind.type in record_types]
    backwards = before is not None
    cursor = before if backwards else after
    order = range(len(chosen) - 1, -1, -1) if backwards else range(len(chosen))
    rows: list[tuple[int, str, Any]] = []
    for index in order:
        if cursor is not None and (index > cursor.kind if backwards else index < cursor.kind):
            continue
        kind = chosen[index]
        field = kind.date_field
        # A list row shows the record's reference, company and amount, never its lines.
        queryset = (
            unposted_rows(kind, thru_date)
            .prefetch_related(None)
            .filter(**{f"{field}__isnull": False})
        )
        if cursor is not None and index == cursor.kind:
            # (date, id) beyond the cursor, written so the index range starts at its date.
            near, far, beyond = ("lte", "lt", "lt") if backwards else ("gte", "gt", "gt")
            queryset = queryset.filter(
                Q(**{f"{field}__{near}": cursor.date})
                & (Q(**{f"{field}__{far}": cursor.date}) | Q(**{f"pk__{beyond}": cursor.id}))
            )
        ordering = (f"-{field}", "-pk") if backwards else (field, "pk")
        wanted = size + 1 - len(rows)
        rows += [(index, kind.type, record) for record in queryset.order_by(*ordering)[:wanted]]
        if len(rows) > size:
            break
    more = len(rows) > size
    rows = rows[:size]
    if backwards:
        rows.reverse()

    def position(row: tuple[int, str, Any]) -> UnpostedPosition:
        index, _type, record = row
        return UnpostedPosition(index, getattr(record, chosen[index].date_field), record.pk)

    return UnpostedPage(
        rows=[(record_type, record) for _index, record_type, record in rows],
        first=position(rows[0]) if rows else None,
        last=position(rows[-1]) if rows else None,
        has_next=more if not backwards else True,
        has_previous=(more if backwards else after is not None) and bool(rows),
    )


def unposted_count(*, record_type: str, thru_date: date | None = None, cap: int = 10_000) -> int:
    """How many unposted records of a kind, counted up to `cap` + 1 so that a tab's
    badge costs the same on a book of any size ("10,000+")."""
    return unposted_list(record_type=record_type, thru_date=thru_date)[: cap + 1].count()


def unposted_list(*, record_type: str, thru_date: date | None = None) -> QuerySet:
    kind = get_kind(record_type)
    return unposted_rows(kind, thru_date).order_by(kind.date_field, "pk")


def unposted_items(*, record_type: str, records: list) -> list[dict[str, Any]]:
    """Unposted records as the interface shows them, with earlier sends of each."""
    kind = get_kind(record_type)
    sends = live_sends(kind.type, [record.pk for record in records])
    return [
        {
            "type": kind.type,
            "id": record.pk,
            "reference": kind.reference(record),
            "date": getattr(record, kind.date_field),
            "company": kind.company_name(record),
            "amount": getattr(record, kind.amount_field),
            "previously_sent": [
                {"batch_identifier": s["batch_identifier"], "sent_at": s["sent_at"]}
                for s in sends.get(record.pk, [])
            ],
        }
        for record in records
    ]


def audit_trail(*, record_type: str, record_id: int) -> list[AuditEvent]:
    """A record's audit events, oldest first: its own, and the batch steps that moved it,
    each shown as the step the record went through ("batched", "batch_deleted", ...)."""
    linked = set(
        AuditEventRecord.objects.filter(record_type=record_type, record_id=record_id).values_list(
            "event_id", flat=True
        )
    )
    events = list(
        AuditEvent.objects.filter(
            Q(record_type=record_type, record_id=record_id) | Q(pk__in=linked)
        )
        .select_related("actor", "batch")
        .order_by("at", "id")
    )
    for event in events:
        if event.pk in linked:
            # The batch's counts belong to the batch's own trail, not to the record's.
            event.action, event.changes = RECORD_ACTIONS[event.action], {}
    return events


# --- the books check ------------------------------------------------------------------


def reconciliation_list() -> QuerySet:
    """Books check runs, newest first."""
    return Reconciliation.objects.select_related("batch")


def latest_reconciliation() -> Reconciliation | None:
    """The last books check that finished, for the dashboard's counts."""
    return reconciliation_list().filter(state=ReconciliationState.DONE).first()


def reconciliation_differences(
    run: Reconciliation, *, kind: str | None = None, record_type: str | None = None
) -> QuerySet:
    """A run's differences, optionally of one class and one kind of record."""
    rows = run.differences.all()
    if kind:
        rows = rows.filter(kind=kind)
    if record_type:
        rows = rows.filter(record_type=record_type)
    return rows


def paid_amount(record_type: str, record_id: int) -> Decimal:
    """What the accounting package last said was paid against the record (0: nothing)."""
    row = (
        PackagePayment.objects.filter(record_type=record_type, record_id=record_id)
        .values_list("amount_paid", flat=True)
        .first()
    )
    return row or Decimal("0.00")


def paid_records(keys: list[tuple[str, int]]) -> dict[tuple[str, int], Decimal]:
    """Of the (type, id) records, those the package holds payments against."""
    found: dict[tuple[str, int], Decimal] = {}
    by_type: dict[str, list[int]] = defaultdict(list)
    for record_type, record_id in keys:
        by_type[record_type].append(record_id)
    for record_type, ids in by_type.items():
        rows = PackagePayment.objects.filter(
            record_type=record_type, record_id__in=ids, amount_paid__gt=0
        ).values_list("record_id", "amount_paid")
        for record_id, amount in rows:
            found[(record_type, record_id)] = amount
    return found
