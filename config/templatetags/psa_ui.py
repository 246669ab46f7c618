"""Small template helpers of the browser UI."""

import html
from decimal import Decimal, InvalidOperation

from django import template
from django.conf import settings
from django.template.base import render_value_in_context
from django.template.defaultfilters import date as date_filter
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import template_localtime

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


def _text(value, context) -> str:
    """A value as a template shows it: text from the database escaped only (as Django
    does), anything else localized, then escaped."""
    if type(value) is str:
        return html.escape(value)
    return render_value_in_context(value, context)


def _when(value, format_string: str, context) -> str:
    """A moment as the template's `date` filter shows it, in the current time zone."""
    return _text(date_filter(template_localtime(value, context.use_tz), format_string), context)


@register.simple_tag(takes_context=True)
def unposted_rows(context, records: list[dict]) -> SafeString:
    """The rows of the Accounting Interface's unposted table, one per record (the dicts
    of `selectors.unposted_items` with their title, url and ticked). Written here
    rather than as a loop of the template: the rows were most of the page's rendering,
    a dozen template nodes a cell. Each value is shown as a template shows it
    (localized, then escaped), in the same markup."""

    def shown(value) -> str:
        return _text(value, context)

    def day(value, format_string: str) -> str:
        return _when(value, format_string, context)

    def send_badge(send: dict) -> str:
        sent_at = send["sent_at"]
        title = f"Sent {day(sent_at, 'j M Y H:i')}"
        return (
            f'<span class="badge badge-warning" title="{title}">'
            f"{shown(send['batch_identifier'])} · {day(sent_at, 'j M')}</span> "
        )

    def sends_cell(record: dict) -> str:
        sends = record["previously_sent"]
        cell = "".join(map(send_badge, sends)) if sends else '<span class="muted">—</span>'
        change = record["changed_since_sent"]
        if change:
            sent, now = money(change["sent"]["total"]), money(change["now"]["total"])
            cell += (
                '<br><span class="badge badge-warning" data-changed-since-sent>Changed since '
                f'sent</span> <small class="muted">sent {shown(sent)} → now {shown(now)}</small>'
            )
        return cell

    rows = []
    for record in records:
        kind, pk, title = shown(record["type"]), shown(record["id"]), shown(record["title"])
        warning = ' class="row-warning"' if record["previously_sent"] else ""
        ticked = " checked" if record["ticked"] else ""
        rows.append(
            f"\n        <tr{warning}>\n"
            '          <td class="col-check"><input type="checkbox" name="items" '
            f'value="{kind}:{pk}" id="tick-{kind}-{pk}" aria-label="Tick {title}" data-tick '
            f'data-amount="{shown(record["amount"])}"{ticked}></td>\n'
            f'          <td><a href="{shown(record["url"])}">{title}</a></td>\n'
            f'          <td class="nowrap">{day(record["date"], "j M Y")}</td>\n'
            f"          <td>{shown(record['company'])}</td>\n"
            f'          <td class="num">{shown(money(record["amount"]))}</td>\n'
            f"          <td>{sends_cell(record)}</td>\n"
            "        </tr>\n      "
        )
    return mark_safe("".join(rows))


@register.simple_tag(takes_context=True)
def audit_trail_table_rows(context, shown: list[dict]) -> SafeString:
    """The rows of a record's audit trail table (`audit_rows`): one an event, with its
    changes. Written here rather than as a loop of the template, for the same reason
    as `unposted_rows`: a long trail's rows were most of its page's rendering. The
    markup and the values are those of the template it replaces."""

    def text(value) -> str:
        return _text(value, context)

    def value_html(value) -> str:
        # partials/audit_value.html
        if not isinstance(value, dict):
            return ""
        if value.get("links"):
            links = value["links"]
            return ", ".join(f'<a href="{text(url)}">{text(label)}</a>' for label, url in links)
        return text(value.get("text", ""))

    def change_html(row: dict) -> str:
        if "value" in row:
            shown_value = f" {value_html(row['value'])}"
        elif row.get("before") is None:
            shown_value = f' <span class="change-after">{value_html(row.get("after"))}</span>'
        else:
            shown_value = (
                f' <span class="change-before">{value_html(row["before"])}</span> → '
                f'<span class="change-after">{value_html(row.get("after"))}</span>'
            )
        return f'<li><span class="change-field">{text(row["field"])}</span>{shown_value}</li>'

    rows = []
    for item in shown:
        event = item["event"]
        actor = event.actor
        who = (
            text(actor.get_full_name() or actor.get_username())
            if actor
            else '<span class="muted">system</span>'
        )
        changes = ""
        if item["rows"]:
            changes = (
                '\n          <ul class="changes">'
                + "".join(change_html(row) for row in item["rows"])
                + "</ul>\n          "
            )
        at = _when(event.at, "j M Y H:i", context)
        rows.append(
            "\n      <tr>\n"
            f'        <td class="nowrap">{at}</td>\n'
            f"        <td>{who}</td>\n"
            f"        <td>{text(action_words(event.action))}</td>\n"
            f"        <td>{batch_link(event.batch)}</td>\n"
            "        <td>\n"
            f"          {changes}\n"
            "        </td>\n"
            "      </tr>\n    "
        )
    return mark_safe("".join(rows))
