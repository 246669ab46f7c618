"""Reads of the books check and of what the package says was paid."""

from collections import defaultdict
from decimal import Decimal

from django.db.models import QuerySet

from accounting.models import PackagePayment, Reconciliation, ReconciliationState


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
