"""What the record searches share: date and amount ranges, sorting by a column, the
matching records' count and total, the exact document number that opens its record,
and the CSV export of the same list.

A search's page costs a constant number of queries: the count and the total come
from one aggregate (which the paginator takes as its count), the rows from one
more. Sorting by a column other than the list's own order reads every matching row,
so it is offered up to `SORT_CAP` matching records; past that the page says to narrow
the search and keeps the list's own order."""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Page, Paginator
from django.db.models import Count, QuerySet, Sum
from django.http import HttpRequest

from core import web

SORT_CAP = 10_000


class RangeFilterForm(forms.Form):
    """Date and amount ranges, and the sort, that every search adds to its own fields."""

    date_from = forms.DateField(
        required=False, label="Date from", widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        required=False, label="Date to", widget=forms.DateInput(attrs={"type": "date"})
    )
    amount_min = forms.DecimalField(
        required=False, label="Amount from", max_digits=20, decimal_places=2
    )
    amount_max = forms.DecimalField(
        required=False, label="Amount to", max_digits=20, decimal_places=2
    )
    sort = forms.CharField(required=False, max_length=30, widget=forms.HiddenInput)
    order = forms.ChoiceField(
        required=False,
        choices=[("asc", "Ascending"), ("desc", "Descending")],
        widget=forms.HiddenInput,
    )

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "The end date is before the start date.")
        low, high = cleaned.get("amount_min"), cleaned.get("amount_max")
        if low is not None and high is not None and low > high:
            self.add_error("amount_max", "The upper amount is below the lower one.")
        return cleaned


def apply_ranges(
    rows: QuerySet, data: dict[str, Any], *, date_field: str, amount_field: str
) -> QuerySet:
    if data.get("date_from"):
        rows = rows.filter(**{f"{date_field}__gte": data["date_from"]})
    if data.get("date_to"):
        rows = rows.filter(**{f"{date_field}__lte": data["date_to"]})
    if data.get("amount_min") is not None:
        rows = rows.filter(**{f"{amount_field}__gte": data["amount_min"]})
    if data.get("amount_max") is not None:
        rows = rows.filter(**{f"{amount_field}__lte": data["amount_max"]})
    return rows


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    field: str  # the model field the column sorts by


@dataclass
class SearchList:
    """A search's page: rows, the paginator's page, count and total, header links."""

    rows: QuerySet
    page: Page
    count: int
    total: Decimal
    columns: dict[str, dict[str, str]]
    export_url: str

    def context(self) -> dict[str, Any]:
        """What every search page's template reads of it: the page, header links,
        count and total of all matching, the export link."""
        return {
            "page_obj": self.page,
            "columns": self.columns,
            "matching": f"{self.count:,}",
            "summary": {"total": self.total},
            "export_url": self.export_url,
        }


def search_list(
    request: HttpRequest,
    rows: QuerySet,
    data: dict[str, Any],
    *,
    columns: list[Column],
    default: tuple[str, bool],
    amount_field: str,
    export: bool = False,
) -> SearchList:
    """Sort the rows as asked (or by `default`, (column key, descending)), count and
    total them in one query, and give the page of them the request asks for (none
    when `export`: the rows are streamed whole)."""
    found = rows.order_by().aggregate(n=Count("pk"), total=Sum(amount_field))
    count, total = found["n"] or 0, found["total"] or Decimal("0.00")
    by_key = {column.key: column for column in columns}
    key = data.get("sort") or default[0]
    descending = data.get("order") == "desc" if data.get("sort") else default[1]
    if key not in by_key:
        key, descending = default
    if key != default[0] and count > SORT_CAP:
        messages.info(
            request,
            f"Sorting by {by_key[key].label.lower()} takes {SORT_CAP:,} records or fewer: "
            "narrow the search first (a date range, a company). Shown in the usual order.",
        )
        key, descending = default
    field = by_key[key].field
    ordered = rows.order_by(*((f"-{field}", "-pk") if descending else (field, "pk")))
    paginator = Paginator(ordered, web.PAGE_SIZE)
    paginator.__dict__["count"] = count  # the aggregate above counted them: no second COUNT
    page = paginator.get_page(None if export else request.GET.get("page"))
    return SearchList(
        rows=ordered,
        page=page,
        count=count,
        total=total,
        columns=web.sort_columns(
            request,
            [(column.key, column.label) for column in columns],
            current=key,
            descending=descending,
        ),
        export_url=_export_url(request),
    )


def _export_url(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    query["export"] = "csv"
    return f"{request.path}?{query.urlencode()}"


def wants_export(request: HttpRequest) -> bool:
    return request.GET.get("export") == "csv"
