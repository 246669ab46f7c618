"""Small template helpers of the browser UI."""

from decimal import Decimal, InvalidOperation

from django import template
from django.conf import settings
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from accounting.postables import type_label
from config import audit_display, help
from core import web

register = template.Library()


@register.filter
def money(value) -> str:
    """1234.5 -> "1,234.50"; empty for None. Money is Decimal; never floats."""
    if value is None or value == "":
        return ""
    try:
        number = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return str(value)
    return f"{number:,.2f}"


@register.simple_tag
def currency() -> str:
    """The book's currency code (`BOOK_CURRENCY`), shown with amounts."""
    return settings.BOOK_CURRENCY


@register.inclusion_tag("partials/help_links.html", takes_context=True)
def help_links(context) -> dict:
    """Links to the help pages of the screen's procedures."""
    request = context.get("request")
    match = getattr(request, "resolver_match", None)
    return {"help_topics": help.topics_for(match.view_name if match else None)}


@register.simple_tag
def record_url(record_type: str, record_id) -> str:
    return web.record_url(record_type, record_id) or ""


@register.filter
def kind_label(record_type: str) -> str:
    return type_label(record_type)


@register.simple_tag
def batch_link(batch) -> str:
    """A GL batch identifier that links to the batch page, or an em dash."""
    if batch is None:
        return mark_safe('<span class="muted">—</span>')
    return format_html(
        '<a class="batch-id" href="{}">{}</a>',
        reverse("accounting:batch_detail", args=[batch.pk]),
        batch.batch_identifier,
    )


@register.filter
def get_item(mapping, key):
    if mapping is None:
        return None
    return mapping.get(key)


ACTION_WORDS = {
    "batched": "Batched",
    "unbatched": "Unbatched",
    "rebatched": "Rebatched (nothing sent)",
    "batch_deleted": "Batch deleted; unposted again",
    "rerecorded": "Re-recorded (file only, nothing sent)",
    "status_changed": "Status changed",
    "sheet_approved": "Sheet approved",
    "sheet_reversed": "Sheet reversed",
}


@register.filter
def action_words(action: str) -> str:
    return ACTION_WORDS.get(action, action.replace("_", " ").capitalize())


@register.simple_tag
def audit_rows(trail) -> list[dict]:
    """The trail's events with their changes as people read them (config.audit_display)."""
    return audit_display.trail_rows(list(trail))
