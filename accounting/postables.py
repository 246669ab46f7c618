"""The registry of postable kinds.

Accounting never imports the record apps. Each record app registers an adapter for
each of its postable kinds in its `AppConfig.ready`; the workflows work on any
registered kind through it.
"""

import builtins
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol, TypeVar

from django.db import models

from accounting.batch_fields import Batching
from accounting.gl import AccountBook, Posting
from core import web
from core.errors import ApplicationError

# The model of a kind's records: an adapter of invoices takes Invoice rows.
Record = TypeVar("Record", bound=models.Model)


class PostableKind(Protocol[Record]):
    """What accounting needs to know of a kind of postable record. Registered as a
    `PostableKind[Any]`: accounting hands each adapter only its own model's rows."""

    type: str  # "invoice", "expense", "freight", "product": as the API names them
    label: str  # "Invoice", for sentences
    plural_label: str  # "Invoices", for headings and lists
    url_name: str  # the record's page, "invoicing:invoice_detail"
    lock_order: int  # where the kind's rows are locked among the kinds (see `kinds`)
    document: str  # SALE or BILL (accounting.gl): what the package makes of a posting
    model: builtins.type[Record]
    batching: Batching  # the ready condition and batch columns, defined on the model

    @property
    def batch_field(self) -> str:
        """The record's GL batch foreign key."""

    @property
    def original_batch_field(self) -> str:
        """The batch it was unbatched from."""

    @property
    def date_field(self) -> str:
        """The date "thru date" filters on."""

    amount_field: str  # a stored amount, for totals without loading rows
    # Where the list filters look: the name of the company, member or vendor a record is
    # of ("company or vendor"), and the columns the free-text filter searches (its
    # document number, description, that name).
    company_lookups: tuple[str, ...]
    text_lookups: tuple[str, ...]

    def ready_filter(self) -> models.Q:
        """Rows finished enough to be posted (closed, approved, received)."""

    def is_ready(self, record: Record) -> bool:
        """The same answer for one record in memory as `ready_filter` in the database."""

    def is_locked(self, record: Record) -> bool:
        """In a GL batch: refused any change until it is unbatched."""

    def ready_sql(self) -> tuple[str, tuple[Any, ...]]:
        """`ready_filter()` as a WHERE fragment with its parameters (the benchmark's
        hand-written SQL)."""

    def not_ready_reason(self, record: Record) -> str:
        """Why this record is not ready, and what makes it ready."""

    def queryset(self) -> models.QuerySet:
        """Rows with what `posting` reads already joined in."""

    def reference(self, record: Record) -> str:
        """'Invoice INV-1042': how a person finds the record."""

    def company_name(self, record: Record) -> str: ...

    def posting(self, record: Record, book: AccountBook) -> Posting:
        """The header and balanced GL lines a transfer carries for the record."""

    def bulk_postings(
        self,
        rows: models.QuerySet,
        book: AccountBook,
        chunk_size: int | None = 2000,
        *,
        between: tuple[int, int] | None = None,
    ) -> Iterator[Posting]:
        """The same postings as `posting`, for many rows in primary key order, read as
        plain values (a transfer of 100,000 records builds no model instances), streamed
        `chunk_size` rows at a time (None: read at once, see `BatchedKind.read_rows`).
        `between` (first id, last id): only the rows in that range of ids (a part of a
        fanned-out transfer), read from that range of the indexes alone, the records'
        child rows too."""


class BatchedKind:
    """What an adapter answers from its model's `Batching`: the batch columns, the
    ready condition in SQL and in Python, and whether a record is locked. An adapter
    sets `batching` and inherits the rest."""

    batching: Batching
    model: builtins.type[models.Model]

    @property
    def batch_field(self) -> str:
        return self.batching.batch_field

    @property
    def original_batch_field(self) -> str:
        return self.batching.original_batch_field

    @property
    def date_field(self) -> str:
        return self.batching.date_field

    def ready_filter(self) -> models.Q:
        return self.batching.ready

    def is_ready(self, record: models.Model) -> bool:
        return self.batching.is_ready(record)

    def is_locked(self, record: models.Model) -> bool:
        return self.batching.is_locked(record)

    def ready_sql(self) -> tuple[str, tuple[Any, ...]]:
        """`ready_filter()` as the database runs it: a WHERE fragment with its columns
        qualified by the table, and its parameters (for hand-written SQL)."""
        return self.batching.ready_sql(self.model)

    @staticmethod
    def read_rows(rows: models.QuerySet, chunk_size: int | None) -> Iterator[Any]:
        """The rows of `bulk_postings`: streamed `chunk_size` at a time (a server-side
        cursor: three round trips, then one a chunk), or with `chunk_size` None read in
        one plain query, for the few records a page compares."""
        return rows.iterator(chunk_size=chunk_size) if chunk_size else iter(rows)


_registry: dict[str, PostableKind] = {}


def register(kind: PostableKind) -> None:
    _registry[kind.type] = kind
    web.register_record_page(kind.type, kind.url_name)


def type_label(record_type: str) -> str:
    """The heading of a record type's records ("Invoices"); a type that is no kind
    reads as its words ("Expense Sheet")."""
    kind = _registry.get(record_type)
    return kind.plural_label if kind else record_type.replace("_", " ").title()


def record_title(kind: PostableKind, record: Any) -> str:
    """How a page names a record: the kind's `title` when it has one (a product line
    with its description), else its reference. The reference itself is what transfers
    carry and fingerprint, so it does not change for the pages' sake."""
    title = getattr(kind, "title", None)
    return title(record) if title is not None else kind.reference(record)


def kinds() -> list[PostableKind]:
    """The registered kinds in lock order: locks are always taken batch first, then
    kinds in this order, then by primary key, so that two workflows never wait on each
    other in a cycle."""
    return sorted(_registry.values(), key=lambda k: (k.lock_order, k.type))


def __getattr__(name: str) -> Any:
    # KIND_ORDER: the kinds' types in lock order, read once the apps have registered
    # them (the API schema names its record type enum from it).
    if name == "KIND_ORDER":
        return tuple(kind_types())
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
    return kind.model._default_manager.filter(**{f"{kind.batch_field}_id": batch_id})


def unbatched_rows(kind: PostableKind, batch_id: int) -> models.QuerySet:
    """Rows unbatched from a batch and not back in it."""
    return kind.model._default_manager.filter(
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
