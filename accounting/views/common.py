"""What the Accounting Interface's pages share: the permissions they check, finding
the record kind or batch a URL names, the tabs, and how a step is offered."""

from typing import Any

from django.http import Http404
from django.urls import reverse

from accounting import selectors
from accounting.models import GLBatch
from accounting.postables import get_kind, kinds
from core.errors import ApplicationError

VIEW = "accounting.view_glbatch"
TRANSFER = "accounting.transfer_glbatch"
UNBATCH = "accounting.unbatch_record"
CLOSE = "accounting.close_glbatch"
DELETE = "accounting.delete_glbatch"
REOPEN = "accounting.reopen_glbatch"


def step_action(key: str, label: str, url: str, refusal: ApplicationError | None) -> dict:
    """A step as a page offers it: enabled when its predicate (`accounting.steps`)
    refuses nothing, else disabled with the refusal's sentence, the one its service
    would answer."""
    return {
        "key": key,
        "label": label,
        "url": url,
        "enabled": refusal is None,
        "reason": refusal.message if refusal is not None else "",
    }


def kind_or_404(record_type: str):
    try:
        return get_kind(record_type)
    except ApplicationError:
        raise Http404(f"There is no kind of record called {record_type}.") from None


def batch_or_404(batch_id: int) -> GLBatch:
    batch = selectors.batch_list().select_related("closed_by", "deleted_by").filter(pk=batch_id)
    found = batch.first()
    if found is None:
        raise Http404(f"There is no GL batch with id {batch_id}.")
    return found


# Tab badges, the matching count and its total count up to this many; past it they
# read "1,000+" (and the total is not given), so that a tab costs the same on a book of
# any size: every kind's count in one query, each a short read of its index.
COUNT_CAP = 1_000
# Sorting by amount reads every matching row: offered up to this many.
SORT_CAP = 10_000


def shown_count(count: int) -> str:
    return f"{COUNT_CAP:,}+" if count > COUNT_CAP else f"{count:,}"


def interface_tabs(active: str, counts: dict[str, int] | None = None) -> list[dict[str, Any]]:
    tabs = [
        {
            "key": kind.type,
            "label": kind.plural_label,
            "url": reverse("accounting:unposted", args=[kind.type]),
            "count": shown_count(counts[kind.type]) if counts else None,
        }
        for kind in kinds()
    ]
    tabs.append(
        {"key": "batches", "label": "Open Batches", "url": reverse("accounting:batch_list")}
    )
    for tab in tabs:
        tab["active"] = tab["key"] == active
    return tabs
