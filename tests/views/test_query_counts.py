"""Pages stay fast on a large book: each page runs the same number of queries whether
the book holds a few records or many (a page of a table, never every row)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounting import services as accounting

pytestmark = pytest.mark.django_db

# Measured query counts per page (session, user, permissions in one read, the page's
# reads).
# A change that makes a page's count grow with the book fails the "same" assertion;
# one that adds a fixed query shows here. The expense pages ask once per request
# whether the user is in Finance (who change every member's expenses). A batch's page
# asks its steps' predicates: the records unbatched from it (one query a kind) for
# Close and Delete, and for a deleted batch whether its ID is in use again (its parts'
# counts are a few stored rows; a part's rows one query a kind, nothing prefetched). An audit
# trail looks up the names of the codes it holds, one query a kind of code (company,
# expense type, tax code, GL account, member). A sent record's page, and an unposted
# tab listing records sent before, compare them with what was sent ("changed since
# sent"): the latest send, the GL accounts and defaults, the record's posting (an
# invoice's lines too); batch pages look for records rebatched into them.
EXPECTED = {
    "invoice_list": 6,
    "invoice_detail": 17,
    "entry_list": 6,
    "entry_detail": 13,
    "sheet_detail": 9,
    "po_list": 5,
    "po_detail": 15,
    "po_products": 8,  # with the totals of every product of the order
    "line_detail": 11,
    "unposted_invoice": 12,
    "unposted_expense": 7,
    "batch_list": 14,
    "batch_detail": 21,
    "deleted_batch_detail": 22,
    "home": 11,  # with the last books check's counts
    "dashboard": 20,  # per kind: unposted ages, totals per day, unbatched count; rebatches
    "unposted_invoice_filtered": 12,
    "invoice_list_filtered": 6,
    "entry_list_filtered": 6,
    "po_list_filtered": 5,
    "batch_list_searched": 14,
}


def count_queries(client, url, params=None):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params or {})
    assert response.status_code == 200
    return len(queries)


@pytest.fixture
def grow(finance, make_invoice, make_expense, make_purchase_order, send):
    """Add records of every kind, some batched, some unbatched from their batch."""
    created = {"invoices": [], "expenses": [], "orders": []}

    def add(count):
        invoices = [make_invoice() for _ in range(count)]
        expenses = [make_expense() for _ in range(count)]
        orders = [make_purchase_order() for _ in range(count)]
        items = [{"type": "invoice", "id": i.pk} for i in invoices[: count // 2 + 1]]
        items += [{"type": "expense", "id": e.pk} for e in expenses[: count // 2 + 1]]
        items += [{"type": "freight", "id": po.pk} for po, _ in orders[: count // 2 + 1]]
        items += [{"type": "product", "id": line.pk} for _, line in orders[: count // 2 + 1]]
        batch = send(items)
        deleted = send([{"type": "invoice", "id": i.pk} for i in invoices[count // 2 + 1 :]])
        accounting.batch_delete(actor=finance, batch_id=deleted.pk)
        created["deleted"] = deleted
        created["invoices"] += invoices
        created["expenses"] += expenses
        created["orders"] += orders
        created["batch"] = batch
        return created

    return add


def pages(created):
    invoice = created["invoices"][0]
    entry = created["expenses"][0]
    po, line = created["orders"][0]
    batch = created["batch"]
    return {
        "invoice_list": (reverse("invoicing:invoice_list"), {}),
        "invoice_detail": (reverse("invoicing:invoice_detail", args=[invoice.pk]), {}),
        "entry_list": (reverse("expenses:entry_list"), {}),
        "entry_detail": (reverse("expenses:entry_detail", args=[entry.pk]), {}),
        "sheet_detail": (reverse("expenses:sheet_detail", args=[entry.sheet_id]), {}),
        "po_list": (reverse("procurement:po_list"), {}),
        "po_detail": (reverse("procurement:po_detail", args=[po.pk]), {}),
        "po_products": (reverse("procurement:po_detail", args=[po.pk]), {"tab": "products"}),
        "line_detail": (reverse("procurement:line_detail", args=[line.pk]), {}),
        "unposted_invoice": (reverse("accounting:unposted", args=["invoice"]), {}),
        "unposted_expense": (reverse("accounting:unposted", args=["expense"]), {}),
        "batch_list": (reverse("accounting:batch_list"), {}),
        "batch_detail": (reverse("accounting:batch_detail", args=[batch.pk]), {}),
        "deleted_batch_detail": (
            reverse("accounting:batch_detail", args=[created["deleted"].pk]),
            {},
        ),
        "home": (reverse("home"), {}),
        "dashboard": (reverse("accounting:dashboard"), {}),
        # The list tools: filtered and sorted by another column, the same reads.
        "unposted_invoice_filtered": (
            reverse("accounting:unposted", args=["invoice"]),
            {"company": "acme", "amount_min": "1", "sort": "amount", "order": "desc"},
        ),
        "invoice_list_filtered": (
            reverse("invoicing:invoice_list"),
            {"date_from": "2020-01-01", "amount_max": "99999", "sort": "total", "order": "desc"},
        ),
        "entry_list_filtered": (
            reverse("expenses:entry_list"),
            {"amount_min": "1", "sort": "amount"},
        ),
        "po_list_filtered": (reverse("procurement:po_list"), {"sort": "vendor"}),
        "batch_list_searched": (reverse("accounting:batch_list"), {"q": "GL", "status": "all"}),
    }


def test_every_page_runs_the_same_number_of_queries_on_a_small_and_a_larger_book(
    finance_client, grow
):
    small = {name: count_queries(finance_client, *spec) for name, spec in pages(grow(3)).items()}
    # Three times the records, more batches; the first records' pages again.
    created = grow(6)
    large = {name: count_queries(finance_client, *spec) for name, spec in pages(created).items()}
    assert large == small
    assert small == EXPECTED


def test_a_page_of_a_table_never_loads_every_row(finance_client, make_invoice):
    for _ in range(55):
        make_invoice(closed=False)
    response = finance_client.get(reverse("invoicing:invoice_list"))
    assert len(response.context["page_obj"].object_list) == 50
    assert "1\N{EN DASH}50 of 55" in response.content.decode()
