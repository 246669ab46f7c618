"""Payments back from the accounting package: what its connector reports paid against
each record sent as a sale, kept in `PackagePayment`, and each invoice's payment state
(paid, partly paid, unpaid, and the balance due). Brought back by the periodic task
`accounting.tasks.payments_refresh` and Finance's button (`accounting.services`)."""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import DecimalField, F, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounting import selectors
from accounting.audit import audit_record
from accounting.connectors import ensure_reads_back, get_connector
from accounting.models import PackagePayment
from accounting.postables import get_kind


@dataclass(frozen=True)
class PaidStatus:
    """How a kind's records take the setup's "status for fully paid" (registered by the
    record app, `register_paid_status`): `refusal(name)` says why a status name cannot
    be used (None when it can); `apply(actor, ids, name)` moves the records to it,
    audited, without changing anything that was sent, and answers the ids moved."""

    refusal: Callable[[str], str | None]
    apply: Callable[[AbstractBaseUser | None, list[int], str], list[int]]


_PAID_STATUSES: dict[str, PaidStatus] = {}


def register_paid_status(record_type: str, handler: PaidStatus) -> None:
    _PAID_STATUSES[record_type] = handler


def paid_status_refusal(name: str) -> str | None:
    """Why the setup cannot name this status for fully paid invoices (None: it can)."""
    for handler in _PAID_STATUSES.values():
        refusal = handler.refusal(name)
        if refusal:
            return refusal
    return None


def apply_paid_status(actor: AbstractBaseUser | None) -> dict[str, list[int]]:
    """Move each fully paid record to the status the setup names for it (nothing when
    the setup names none); answer the ids moved, per kind."""
    name = selectors.accounting_setup().paid_invoice_status
    moved: dict[str, list[int]] = {}
    if not name:
        return moved
    for record_type, handler in _PAID_STATUSES.items():
        kind = get_kind(record_type)
        paid = filter_payment_state(
            with_payments(kind.model.objects.all(), record_type), PAID, kind.amount_field
        )
        ids = list(paid.values_list("pk", flat=True))
        if ids:
            moved[record_type] = handler.apply(actor, ids, name)
    return moved


PAID = "paid"
PARTLY_PAID = "partly_paid"
UNPAID = "unpaid"
PAYMENT_STATES = {PAID: "Paid", PARTLY_PAID: "Partly paid", UNPAID: "Unpaid"}
ZERO = Decimal("0.00")


def payments_refresh(*, actor: AbstractBaseUser | None) -> dict[str, int]:
    """Read what the package holds paid, and keep it: a record whose payments are gone
    from the package goes back to nothing paid. The package is read before the
    database is written, and no lock is held while it is. Audited (one event)."""
    setup = selectors.accounting_setup()
    ensure_reads_back(setup.package, setup.get_package_display(), "bring payments back")
    connector = get_connector(setup.package, setup.options)
    assert connector is not None, "a package read back has a connector"
    reported = {(p.record_type, p.record_id): p for p in connector.find_payments()}
    now = timezone.now()
    with transaction.atomic():
        existing = set(
            PackagePayment.objects.exclude(amount_paid=ZERO).values_list("record_type", "record_id")
        )
        gone = existing - set(reported)
        for record_type, record_id in gone:
            PackagePayment.objects.filter(record_type=record_type, record_id=record_id).update(
                amount_paid=ZERO, last_paid_on=None, refreshed_at=now
            )
        PackagePayment.objects.bulk_create(
            [
                PackagePayment(
                    record_type=p.record_type,
                    record_id=p.record_id,
                    amount_paid=p.amount_paid,
                    last_paid_on=p.last_paid_on,
                    refreshed_at=now,
                )
                for p in reported.values()
            ],
            update_conflicts=True,
            unique_fields=["record_type", "record_id"],
            update_fields=["amount_paid", "last_paid_on", "refreshed_at"],
        )
        counts = {"paid_records": len(reported), "cleared": len(gone)}
        audit_record(
            actor=actor, action="payments_refreshed", record_type="", record_id=None, changes=counts
        )
        moved = apply_paid_status(actor)
        counts["status_set"] = sum(len(ids) for ids in moved.values())
    return counts


def with_payments(records: QuerySet, record_type: str) -> QuerySet:
    """The records with `amount_paid` (0 when nothing was paid) and `last_paid_on`."""
    payment = PackagePayment.objects.filter(record_type=record_type, record_id=OuterRef("pk"))
    return records.annotate(
        amount_paid=Coalesce(
            Subquery(payment.values("amount_paid")[:1]),
            Value(ZERO),
            output_field=DecimalField(max_digits=14, decimal_places=2),
        ),
        last_paid_on=Subquery(payment.values("last_paid_on")[:1]),
    )


def payment_state(total: Decimal, amount_paid: Decimal) -> str:
    if amount_paid <= 0:
        return UNPAID
    return PAID if amount_paid >= total else PARTLY_PAID


def filter_payment_state(records: QuerySet, state: str, total_field: str) -> QuerySet:
    """Records (annotated by `with_payments`) in one payment state."""
    if state == UNPAID:
        return records.filter(amount_paid__lte=0)
    if state == PAID:
        return records.filter(amount_paid__gt=0, amount_paid__gte=F(total_field))
    return records.filter(amount_paid__gt=0, amount_paid__lt=F(total_field))
