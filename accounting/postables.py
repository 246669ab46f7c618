"""The registry of postable kinds.

Accounting never imports the record apps. Each record app registers an adapter for
each of its postable kinds in its `AppConfig.ready`; the workflows work on any
registered kind through it.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from django.db import models

from accounting.gl import AccountBook, Posting
from psa.errors import ApplicationError


class PostableKind(Protocol):
    """What accounting needs to know of a kind of postable record."""

    type: str  # "invoice", "expense", "freight", "product": as the API names them
    label: str  # "Invoice", for sentences
    model: type[models.Model]
    batch_field: str  # the record's GL batch foreign key
    original_batch_field: str  # the batch it was unbatched from
    date_field: str  # the date "thru date" filters on
    amount_field: str  # a stored amount, for totals without loading rows

    def ready_filter(self) -> models.Q:
        """Rows finished enough to be posted (closed, approved, received)."""

    def not_ready_reason(self, record: models.Model) -> str:
        """Why this record is not ready, and what makes it ready."""

    def queryset(self) -> models.QuerySet:
        """Rows with what `posting` reads already joined in."""

    def reference(self, record: models.Model) -> str:
        """'Invoice INV-1042': how a person finds the record."""

    def company_name(self, record: models.Model) -> str: ...

    def posting(self, record: models.Model, book: AccountBook) -> Posting:
        """The header and balanced GL lines a transfer carries for the record."""

    def bulk_postings(
        self, rows: models.QuerySet, book: AccountBook, chunk_size: int = 2000
    ) -> Iterator[Posting]:
        """The same postings as `posting`, for many rows in primary key order, read as
        plain values (a transfer of 100,000 records builds no model instances)."""


_registry: dict[str, PostableKind] = {}

# Locks are always taken in this order (batch first, then kinds in this order, then by
# primary key), so that two workflows never wait on each other in a cycle.
KIND_ORDER = ("invoice", "expense", "freight", "product")


def register(kind: PostableKind) -> None:
    _registry[kind.type] = kind


def kinds() -> list[PostableKind]:
    return sorted(
        _registry.values(),
        key=lambda k: (KIND_ORDER.index(k.type) if k.type in KIND_ORDER else 99, k.type),
    )


def kind_types() -> list[str]:
    return [kind.type for kind in kinds()]


def get_kind(type_: str) -> PostableKind:
    try:
        return _registry[type_]
    except KeyError:
        raise ApplicationError(
            f"'{type_}' is not a kind of record; use one of {', '.join(kind_types())}.",
            code="validation_error",
            status_code=400,
            extra={"fields": {"type": [f"Choose one of: {', '.join(kind_types())}."]}},
        ) from None


def batched_rows(kind: PostableKind, batch_id: int) -> models.QuerySet:
    return kind.model.objects.filter(**{f"{kind.batch_field}_id": batch_id})


def unbatched_rows(kind: PostableKind, batch_id: int) -> models.QuerySet:
    """Rows unbatched from a batch and not back in it."""
    return kind.model.objects.filter(
        **{f"{kind.original_batch_field}_id": batch_id, f"{kind.batch_field}__isnull": True}
    )


def unposted_rows(kind: PostableKind, thru_date: date | None = None) -> models.QuerySet:
    rows = kind.queryset().filter(kind.ready_filter(), **{f"{kind.batch_field}__isnull": True})
    if thru_date is not None:
        rows = rows.filter(**{f"{kind.date_field}__lte": thru_date})
    return rows


@dataclass(frozen=True)
class RecordRef:
    type: str
    id: int
    reference: str

    def as_item(self) -> dict[str, str | int]:
        return {"type": self.type, "id": self.id, "reference": self.reference}


def record_refs(kind: PostableKind, records: Iterable[models.Model]) -> list[RecordRef]:
    return [RecordRef(kind.type, record.pk, kind.reference(record)) for record in records]
