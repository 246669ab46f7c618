"""What the browser views of every app share: pages of a table, refusals shown as
messages in the page (never an error page), a record's state in words, and the checks an
action makes before it calls its service."""

from collections.abc import Iterable
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe

from core.errors import ApplicationError

PAGE_SIZE = 50

# The page of each kind of record, by the record type the services, the API and the
# refusals use. The apps fill it when they are ready (accounting's registry of kinds
# adds each kind's page, expenses its sheets), so the kernel links to records without
# importing the apps that own them.
_record_pages: dict[str, str] = {}


def register_record_page(record_type: str, url_name: str) -> None:
    _record_pages[record_type] = url_name


def record_url(record_type: str, record_id: Any) -> str | None:
    name = _record_pages.get(record_type)
    if name is None or record_id in (None, ""):
        return None
    try:
        return reverse(name, args=[record_id])
    except NoReverseMatch:
        return None


class ReadOnceChoiceIterator(forms.models.ModelChoiceIterator):
    """A model choice field's options, read once per form: Django's iterator reads its
    queryset again at every pass (a select's rendering makes two: its `required`
    attribute looks at the first option) through a server-side cursor, three round
    trips each. This one iterates the field's own queryset, whose result cache serves
    every later pass; each form has its own copy of the queryset, so no form shows
    another request's options."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for obj in self.queryset:
            yield self.choice(obj)


class ReadOnceModelChoiceField(forms.ModelChoiceField):
    """A ModelChoiceField whose options are read in one query per form."""

    iterator = ReadOnceChoiceIterator


# Stands in for a record's id while its page's URL is reversed once for a whole list.
_ID_STAND_IN = 918273645546372819


def record_urls(record_type: str, record_ids: Iterable[Any]) -> dict[Any, str | None]:
    """The page of each of many records of one kind, by id: `record_url` of each, with
    the URL reversed once for the list instead of once a row."""
    ids = list(record_ids)
    url = record_url(record_type, _ID_STAND_IN) if ids else None
    if url is None or str(_ID_STAND_IN) not in url:
        return {record_id: record_url(record_type, record_id) for record_id in ids}
    before, after = url.split(str(_ID_STAND_IN), 1)
    return {
        record_id: (
            f"{before}{record_id}{after}"
            if type(record_id) is int and record_id >= 0
            else record_url(record_type, record_id)
        )
        for record_id in ids
    }


def paginate(request: HttpRequest, rows: QuerySet | list, *, per_page: int = PAGE_SIZE) -> Page:
    """One page of a table: a COUNT and one query for the rows, whatever the book's size."""
    return Paginator(rows, per_page).get_page(request.GET.get("page"))


def refusal_items(error: ApplicationError) -> list[dict[str, Any]]:
    items = []
    for item in error.extra.get("items") or []:
        if isinstance(item, dict):
            items.append({**item, "url": record_url(item.get("type", ""), item.get("id"))})
    return items


def refuse(request: HttpRequest, error: ApplicationError) -> None:
    """Show a refused step in the page: its sentence, which names the way out, and
    links to the records it concerns."""
    fields = error.extra.get("fields") or {}
    html = render_to_string(
        "partials/refusal.html",
        {
            "message": error.message,
            "items": refusal_items(error),
            "fields": sorted(fields.items()) if isinstance(fields, dict) else [],
        },
    )
    messages.error(request, mark_safe(html), extra_tags="refusal")


def disable(form: forms.BaseForm, names: Iterable[str]) -> None:
    """Fields the user may not change now: shown with their current value, disabled, and
    never read from what the browser posts (a disabled field is not posted at all). Call
    it before the form is validated."""
    for name in names:
        form.fields[name].disabled = True


def changeable_data(form: forms.BaseForm) -> dict[str, Any]:
    """The cleaned data of the fields the user may change: what a save passes on, so a
    field left out is left unchanged."""
    return {
        name: value for name, value in form.cleaned_data.items() if not form.fields[name].disabled
    }


def field_errors_to_form(form: forms.BaseForm, error: ApplicationError) -> bool:
    """Put a refusal's field errors on the form's fields; True if all found a field."""
    fields = error.extra.get("fields") or {}
    placed = bool(fields)
    for name, problems in fields.items():
        if name in form.fields:
            for problem in problems:
                form.add_error(name, problem)
        else:
            placed = False
    return placed


def not_your_role(doing: str) -> str:
    return (
        f"You cannot {doing}: your role does not allow it. Ask a member of Finance "
        "(or an administrator) to do it."
    )


def allowed(request: HttpRequest, permission: str, doing: str) -> bool:
    """An edit a user may not make is refused in the page, with who can make it."""
    if request.user.has_perm(permission):
        return True
    messages.error(request, not_your_role(doing))
    return False


def require(request: HttpRequest, permission: str, doing: str) -> None:
    """A step a user may not take is refused before anything of it is shown: its
    confirmation (GET) and the step itself (POST) answer the same 403 page, which says
    who can take it."""
    if not request.user.has_perm(permission):
        raise PermissionDenied(not_your_role(doing))


def next_url(request: HttpRequest, fallback: str) -> str:
    """Where to go after an action: the page it was started from, if it is ours."""
    candidate = request.POST.get("next") or request.GET.get("next")
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return fallback


# The record's state in words ---------------------------------------------------------

BATCHING_ACTIONS = ("batched", "rebatched", "rerecorded")


def day(moment: Any) -> str:
    """3 Nov 2026, in the user's time zone."""
    if hasattr(moment, "tzinfo") and moment.tzinfo is not None:
        moment = timezone.localtime(moment)
    return f"{moment.day} {moment:%b %Y}"


def batched_since(trail: list, batch: Any) -> Any:
    """When the record (last) joined its batch, from its audit trail."""
    for event in reversed(trail):
        if event.batch_id == batch.pk and event.action in BATCHING_ACTIONS:
            return event.at
    return batch.created_at


def unbatched_on(trail: list, batch: Any) -> Any:
    for event in reversed(trail):
        if event.batch_id == batch.pk and event.action == "unbatched":
            return event.at
    return None


class RecordState:
    """A record's state for the banner of its page: a headline such as "In batch
    GL-00042 since 3 Nov 2026; locked", what it means, and a tone for the colour."""

    def __init__(
        self, headline: str, detail: str = "", tone: str = "neutral", batch: Any = None
    ) -> None:
        self.headline, self.detail, self.tone = headline, detail, tone
        # The batch the headline names: the banner links its ID to the batch's page.
        self.batch = batch
        before, found, after = headline.partition(batch.batch_identifier if batch else "\0")
        self.before, self.after = (before, after) if found else (headline, "")
        self.batch_url = (
            reverse("accounting:batch_detail", args=[batch.pk]) if batch and found else ""
        )

    def __repr__(self) -> str:
        return f"RecordState({self.headline!r})"


def batch_state(
    *, reference: str, batch: Any, original_batch: Any, trail: list
) -> RecordState | None:
    """The part of a record's state that its GL batch decides, or None when it is in
    no batch and was never unbatched."""
    if batch is not None:
        since = batched_since(trail, batch)
        if batch.status == "open":
            return RecordState(
                f"In batch {batch.batch_identifier} since {day(since)}; locked",
                f"No field, status or amount of {reference} can change while it is in the "
                "batch. To fix it: MORE > Unbatch, edit, then MORE > Rebatch (or send it in "
                "a new batch).",
                "locked",
                batch,
            )
        return RecordState(
            f"In batch {batch.batch_identifier} since {day(since)}; locked, batch "
            f"{batch.get_status_display().lower()}",
            f"The batch is {batch.get_status_display().lower()}, so {reference} cannot be "
            "unbatched. An administrator can reopen the batch.",
            "locked",
            batch,
        )
    if original_batch is not None:
        when = unbatched_on(trail, original_batch)
        on = f" on {day(when)}" if when else ""
        return RecordState(
            f"Unbatched from {original_batch.batch_identifier}{on}; editable",
            "",
            "editable",
            original_batch,
        )
    return None


# --- list tools: sortable columns and CSV exports ---------------------------------------


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class _Echo:
    """A file that hands back what is written, for csv.writer to stream rows."""

    def write(self, value: str) -> str:
        return value


def csv_download(filename: str, header: list[str], rows: Iterable[Iterable[Any]]):
    """A CSV file of a list, streamed row by row as it is read (a list of any length
    costs the same memory), with a header row."""
    import csv

    from django.http import StreamingHttpResponse
    from django.utils.http import content_disposition_header

    writer = csv.writer(_Echo())

    def cell(value: Any) -> Any:
        if value is None:
            return ""
        if isinstance(value, str) and value[:1] in _FORMULA_STARTS:
            return "'" + value  # text a spreadsheet would run as a formula stays text
        return value

    def lines():
        yield "\ufeff" + writer.writerow(header)  # the BOM: spreadsheets read UTF-8
        for row in rows:
            yield writer.writerow([cell(value) for value in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


def sort_columns(
    request: HttpRequest, columns: list[tuple[str, str]], *, current: str, descending: bool
) -> dict[str, dict[str, str]]:
    """The header links of sortable columns, by key: `url` (this list sorted by the
    column, ascending first, or the other way when it is the current one), `aria_sort`
    (ascending, descending or none) and the arrow shown. Sorting starts from the first
    page again."""
    shown = {}
    for key, label in columns:
        active = key == current
        query = request.GET.copy()
        for stale in ("cursor", "page"):
            query.pop(stale, None)
        query["sort"] = key
        query["order"] = "asc" if active and descending else ("desc" if active else "asc")
        shown[key] = {
            "label": label,
            "url": f"?{query.urlencode()}",
            "aria_sort": ("descending" if descending else "ascending") if active else "none",
            "arrow": ("▼" if descending else "▲") if active else "",
        }
    return shown


def export_url(request: HttpRequest, url_name: str, *args: Any) -> str:
    """The CSV export of a list, with the list's filters and sorting."""
    query = request.GET.copy()
    for stale in ("cursor", "page"):
        query.pop(stale, None)
    encoded = query.urlencode()
    return reverse(url_name, args=args) + (f"?{encoded}" if encoded else "")
