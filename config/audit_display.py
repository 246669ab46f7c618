"""An audit trail as people read it: field names as words, yes and no for flags, dates
and amounts as the pages show them, and codes replaced by what they name (the expense
type "MEALS" as "Meals (MEALS)", the vendor "TD" by its name, entry ids as links).

The stored events keep the codes (they are sealed in the audit chain); only the page
shows them this way. Names are looked up for the whole trail at once: one query per
kind of code the trail holds."""

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils.dateformat import format as format_date

FIELD_LABELS = {
    "gl_batch": "GL batch",
    "gl_account": "GL account",
    "freight_gl_account": "freight GL account",
    "freight_amount": "freight amount",
    "is_approved": "approved",
    "is_closed": "closed status",
    "expense_type": "expense type",
    "tax_code": "tax code",
    "due_date": "due date",
    "period_start": "period from",
    "period_end": "period to",
    "received_date": "received on",
    "unit_cost": "unit cost",
    "unit_price": "unit price",
    "from_batch": "from batch",
    "direct_transfer": "Direct Transfer",
    "export_format": "export format",
    "saved_options": "saved options",
}
AMOUNTS = {"amount", "total", "subtotal", "tax", "freight_amount", "unit_cost", "unit_price"}
DATES = {"date", "due_date", "period_start", "period_end", "received_date"}
STATUS_LABELS = {
    "open": "Open",
    "closed": "Closed",
    "submitted": "Submitted",
    "approved": "Approved",
}

# field -> (app label, model, lookup field, how a found row reads)
LOOKUPS: dict[str, tuple[str, str, str, Any]] = {
    "expense_type": ("expenses", "ExpenseType", "code", lambda row: f"{row.name} ({row.code})"),
    "vendor": ("psa", "Company", "identifier", lambda row: row.name),
    "company": ("psa", "Company", "identifier", lambda row: row.name),
    "tax_code": ("accounting", "TaxCode", "code", lambda row: f"{row.name} ({row.code})"),
    "gl_account": ("accounting", "GLAccount", "number", lambda row: f"{row.number} {row.name}"),
    "freight_gl_account": (
        "accounting",
        "GLAccount",
        "number",
        lambda row: f"{row.number} {row.name}",
    ),
}
# field -> (URL name, text): ids shown as links to their pages.
LINKS = {
    "entries": ("expenses:entry_detail", "Entry {}"),
    "sheet": ("expenses:sheet_detail", "Sheet {}"),
}


def field_label(name: str) -> str:
    return FIELD_LABELS.get(name, name.replace("_", " "))


def _pairs(changes: Any) -> list[tuple[str, Any]]:
    """(field, value) of every value an event's changes hold (before and after alike)."""
    found = []
    if not isinstance(changes, dict):
        return found
    for name, value in changes.items():
        if isinstance(value, dict) and set(value) <= {"before", "after"}:
            found += [(name, value.get("before")), (name, value.get("after"))]
        else:
            found.append((name, value))
    return found


def _names(trail: list) -> dict[tuple[str, str], str]:
    """What each code in the trail names, looked up once per model."""
    wanted: dict[tuple[str, str, str], set[str]] = {}
    members: set[str] = set()
    for event in trail:
        for name, value in _pairs(event.changes):
            if name in LOOKUPS and isinstance(value, str) and value:
                app, model, column, _text = LOOKUPS[name]
                wanted.setdefault((app, model, column), set()).add(value)
            elif name == "member" and isinstance(value, str) and value:
                members.add(value)
    by_model: dict[tuple[str, str, str], dict[str, Any]] = {}
    for (app, model, column), codes in wanted.items():
        rows = apps.get_model(app, model)._default_manager.filter(**{f"{column}__in": codes})
        by_model[(app, model, column)] = {getattr(row, column): row for row in rows}
    names: dict[tuple[str, str], str] = {}
    for field, (app, model, column, text) in LOOKUPS.items():
        for code, row in by_model.get((app, model, column), {}).items():
            names[(field, code)] = text(row)
    if members:
        user_model = get_user_model()
        for user in user_model._default_manager.filter(
            **{f"{user_model.USERNAME_FIELD}__in": members}
        ):
            names[("member", user.get_username())] = user.get_full_name() or user.get_username()
    return names


def _money(value: Any) -> str:
    try:
        return f"{Decimal(value):,.2f}"
    except (InvalidOperation, TypeError, ValueError):
        return str(value)


def _date(value: Any) -> str:
    try:
        return format_date(date.fromisoformat(str(value)[:10]), "j M Y")
    except ValueError:
        return str(value)


def display_value(name: str, value: Any, names: dict[tuple[str, str], str]) -> dict[str, Any]:
    """A value as the page shows it: {"text": ...} and, for ids of pages, {"links": [...]}."""
    if value is None or value == "":
        return {"text": "—"}
    if isinstance(value, bool):
        return {"text": "Yes" if value else "No"}
    if name in LINKS:
        url_name, text = LINKS[name]
        ids = value if isinstance(value, list) else [value]
        if all(isinstance(pk, int) for pk in ids):
            return {"links": [(text.format(pk), reverse(url_name, args=[pk])) for pk in ids]}
    if isinstance(value, list):
        return {"text": ", ".join(str(item) for item in value)}
    if isinstance(value, dict):
        return {"text": ", ".join(f"{field_label(k)}: {v}" for k, v in value.items())}
    if (name, str(value)) in names:
        return {"text": names[(name, str(value))]}
    if name in AMOUNTS:
        return {"text": _money(value)}
    if name in DATES:
        return {"text": _date(value)}
    if name == "status" and str(value) in STATUS_LABELS:
        return {"text": STATUS_LABELS[str(value)]}
    return {"text": str(value)}


def trail_rows(trail: list) -> list[dict[str, Any]]:
    """Each event with its changes as rows: field, and before and after (or one value),
    each a displayed value."""
    names = _names(trail)
    shown = []
    for event in trail:
        rows = []
        changes = event.changes if isinstance(event.changes, dict) else {}
        for name, value in changes.items():
            if isinstance(value, dict) and set(value) <= {"before", "after"}:
                before = value.get("before")
                rows.append(
                    {
                        "field": field_label(name),
                        "before": None if before is None else display_value(name, before, names),
                        "after": display_value(name, value.get("after"), names),
                    }
                )
            else:
                rows.append(
                    {"field": field_label(name), "value": display_value(name, value, names)}
                )
        shown.append({"event": event, "rows": rows})
    return shown
