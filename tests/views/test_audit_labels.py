"""The audit trail as people read it: labels and names, never raw codes, flags or ids."""

import re

import pytest
from django.urls import reverse

from expenses import services as expense_services

pytestmark = pytest.mark.django_db


def trail_text(client, url):
    html = client.get(url).content.decode()
    trail = html.split('id="audit-trail"')[1].split("</table>")[0]
    return trail, re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", trail))


def test_an_entry_trail_names_its_type_and_reads_yes_and_no(finance_client, make_expense, book):
    entry = make_expense()
    _trail, text = trail_text(finance_client, reverse("expenses:entry_detail", args=[entry.pk]))
    assert "Travel (TRAVEL)" in text
    assert "approved No → Yes" in text
    assert "False" not in text and "True" not in text
    assert "3 Nov 2026" in text  # the entry's date as the pages show dates
    assert "42.50" in text


def test_a_sheet_trail_links_its_entries(finance_client, make_sheet, staff, approver):
    sheet = make_sheet(entries=2)
    expense_services.expense_sheet_submit(actor=staff, sheet=sheet)
    expense_services.expense_sheet_approve(actor=approver, sheet=sheet)
    trail, text = trail_text(finance_client, reverse("expenses:sheet_detail", args=[sheet.pk]))
    for entry in sheet.entries.all():
        assert (
            f'href="{reverse("expenses:entry_detail", args=[entry.pk])}">Entry {entry.pk}<' in trail
        )
    assert "[" not in text
    assert "Approved" in text


def test_a_purchase_order_trail_names_its_vendor(finance_client, make_purchase_order, book):
    po, _line = make_purchase_order()
    _trail, text = trail_text(finance_client, reverse("procurement:po_detail", args=[po.pk]))
    vendor = book["vendor"]
    assert vendor.name in text
    assert f"vendor {vendor.identifier} " not in text
    assert "status Open → Closed" in text
