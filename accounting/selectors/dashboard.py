"""Reads of the Finance dashboard: unposted records by kind and age, batches and their
totals per day, transfers waiting for Finance, records unbatched and not yet rebatched,
records changed since they were sent, and the latest books check's counts.

Every read is an aggregate or a short list over indexed columns, a fixed number of
queries a kind: the unposted counts read the kinds' partial "unposted" indexes (date,
id), the totals per day the batch foreign key's index from the batches of the window,
the unbatched records the partial "original batch" index. None loads every row.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from accounting.models import AuditEvent, BatchStatus, DifferenceClass, GLBatch, TransferState
from accounting.postables import kinds, record_title, unposted_rows
from accounting.selectors.batches import batches_in_transfer_state
from accounting.selectors.books import latest_reconciliation
from accounting.selectors.changes import SentChange, batches_sent_changes

# Age of an unposted record, in days since its date: (label, oldest day, newest day).
AGE_BUCKETS: list[tuple[str, int | None, int]] = [
    ("0\N{EN DASH}30 days", 30, 0),
    ("31\N{EN DASH}60 days", 60, 31),
    ("61\N{EN DASH}90 days", 90, 61),
    ("Over 90 days", None, 91),
]
# Batches per day over this many days back from today.
WINDOW_DAYS = 90
# Lists show this many rows at most; their counts say how many there are in all.
LIST_SIZE = 20
# Counts stop here ("10,000+"), so that a count costs the same on a book of any size.
COUNT_CAP = 10_000


@dataclass
class UnbatchedGroup:
    type: str
    label: str
    count: int
    rows: list[dict[str, Any]] = field(default_factory=list)


def unposted_by_age(today: date) -> dict[str, Any]:
    """Per kind, how many unposted records fall in each age bucket: one aggregate a kind
    over its partial "unposted" index."""
    series = []
    for kind in kinds():
        column = kind.date_field
        counts = {}
        for index, (_label, oldest, newest) in enumerate(AGE_BUCKETS):
            # The newest bucket also holds records dated ahead of today.
            condition = Q(**{f"{column}__isnull": False})
            if newest:
                condition &= Q(**{f"{column}__lte": today - timedelta(days=newest)})
            if oldest is not None:
                condition &= Q(**{f"{column}__gte": today - timedelta(days=oldest)})
            counts[f"b{index}"] = Count("pk", filter=condition)
        row = unposted_rows(kind).prefetch_related(None).order_by().aggregate(**counts)
        series.append(
            {
                "type": kind.type,
                "label": kind.plural_label,
                "counts": [row[f"b{index}"] for index in range(len(AGE_BUCKETS))],
                "total": sum(row.values()),
            }
        )
    return {"buckets": [label for label, _oldest, _newest in AGE_BUCKETS], "series": series}


def batches_per_day(today: date, days: int = WINDOW_DAYS) -> dict[str, Any]:
    """Batches created each day of the window (deleted ones left out) and the total
    amount of the records they hold now, every day of the window in order."""
    since = today - timedelta(days=days - 1)
    start = timezone.make_aware(datetime.combine(since, time.min))
    per_day: dict[date, dict[str, Any]] = {
        since + timedelta(days=n): {"batches": 0, "records": 0, "total": Decimal("0.00")}
        for n in range(days)
    }
    batches = (
        GLBatch.objects.filter(created_at__gte=start)
        .exclude(status=BatchStatus.DELETED)
        .annotate(day=TruncDate("created_at"))
        .order_by()
        .values("day")
        .annotate(n=Count("pk"))
    )
    for row in batches:
        if row["day"] in per_day:
            per_day[row["day"]]["batches"] = row["n"]
    for kind in kinds():
        created = f"{kind.batch_field}__created_at"
        grouped = (
            kind.model._default_manager.filter(**{f"{created}__gte": start})
            .annotate(day=TruncDate(created))
            .order_by()
            .values("day")
            .annotate(n=Count("pk"), total=Sum(kind.amount_field))
        )
        for row in grouped:
            if row["day"] in per_day:
                per_day[row["day"]]["records"] += row["n"]
                per_day[row["day"]]["total"] += row["total"] or Decimal("0")
    return {
        "since": since,
        "days": [{"day": day, **values} for day, values in sorted(per_day.items())],
    }


def transfers_waiting() -> tuple[list[GLBatch], int]:
    """Open batches whose transfer failed or was interrupted: the newest, and how many."""
    open_batches = GLBatch.objects.filter(status=BatchStatus.OPEN)
    waiting = (
        open_batches.filter(transfer_state=TransferState.FAILED)
        | batches_in_transfer_state(open_batches, TransferState.INTERRUPTED)
    ).order_by("-created_at", "-id")
    return list(waiting[:LIST_SIZE]), waiting[: COUNT_CAP + 1].count()


def unbatched_not_rebatched() -> list[UnbatchedGroup]:
    """Per kind, records unbatched from a batch and in none now: each blocks deleting
    the batch it came from until it is rebatched."""
    groups = []
    batch_ids: set[int] = set()
    for kind in kinds():
        outside = kind.model._default_manager.filter(
            **{f"{kind.original_batch_field}__isnull": False, f"{kind.batch_field}__isnull": True}
        )
        count = outside[: COUNT_CAP + 1].count()
        group = UnbatchedGroup(kind.type, kind.plural_label, count)
        if count:
            records = (
                kind.queryset()
                .prefetch_related(None)
                .filter(pk__in=outside.values("pk")[:LIST_SIZE])
                .order_by("pk")
            )
            for record in records:
                batch_id = getattr(record, f"{kind.original_batch_field}_id")
                batch_ids.add(batch_id)
                group.rows.append(
                    {
                        "reference": record_title(kind, record),
                        "type": kind.type,
                        "id": record.pk,
                        "company": kind.company_name(record),
                        "amount": getattr(record, kind.amount_field),
                        "batch_id": batch_id,
                    }
                )
        groups.append(group)
    if batch_ids:
        names = dict(GLBatch.objects.filter(pk__in=batch_ids).values_list("pk", "batch_identifier"))
        for group in groups:
            for row in group.rows:
                row["batch_identifier"] = names.get(row["batch_id"], "")
    return groups


def books_check_counts() -> dict[str, Any] | None:
    """The latest finished books check: when, and how many records in each class."""
    run = latest_reconciliation()
    if run is None:
        return None
    return {
        "run": run,
        "classes": [
            {"value": value, "label": label, "count": run.counts.get(value, 0)}
            for value, label in DifferenceClass.choices
        ],
    }


# How many of the latest rebatches the dashboard looks at for records changed since sent.
REBATCHES_LOOKED_AT = 200


def changed_since_sent(limit: int = LIST_SIZE) -> list[SentChange]:
    """Records edited after they were sent and rebatched into the batch that sent them:
    the batch shows the new values, the package still holds the old ones (the record's
    page says what to change there, or updates it through the connector). Only a
    rebatch can make one, so the latest rebatches of live batches are looked at."""
    batch_ids = list(
        dict.fromkeys(
            AuditEvent.objects.filter(action="rebatched")
            .exclude(batch__status=BatchStatus.DELETED)
            .order_by("-at")
            .values_list("batch_id", flat=True)[:REBATCHES_LOOKED_AT]
        )
    )
    found = batches_sent_changes(batch_ids)
    changes = [change for batch_id in batch_ids for change in found[batch_id].values()]
    return changes[:limit]


def finance_dashboard(today: date | None = None) -> dict[str, Any]:
    today = today or timezone.localdate()
    failed, failed_count = transfers_waiting()
    return {
        "today": today,
        "unposted": unposted_by_age(today),
        "per_day": batches_per_day(today),
        "transfers": failed,
        "transfers_count": failed_count,
        "unbatched": unbatched_not_rebatched(),
        "changed": changed_since_sent(),
        "books_check": books_check_counts(),
    }
