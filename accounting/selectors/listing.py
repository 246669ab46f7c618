"""Reads behind the Accounting Interface's list tools: filters, sorting by a column,
the total of what matches, and the rows of a CSV export.

Every read here costs the same on a book of any size: a page is found by position on
(sort column, id), never by offset; a total is summed over at most `cap` + 1 rows, and
past that it is not given (the page says how to narrow the list) rather than read from
the whole book."""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import connections
from django.db.models import F, Q, QuerySet

from accounting.postables import PostableKind, get_kind, kinds, unposted_rows

SORTS = ("date", "amount")


@dataclass(frozen=True)
class ListFilters:
    """What a clerk narrows a list by. Empty fields filter nothing."""

    date_from: date | None = None
    date_to: date | None = None
    company: str = ""
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None
    text: str = ""

    def is_empty(self) -> bool:
        return self == ListFilters()


def _any_contains(lookups: tuple[str, ...], text: str) -> Q:
    condition = Q()
    for lookup in lookups:
        condition |= Q(**{f"{lookup}__icontains": text})
    return condition


def filtered_unposted(kind: PostableKind, filters: ListFilters | None = None) -> QuerySet:
    """The kind's unposted records that the filters keep."""
    filters = filters or ListFilters()
    rows = unposted_rows(kind, filters.date_to)
    if filters.date_from is not None:
        rows = rows.filter(**{f"{kind.date_field}__gte": filters.date_from})
    if filters.amount_min is not None:
        rows = rows.filter(**{f"{kind.amount_field}__gte": filters.amount_min})
    if filters.amount_max is not None:
        rows = rows.filter(**{f"{kind.amount_field}__lte": filters.amount_max})
    if filters.company.strip():
        rows = rows.filter(_any_contains(kind.company_lookups, filters.company.strip()))
    if filters.text.strip():
        rows = rows.filter(_any_contains(kind.text_lookups, filters.text.strip()))
    return rows


@dataclass(frozen=True)
class ListSummary:
    """How many records match (counted up to `cap` + 1) and their total, given only
    when they are `cap` or fewer."""

    count: int
    total: Decimal | None
    cap: int

    @property
    def capped(self) -> bool:
        return self.count > self.cap

    @property
    def shown_cap(self) -> str:
        return f"{self.cap:,}"


def summarize(
    rows: QuerySet, amount_field: str, *, cap: int, order: tuple[str, ...] = ()
) -> ListSummary:
    """Count and total of `rows` in one query over at most `cap` + 1 of them, read in
    `order` (an index's order, so the read stops at the cap)."""
    bounded = (
        rows.order_by(*order)
        .annotate(listed_amount=F(amount_field))
        .values("listed_amount")[: cap + 1]
    )
    sql, params = bounded.query.sql_with_params()
    with connections[rows.db].cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*), SUM(listed.listed_amount) FROM ({sql}) AS listed",
            params,
        )
        count, summed = cursor.fetchone()
    total = None if count > cap else Decimal(summed or 0).quantize(Decimal("0.01"))
    return ListSummary(count=count, total=total, cap=cap)


def unposted_summary(
    *, record_type: str, filters: ListFilters | None = None, cap: int = 10_000
) -> ListSummary:
    kind = get_kind(record_type)
    return summarize(
        filtered_unposted(kind, filters),
        kind.amount_field,
        cap=cap,
        order=(kind.date_field, "pk"),  # the kind's partial "unposted" index
    )


def unposted_tab_counts(
    *, record_type: str, filters: ListFilters | None = None, cap: int
) -> tuple[ListSummary, dict[str, int]]:
    """The summary of one kind's tab (count and total, as `unposted_summary`) and how
    many records of every kind the filters keep, each counted up to `cap` + 1, in one
    query: each kind's count reads its partial "unposted" index in order and stops at
    the cap, so the tabs cost the same on a book of any size."""
    get_kind(record_type)  # an unknown kind is refused, as everywhere else
    parts: list[str] = []
    params: list[Any] = []
    order: list[str] = []
    for position, kind in enumerate(kinds()):
        rows = filtered_unposted(kind, filters).order_by(kind.date_field, "pk")
        if kind.type == record_type:
            bounded = rows.annotate(listed_amount=F(kind.amount_field)).values("listed_amount")
            summed = "SUM(listed.listed_amount)"
        else:
            bounded = rows.values("pk")
            summed = "CAST(NULL AS numeric)"
        sql, kind_params = bounded[: cap + 1].query.sql_with_params()
        parts.append(f"SELECT {position}, COUNT(*), {summed} FROM ({sql}) AS listed")
        params.extend(kind_params)
        order.append(kind.type)
    with connections[kinds()[0].model._default_manager.db].cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        found = {order[position]: (count, summed) for position, count, summed in cursor}
    count, summed = found[record_type]
    total = None if count > cap else Decimal(summed or 0).quantize(Decimal("0.01"))
    return (
        ListSummary(count=count, total=total, cap=cap),
        {kind_type: found[kind_type][0] for kind_type in order},
    )


def sort_field(kind: PostableKind, sort: str) -> str:
    return kind.amount_field if sort == "amount" else kind.date_field


@dataclass
class SortedPage:
    rows: list[Any]
    next_cursor: str | None = None
    previous_cursor: str | None = None
    has_next: bool = False
    has_previous: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def _decode(sort: str, text: str) -> tuple[Any, int]:
    """A position's `<value>.<id>`; raises ValueError for text that is none."""
    value, _, record_id = text.rpartition(".")
    if sort == "amount":
        try:
            decoded: Any = Decimal(value)
        except InvalidOperation:
            raise ValueError(text) from None
        if not decoded.is_finite():
            raise ValueError(text)
    else:
        decoded = date.fromisoformat(value)
    return decoded, int(record_id)


def keyset_page(
    rows: QuerySet,
    *,
    column: str,
    sort: str,
    descending: bool = False,
    cursor: str = "",
    size: int = 50,
) -> SortedPage:
    """A page of `rows` ordered by (`column`, id), ascending or descending, found by
    position (`after:<value>.<id>` or `before:<value>.<id>`) rather than by offset.
    A cursor that is no position gives the first page."""
    direction, _, position = cursor.partition(":")
    at: tuple[Any, int] | None = None
    if direction in ("after", "before"):
        try:
            at = _decode(sort, position)
        except ValueError:
            at = None
    backwards = at is not None and direction == "before"
    ascending = descending == backwards
    rows = rows.filter(**{f"{column}__isnull": False})
    if at is not None:
        value, record_id = at
        near, far = ("gte", "gt") if ascending else ("lte", "lt")
        # (value, id) beyond the position, written so an index range starts at its value.
        rows = rows.filter(
            Q(**{f"{column}__{near}": value})
            & (Q(**{f"{column}__{far}": value}) | Q(**{f"pk__{far}": record_id}))
        )
    ordering = (column, "pk") if ascending else (f"-{column}", "-pk")
    found = list(rows.order_by(*ordering)[: size + 1])
    more = len(found) > size
    found = found[:size]
    if backwards:
        found.reverse()

    def encode(record: Any) -> str:
        value = getattr(record, column)
        return f"{value.isoformat() if isinstance(value, date) else value}.{record.pk}"

    has_next = more if not backwards else True
    has_previous = (more if backwards else at is not None) and bool(found)
    return SortedPage(
        rows=found,
        next_cursor=f"after:{encode(found[-1])}" if has_next and found else None,
        previous_cursor=f"before:{encode(found[0])}" if has_previous and found else None,
        has_next=has_next and bool(found),
        has_previous=has_previous,
    )


def unposted_sorted_page(
    *,
    record_type: str,
    filters: ListFilters | None = None,
    sort: str = "date",
    descending: bool = False,
    cursor: str = "",
    size: int = 50,
) -> SortedPage:
    """A page of a kind's unposted records that the filters keep, sorted by date or
    amount. The rows carry what the list shows (never the records' lines)."""
    kind = get_kind(record_type)
    return keyset_page(
        filtered_unposted(kind, filters).prefetch_related(None),
        column=sort_field(kind, sort),
        sort=sort,
        descending=descending,
        cursor=cursor,
        size=size,
    )


def unposted_export_rows(
    *,
    record_type: str,
    filters: ListFilters | None = None,
    sort: str = "date",
    descending: bool = False,
    chunk_size: int = 2000,
) -> Iterator[list[Any]]:
    """Every unposted record of a kind that the filters keep, in the list's order, as
    CSV rows, read a chunk at a time (a server-side cursor)."""
    kind = get_kind(record_type)
    column = sort_field(kind, sort)
    ordering = (f"-{column}", "-pk") if descending else (column, "pk")
    rows = filtered_unposted(kind, filters).prefetch_related(None).order_by(*ordering)
    for record in rows.iterator(chunk_size=chunk_size):
        yield [
            kind.label,
            kind.reference(record),
            getattr(record, kind.date_field),
            kind.company_name(record),
            getattr(record, kind.amount_field),
        ]
