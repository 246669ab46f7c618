"""The pages and the API, in-process with Django's test client and a Finance user:
the unposted list (REST API and browser page, first and last page), the selectors
under it by OFFSET and by a keyset cursor, and the page of a deleted batch."""

import math
import statistics
import time

from django.test import Client
from django.urls import reverse

from accounting import selectors
from accounting.models import FormerRecord, GLBatch
from accounting.postables import get_kind, kind_types, kinds
from accounting.views.batches import SPLIT_SHOWN
from bench.context import PAGE_SIZE, TARGETS, Context, percentile, queries_of


def bench_deleted_page(ctx: Context, batch_id: int) -> dict:
    """The page of the big batch once deleted (after its last transfer): a page of each
    part of its split (unchanged, changed, never sent), stored at the delete; first
    page and last page of the unchanged part (by its keyset, `?unchanged_after=`)."""
    ctx.say("\nDeleted batch page")
    ctx.settle()
    client = Client(raise_request_exception=False, HTTP_HOST="localhost")
    client.force_login(ctx.user)
    url = reverse("accounting:batch_detail", args=[batch_id])
    batch = GLBatch.objects.get(pk=batch_id)
    unchanged = selectors.former_rows(batch, "unchanged")
    count = unchanged.count()
    records = FormerRecord.objects.filter(batch_id=batch_id).count()
    pages = {"first": url}
    if count > SPLIT_SHOWN:
        record_type, record_id, _ = unchanged[count - SPLIT_SHOWN - 1]
        pages["last"] = f"{url}?unchanged_after={record_type}.{record_id}"
    result: dict = {"records": records, "target_ms": TARGETS["deleted_page_ms"]}
    for depth, page_url in pages.items():
        timed = _time_get(ctx, client, page_url)
        if timed["status"] != 200:
            ctx.missing.append(f"deleted batch page {page_url} answered {timed['status']}")
            return {}
        ctx.captured[f"deleted batch page, {depth}"] = timed["sql"]
        result[depth] = {k: timed[k] for k in ("url", "median_ms", "p95_ms", "queries")}
        ctx.say(
            f"  {records:,} former records, {depth} page: {timed['median_ms']:.1f} ms "
            f"({timed['queries']} queries)"
        )
    result["median_ms"] = max(result[depth]["median_ms"] for depth in pages)
    result["queries"] = result["first"]["queries"]
    result["met"] = result["median_ms"] < TARGETS["deleted_page_ms"]
    return result


def _time_get(ctx: Context, client: Client, url: str, repeat: int | None = None) -> dict:
    response = client.get(url)  # warm-up
    if response.status_code != 200:
        return {"url": url, "status": response.status_code}
    with queries_of() as captured:
        client.get(url)
    sql = [q["sql"] for q in captured.captured_queries]  # before the next request resets
    items, is_last = _items(response), _is_last(response)
    timings = []
    for _ in range(repeat or ctx.page_repeat):
        started = time.perf_counter()
        response = client.get(url)
        timings.append(time.perf_counter() - started)
    median_ms = statistics.median(timings) * 1000
    return {
        "url": url,
        "status": response.status_code,
        "median_ms": round(median_ms, 2),
        "p95_ms": round(percentile(timings, 95) * 1000, 2),
        "queries": len(sql),
        "items": items,
        "is_last": is_last,
        "sql": sql,
        "target_ms": TARGETS["list_ms"],
        "met": median_ms < TARGETS["list_ms"],
    }


def bench_lists(ctx: Context) -> dict:
    """First and last page of each list. The pagination is read off the first page:
    page numbers (`?page=N`), or a position cursor (`?cursor=after:<kind>.<date>.<id>`,
    kind = its index among the kinds listed), in which case the last page is asked
    for by the position of the row just before it."""
    ctx.say("\nUnposted list (first page, last page)")
    ctx.settle()  # the freshly built book written out: reads do not race the checkpoint
    client = Client(raise_request_exception=False, HTTP_HOST="localhost")
    client.force_login(ctx.user)
    results: list[dict] = []
    counts = {kind.type: selectors.unposted_list(record_type=kind.type).count() for kind in kinds()}
    cases = [
        ("API", "invoice", "/api/v1/accounting/unposted/?type=invoice", ["invoice"]),
        ("API", "all kinds", "/api/v1/accounting/unposted/", kind_types()),
        ("page", "invoice", "/finance/accounting-interface/unposted/invoice/", ["invoice"]),
    ]
    for interface, what, url, types in cases:
        rows = sum(counts[t] for t in types)
        separator = "&" if "?" in url else "?"
        first = client.get(url)
        style = _pagination_style(first)
        if style == "cursor":
            deep_kind = types[-1]  # the last page lies in the last kind listed
            deep = _position_before_last_page(
                types.index(deep_kind), deep_kind, counts, kind_index_in_cursor=interface == "API"
            )
            deep_url, deep_label = f"{url}{separator}cursor=after:{deep}", "cursor"
        else:
            last = max(1, math.ceil(rows / PAGE_SIZE))
            deep_url, deep_label = f"{url}{separator}page={last}", f"{last:,}"
        for depth, page_url, label in (
            ("first", url, "1"),
            ("last", deep_url, deep_label),
        ):
            result = _time_get(ctx, client, page_url)
            result.update(
                interface=interface,
                what=what,
                depth=depth,
                page=label,
                pagination=style,
                rows=rows,
            )
            if result["status"] != 200:
                ctx.missing.append(f"{interface} {page_url} answered {result['status']}")
                result["met"] = False
            else:
                ctx.captured[f"{interface} {what} {depth} page"] = result["sql"]
                ctx.say(
                    f"  {interface:<4} {what:<9} {depth:<5} page {label:>8} ({style}): "
                    f"{result['median_ms']:8.2f} ms  ({result['queries']} queries, "
                    f"{result.get('items', '?')} items)"
                )
            results.append(result)
    return {"counts": counts, "requests": results, "selectors": _bench_selectors(ctx, counts)}


def _position_before_last_page(
    kind_index: int, record_type: str, counts, *, kind_index_in_cursor: bool = True
) -> str:
    """The API's cursor names the kind (`<kind>.<date>.<id>`); the page's, one kind's
    tab, does not (`<date>.<id>`): a page cursor it cannot read shows the first page."""
    kind = get_kind(record_type)
    offset = max(0, counts[record_type] - PAGE_SIZE - 1)
    day, pk = selectors.unposted_list(record_type=record_type).values_list(kind.date_field, "pk")[
        offset
    ]
    if not kind_index_in_cursor:
        return f"{day.isoformat()}.{pk}"
    position = getattr(selectors, "UnpostedPosition", None)
    if position is not None:
        return position(kind_index, day, pk).encode()
    return f"{kind_index}.{day.isoformat()}.{pk}"


def _bench_selectors(ctx: Context, counts: dict[str, int]) -> list[dict]:
    """The selectors under the pages, by OFFSET and by a keyset cursor on (date, id):
    what a keyset-paginated page would cost at the same depth."""
    results = []
    for record_type in ("invoice", "product"):
        kind = get_kind(record_type)
        rows = counts[record_type]
        offset = max(0, (math.ceil(rows / PAGE_SIZE) - 1) * PAGE_SIZE)
        anchor = None
        if offset:
            anchor = selectors.unposted_list(record_type=record_type).values_list(
                kind.date_field, "pk"
            )[offset - 1]

        def by_offset(start: int = offset, record_type: str = record_type) -> list:
            records = list(
                selectors.unposted_list(record_type=record_type)[start : start + PAGE_SIZE]
            )
            return selectors.unposted_items(record_type=record_type, records=records)

        def by_keyset(anchor=anchor, kind=kind) -> list:
            rows = selectors.unposted_list(record_type=kind.type)
            if anchor is not None:
                day, pk = anchor
                rows = rows.filter(**{f"{kind.date_field}__gte": day}).exclude(
                    **{kind.date_field: day, "pk__lte": pk}
                )
            records = list(rows[:PAGE_SIZE])
            return selectors.unposted_items(record_type=kind.type, records=records)

        for method, fn in (("offset", by_offset), ("keyset", by_keyset)):
            fn()
            timings = []
            for _ in range(ctx.page_repeat):
                started = time.perf_counter()
                items = fn()
                timings.append(time.perf_counter() - started)
            results.append(
                {
                    "type": record_type,
                    "method": method,
                    "depth": "last" if offset else "first",
                    "offset": offset,
                    "items": len(items),
                    "median_ms": round(statistics.median(timings) * 1000, 2),
                }
            )
            ctx.say(
                f"  selector {record_type:<8} {method:<6} at offset {offset:>7,}: "
                f"{results[-1]['median_ms']:8.2f} ms"
            )
    return results


def _pagination_style(response) -> str:
    """ "offset" (?page=N) or "cursor" (?cursor=after:...), from a first page."""
    if response.get("Content-Type", "").startswith("application/json"):
        body = response.json()
        link = body.get("next") or ""
        return "cursor" if "count" not in body and "cursor=" in link else "offset"
    text = response.content.decode("utf-8", "replace")
    return "cursor" if "cursor=after" in text and "page=" not in text else "offset"


def _items(response) -> int | None:
    if response.get("Content-Type", "").startswith("application/json"):
        return len(response.json().get("results", []))
    return None


def _is_last(response) -> bool | None:
    """Whether a JSON page says it is the last one (no next link)."""
    if response.get("Content-Type", "").startswith("application/json"):
        return response.json().get("next") is None
    return None
