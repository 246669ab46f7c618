"""Every screen opens for Finance with the columns and words the vendor page names."""

import pytest
from django.urls import reverse
from django.utils.html import strip_tags

from tests.helpers import PASSWORD

pytestmark = pytest.mark.django_db


def page(client, url, **params):
    response = client.get(url, params)
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


def test_signing_in_is_required_and_the_login_page_has_labelled_fields(client):
    response = client.get(reverse("invoicing:invoice_list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    html = page(client, reverse("login"))
    assert '<label for="id_username">Username</label>' in html
    assert '<label for="id_password">Password</label>' in html
    assert "<title>Sign in · PSA Accounting</title>" in html


def test_login_with_the_form_lands_on_the_home_page(client, finance):
    response = client.post(reverse("login"), {"username": "fiona", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    assert "Where the books stand" in page(client, "/")


def test_logout_is_a_post_from_every_page(finance_client):
    html = page(finance_client, "/")
    assert f'action="{reverse("logout")}"' in html
    assert finance_client.post(reverse("logout")).status_code == 302
    assert finance_client.get("/").status_code == 302


def test_invoice_search_has_a_gl_batch_column(finance_client, make_invoice, send):
    invoice = make_invoice()
    batch = send([{"type": "invoice", "id": invoice.pk}])
    html = page(finance_client, reverse("invoicing:invoice_list"), number=invoice.number)
    assert '<th scope="col">GL Batch</th>' in html
    assert batch.batch_identifier in html
    assert reverse("invoicing:invoice_detail", args=[invoice.pk]) in html


def test_invoice_search_by_company_and_status(finance_client, make_invoice):
    closed, open_ = make_invoice(), make_invoice(closed=False)
    html = page(finance_client, reverse("invoicing:invoice_list"), company="acme", status="New")
    assert open_.number in html and closed.number not in html


def test_invoice_page_shows_state_in_words_and_the_more_menu(finance_client, make_invoice, send):
    invoice = make_invoice()
    batch = send([{"type": "invoice", "id": invoice.pk}])
    html = page(finance_client, reverse("invoicing:invoice_detail", args=[invoice.pk]))
    assert f"In batch {batch.batch_identifier} since" in strip_tags(html)
    assert "; locked" in html
    assert "MORE" in html and "Unbatch" in html and "Rebatch" in html
    assert reverse("accounting:record_unbatch", args=["invoice", invoice.pk]) in html
    assert "Audit Trail" in html


def test_expense_entry_search_shows_sheet_status_and_the_entry_audit_trail_the_batch(
    finance_client, make_expense, send
):
    entry = make_expense()
    batch = send([{"type": "expense", "id": entry.pk}])
    html = page(finance_client, reverse("expenses:entry_list"))
    assert "Approved" in html and batch.batch_identifier in html
    html = page(finance_client, reverse("expenses:entry_detail", args=[entry.pk]))
    assert "Audit Trail" in html
    trail = html.split('id="audit-trail"')[1]
    assert "Batched" in trail and batch.batch_identifier in trail


def test_purchase_orders_have_a_freight_gl_batch_column_and_a_products_tab(
    finance_client, make_purchase_order, send
):
    po, line = make_purchase_order()
    freight = send([{"type": "freight", "id": po.pk}])
    product = send([{"type": "product", "id": line.pk}])
    html = page(finance_client, reverse("procurement:po_list"))
    assert "Freight GL Batch" in html and freight.batch_identifier in html
    html = page(finance_client, reverse("procurement:po_detail", args=[po.pk]), tab="products")
    assert '<th scope="col">GL Batch</th>' in html and product.batch_identifier in html
    html = page(finance_client, reverse("procurement:line_detail", args=[line.pk]))
    assert "Receiving Information" in html and "Closed" in html and "Unreceive" in html
    assert f"In batch {product.batch_identifier}" in strip_tags(html)


def test_accounting_interface_tabs_and_creation(finance_client, make_invoice, make_expense):
    invoice = make_invoice()
    make_expense()
    html = page(finance_client, reverse("accounting:unposted", args=["invoice"]))
    for tab in ("Invoices", "Expenses", "Freight", "Products", "Open Batches"):
        assert f">{tab} <" in html or f">{tab}<" in html
    assert f'value="invoice:{invoice.pk}"' in html
    assert "Creation" in html and "Batch ID" in html and "TRANSFER" in html
    assert reverse("accounting:interface") in html


def test_open_batches_show_counts_totals_and_actions(finance_client, make_invoice, send):
    invoice = make_invoice()
    batch = send([{"type": "invoice", "id": invoice.pk}])
    html = page(finance_client, reverse("accounting:batch_list"))
    assert batch.batch_identifier in html and "Delete Batches" in html and "Close Batches" in html
    assert f"{invoice.total:,.2f}" in html
    html = page(finance_client, reverse("accounting:batch_detail", args=[batch.pk]))
    assert f"Invoice {invoice.number}" in html and "Download the export file" in html


def test_unknown_records_are_a_tidy_not_found(finance_client, book):
    assert finance_client.get(reverse("invoicing:invoice_detail", args=[999999])).status_code == 404
    assert finance_client.get(reverse("accounting:unposted", args=["payment"])).status_code == 404


def test_staff_cannot_open_the_accounting_interface_but_sees_their_expenses(
    client, staff, make_expense
):
    entry = make_expense(approved=False)
    client.force_login(staff)
    response = client.get(reverse("accounting:batch_list"))
    assert response.status_code == 403
    assert "This page is not for your role" in response.content.decode()
    html = page(client, reverse("expenses:entry_list"))
    assert f"Expense {entry.pk}" in html


def test_unposted_tab_pages_by_position_and_caps_its_counts(
    finance_client, make_invoice, monkeypatch
):
    from accounting.views import common
    from core import web

    monkeypatch.setattr(web, "PAGE_SIZE", 3)
    invoices = [make_invoice() for _ in range(5)]
    url = reverse("accounting:unposted", args=["invoice"])
    first = finance_client.get(url).content.decode()
    assert first.count('name="items"') == 3
    assert 'rel="next"' in first and 'rel="prev"' not in first
    cursor = first.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0]

    second = finance_client.get(url + cursor.replace("&amp;", "&")).content.decode()
    assert second.count('name="items"') == 2
    assert 'rel="prev"' in second and 'rel="next"' not in second
    assert f"invoice:{invoices[-1].pk}" in second

    monkeypatch.setattr(common, "COUNT_CAP", 4)
    capped = finance_client.get(url).content.decode()
    assert "All 4+ matching invoices" in capped


def test_unposted_rows_and_the_audit_trail_escape_what_users_typed(
    finance_client, finance, make_invoice, book
):
    """Both tables are written by template tags (psa_ui): text from the database is
    shown as text, never as markup."""
    from core.web import record_url
    from invoicing import services as invoice_services
    from tests.factories import CompanyFactory
    from tests.helpers import status

    evil = CompanyFactory(identifier="EVIL", name='<script>alert("x")</script> & Co')
    invoice = invoice_services.invoice_update(
        actor=finance,
        invoice=make_invoice(closed=False),
        company=evil,
        lines=[{"description": "<b>bold</b>", "quantity": 1, "unit_price": 5}],
        status=status("Closed"),
    )
    rows = page(finance_client, reverse("accounting:unposted", args=["invoice"]))
    assert "<td>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co</td>" in rows
    assert "<script>alert" not in rows
    trail = page(finance_client, record_url("invoice", invoice.pk))
    assert (
        '<span class="change-after">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; '
        "&amp; Co</span>" in trail
    )
    assert '<span class="change-after">&lt;b&gt;bold&lt;/b&gt;: 1 x 5</span>' in trail
    assert "<script>alert" not in trail and "<b>bold</b>" not in trail
