"""Lists as ConnectWise serves them: `conditions`, `orderBy`, `fields`, `page` and
`pageSize` (default 25, at most 1000), forward-only paging (header `pagination-type:
forward-only` with `pageId`: the page starts after that id), a `Link` header with
first/prev/next/last, and `/count` under the same conditions.

A resource is one or more parts (unposted procurement: freight and product rows), each a
queryset with the same whitelist of fields; every part answers the ConnectWise `id` as
the annotation `cw_id`, unique across the parts."""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.db.models import Expression, F, QuerySet, Value
from django.db.models import IntegerField as IntegerDbField
from rest_framework.request import Request

from cwapi.conditions import Field, parse_conditions
from cwapi.errors import invalid

DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 1000


@dataclass
class Part:
    """One queryset of a list: its rows, their ConnectWise id, the whitelist of fields
    (ConnectWise name -> ORM lookup and type) and how its rows are rendered."""

    queryset: Callable[[], QuerySet]
    cw_id: Expression
    fields: dict[str, Field]
    render: Callable[[list[Any], "Context"], list[dict[str, Any]]]


@dataclass
class Context:
    """What rendering needs besides the rows: the API's base URL, and a place for
    what is loaded once per request (the GL accounts)."""

    base: str
    cache: dict[str, Any] = field(default_factory=dict)


@dataclass
class Resource:
    name: str
    parts: list[Part]


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid(f"{name} must be a whole number.", field=name) from None
    if not low <= value <= high:
        raise invalid(f"{name} must be from {low} to {high}.", field=name)
    return value


def _order(resource: Resource, text: str) -> list[tuple[str, bool]]:
    """`orderBy=field asc|desc, field2` as (field, descending) pairs."""
    order = []
    for clause in text.split(","):
        words = clause.split()
        if not words:
            continue
        if len(words) > 2 or (len(words) == 2 and words[1].lower() not in ("asc", "desc")):
            raise invalid(
                f"orderBy: {clause.strip()!r} is not 'field asc' or 'field desc'.",
                field="orderBy",
            )
        name = words[0]
        if name not in resource.parts[0].fields:
            raise invalid(
                f"orderBy: {name} is not a field this list can be ordered by. Use one of: "
                f"{', '.join(sorted(resource.parts[0].fields))}.",
                field="orderBy",
            )
        order.append((name, len(words) == 2 and words[1].lower() == "desc"))
    return order


def _filtered(part: Part, conditions: str) -> QuerySet:
    rows = part.queryset().annotate(cw_id=part.cw_id).order_by()
    return rows.filter(parse_conditions(conditions, part.fields))


def count(resource: Resource, request: Request) -> int:
    conditions = request.query_params.get("conditions", "")
    return sum(_filtered(part, conditions).count() for part in resource.parts)


def _forward_only(request: Request) -> bool:
    return request.META.get("HTTP_PAGINATION_TYPE", "").strip().lower() == "forward-only"


def page(resource: Resource, request: Request, context: Context) -> tuple[list[dict], str]:
    """One page of the list, rendered and cut to `fields`, and its Link header."""
    params = request.query_params
    conditions = params.get("conditions", "")
    size = _int_param(request, "pageSize", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    forward = _forward_only(request)
    if forward:
        if params.get("orderBy"):
            raise invalid(
                "orderBy cannot be used with forward-only paging: its pages follow the id.",
                field="orderBy",
            )
        order: list[tuple[str, bool]] = []
        after = _int_param(request, "pageId", 0, 0, 2**63 - 1)
        number = 1
    else:
        order = _order(resource, params.get("orderBy", ""))
        number = _int_param(request, "page", 1, 1, 10**9)
        after = None
    selects = []
    for index, part in enumerate(resource.parts):
        rows = _filtered(part, conditions)
        if after is not None:
            rows = rows.filter(cw_id__gt=after)
        keys = {f"sort_{i}": F(part.fields[name].lookup) for i, (name, _) in enumerate(order)}
        rows = rows.annotate(part_index=Value(index, output_field=IntegerDbField()), **keys)
        selects.append(rows.values_list("cw_id", "part_index", "pk", *keys))
    query = selects[0] if len(selects) == 1 else selects[0].union(*selects[1:], all=True)
    ordering = [
        F(f"sort_{i}").desc(nulls_last=True) if descending else F(f"sort_{i}").asc(nulls_first=True)
        for i, (_, descending) in enumerate(order)
    ]
    if len(selects) > 1:  # a union orders by its columns' names
        ordering = [
            f"-sort_{i}" if descending else f"sort_{i}" for i, (_, descending) in enumerate(order)
        ]
    query = query.order_by(*ordering, "cw_id")
    start = 0 if forward else (number - 1) * size
    found = list(query[start : start + size + 1])
    more = len(found) > size
    found = found[:size]
    by_part: dict[int, list[int]] = {}
    for _, part_index, pk, *_keys in found:
        by_part.setdefault(part_index, []).append(pk)
    rendered: dict[tuple[int, int], dict] = {}
    for part_index, pks in by_part.items():
        part = resource.parts[part_index]
        objects = list(part.queryset().filter(pk__in=pks))
        for obj, row in zip(objects, part.render(objects, context), strict=True):
            rendered[(part_index, obj.pk)] = row
    results = [rendered[(part_index, pk)] for _, part_index, pk, *_ in found]
    results = [cut_to_fields(row, params.get("fields", "")) for row in results]
    if forward:
        link = _forward_links(request, found[-1][0] if found and more else None)
    else:
        total = count(resource, request)
        last = max(1, -(-total // size))
        link = _links(request, number, last)
    return results, link


def _url(request: Request, **changes: Any) -> str:
    params = request.query_params.copy()
    for name, value in changes.items():
        params[name] = str(value)
    return (
        request.build_absolute_uri(request.path) + "?" + urlencode(list(params.lists()), doseq=True)
    )


def _links(request: Request, number: int, last: int) -> str:
    links = [f'<{_url(request, page=1)}>; rel="first"']
    if number > 1:
        links.append(f'<{_url(request, page=min(number - 1, last))}>; rel="prev"')
    if number < last:
        links.append(f'<{_url(request, page=number + 1)}>; rel="next"')
    links.append(f'<{_url(request, page=last)}>; rel="last"')
    return ", ".join(links)


def _forward_links(request: Request, next_after: int | None) -> str:
    params = request.query_params.copy()
    params.pop("pageId", None)
    first = request.build_absolute_uri(request.path) + (
        "?" + urlencode(list(params.lists()), doseq=True) if params else ""
    )
    links = [f'<{first}>; rel="first"']
    if next_after is not None:
        links.append(f'<{_url(request, pageId=next_after)}>; rel="next"')
    return ", ".join(links)


def cut_to_fields(row: dict[str, Any], fields: str) -> dict[str, Any]:
    """`fields=a,b,c/d`: only those fields (`c/d`: the field d of the object c)."""
    wanted = [name.strip() for name in fields.split(",") if name.strip()]
    if not wanted:
        return row
    tree: dict[str, Any] = {}
    for name in wanted:
        node = tree
        parts = name.split("/")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if node is True:
                break
        else:
            node[parts[-1]] = True
    return _prune(row, tree)


def _prune(value: dict[str, Any], tree: dict[str, Any]) -> dict[str, Any]:
    result = {}
    for name, sub in tree.items():
        if name not in value:
            continue
        if sub is True or not isinstance(value[name], dict):
            result[name] = value[name]
        else:
            result[name] = _prune(value[name], sub)
    return result


def by_id(resource: Resource, cw_id: int, context: Context) -> dict[str, Any] | None:
    for part in resource.parts:
        obj = part.queryset().annotate(cw_id=part.cw_id).filter(cw_id=cw_id).first()
        if obj is not None:
            return part.render([obj], context)[0]
    return None
