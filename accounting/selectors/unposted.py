"""Reads of the unposted records: their pages, counts and list rows."""

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import Q, QuerySet

from accounting.postables import get_kind, kinds, unposted_rows
from accounting.selectors.changes import sent_changes
from accounting.selectors.listing import ListFilters, filtered_unposted
from accounting.selectors.sends import live_sends


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


def unposted_count(
    *,
    record_type: str,
    thru_date: date | None = None,
    cap: int = 10_000,
    filters: ListFilters | None = None,
) -> int:
    """How many unposted records of a kind (that the filters keep, when given), counted
    up to `cap` + 1 so that a tab's badge costs the same on a book of any size
    ("10,000+"). Without filters only the kind's own table is read (an index-only scan
    of its unposted index): the joins a list page needs would cost a lookup per counted
    row."""
    kind = get_kind(record_type)
    if filters is not None:
        # In the order of the kind's partial "unposted" index, so the count stops at the cap.
        rows = filtered_unposted(kind, filters).order_by(kind.date_field, "pk")
        return rows[: cap + 1].count()
    rows = kind.model._default_manager.filter(
        kind.ready_filter(), **{f"{kind.batch_field}__isnull": True}
    )
    if thru_date is not None:
        rows = rows.filter(**{f"{kind.date_field}__lte": thru_date})
    return rows.order_by(kind.date_field, "pk").values("pk")[: cap + 1].count()


def unposted_list(*, record_type: str, thru_date: date | None = None) -> QuerySet:
    kind = get_kind(record_type)
    return unposted_rows(kind, thru_date).order_by(kind.date_field, "pk")


def unposted_items(*, record_type: str, records: list) -> list[dict[str, Any]]:
    """Unposted records as the interface shows them, with earlier sends of each."""
    kind = get_kind(record_type)
    sends = live_sends(kind.type, [record.pk for record in records])
    # Sent before and edited since: the package holds the values sent, both shown.
    changes = sent_changes(kind, sorted(sends), {pk: None for pk in sends})
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
            "changed_since_sent": (changes[record.pk].as_json() if record.pk in changes else None),
        }
        for record in records
    ]
