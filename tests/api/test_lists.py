"""Lists: filters, ordering, pagination, and a constant number of queries whatever the
page size."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounting import services as accounting
from tests.helpers import make_user

LISTS = [
    "/api/v1/invoices/",
    "/api/v1/invoice-statuses/",
    "/api/v1/expense-sheets/",
    "/api/v1/expense-entries/",
    "/api/v1/expense-types/",
    "/api/v1/purchase-orders/",
    "/api/v1/purchase-order-lines/",
    "/api/v1/companies/",
    "/api/v1/accounting/gl-accounts/",
    "/api/v1/accounting/tax-codes/",
    "/api/v1/accounting/batches/",
    "/api/v1/accounting/unposted/",
    "/api/v1/accounting/unposted/?type=invoice",
    "/api/v1/accounting/unposted/?type=product",
]


def make_records(finance, make_invoice, make_expense, make_purchase_order, *, count: int):
    """`count` finished records of each kind, half of them batched (one batch each)."""
    for index in range(count):
        invoice, entry = make_invoice(), make_expense()
        order, line = make_purchase_order()
        if index % 2:
            accounting.batch_create(
                actor=finance,
                items=[
                    {"type": "invoice", "id": invoice.pk},
                    {"type": "expense", "id": entry.pk},
                    {"type": "freight", "id": order.pk},
                    {"type": "product", "id": line.pk},
                ],
            )


def count_queries(client, url: str) -> tuple[int, dict]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, {"page_size": 1000})
    assert response.status_code == 200, response.json()
    return len(queries), response.json()


def test_list_endpoints_run_a_constant_number_of_queries(
    api, finance, make_invoice, make_expense, make_purchase_order, django_assert_max_num_queries
):
    client = api(finance)
    make_records(finance, make_invoice, make_expense, make_purchase_order, count=2)
    baseline = {url: count_queries(client, url) for url in LISTS}
    make_records(finance, make_invoice, make_expense, make_purchase_order, count=12)
    for url in LISTS:
        queries, small = baseline[url]
        with django_assert_max_num_queries(queries):
            response = client.get(url, {"page_size": 1000})
        results = response.json()["results"]
        assert len(results) >= len(small["results"]), url
    # The records really are on the page: 14 of each kind.
    assert len(client.get("/api/v1/invoices/", {"page_size": 1000}).json()["results"]) == 14
    assert client.get("/api/v1/accounting/batches/", {"page_size": 1000}).json()["count"] == 7


def test_page_size_is_capped_at_1000(api, finance, make_invoice):
    client = api(finance)
    for _ in range(3):
        make_invoice()
    page = client.get("/api/v1/invoices/", {"page_size": 2}).json()
    assert len(page["results"]) == 2 and page["count"] == 3
    assert page["previous"] is None and "page=2" in page["next"]
    last = client.get(page["next"]).json()
    assert len(last["results"]) == 1 and last["next"] is None and last["previous"]
    assert len(client.get("/api/v1/invoices/", {"page_size": 5000}).json()["results"]) == 3


def test_unposted_pages_run_across_kinds_in_order(
    api, finance, make_invoice, make_expense, make_purchase_order
):
    client = api(finance)
    invoices = [make_invoice() for _ in range(2)]
    entry = make_expense()
    order, line = make_purchase_order()
    expected = [("invoice", i.pk) for i in invoices] + [
        ("expense", entry.pk),
        ("freight", order.pk),
        ("product", line.pk),
    ]
    seen, url = [], "/api/v1/accounting/unposted/?page_size=2"
    while url:
        page = client.get(url).json()
        seen += [(item["type"], item["id"]) for item in page["results"]]
        url = page["next"]
    assert seen == expected
    only = client.get("/api/v1/accounting/unposted/", {"type": "freight"}).json()["results"]
    assert only == [
        {
            "type": "freight",
            "id": order.pk,
            "reference": f"Freight on PO {order.number}",
            "date": "2026-11-03",
            "company": "Distributor Inc",
            "amount": "25.00",
            "previously_sent": [],
            "changed_since_sent": None,
        }
    ]
    assert (
        client.get("/api/v1/accounting/unposted/", {"thru_date": "2026-11-02"}).json()["results"]
        == []
    )


def test_invoice_filters(api, finance, book, make_invoice):
    client = api(finance)
    closed, draft = make_invoice(), make_invoice(closed=False)
    batch = accounting.batch_create(actor=finance, items=[{"type": "invoice", "id": closed.pk}])

    def ids(**query):
        response = client.get("/api/v1/invoices/", query)
        assert response.status_code == 200, response.json()
        return [invoice["id"] for invoice in response.json()["results"]]

    assert ids(number=draft.number[-3:]) == [draft.pk]
    assert ids(status="closed") == [closed.pk]
    assert ids(gl_batch=batch.batch_identifier) == [closed.pk]
    assert ids(batched="false") == [draft.pk]
    assert ids(batched="true") == [closed.pk]
    assert ids(company=book["client"].pk, ordering="id") == [closed.pk, draft.pk]
    assert ids(company=book["vendor"].pk) == []
    assert ids(ordering="-id") == [draft.pk, closed.pk]


def test_batch_filters_and_fields(api, finance, make_invoice):
    client = api(finance)
    invoice = make_invoice()
    batch = accounting.batch_create(
        actor=finance, items=[{"type": "invoice", "id": invoice.pk}], batch_identifier="NOV"
    )
    accounting.batch_delete(actor=finance, batch_id=batch.pk)
    accounting.batch_create(actor=finance, items=[{"type": "invoice", "id": invoice.pk}])
    open_batches = client.get("/api/v1/accounting/batches/", {"status": "open"}).json()["results"]
    assert len(open_batches) == 1
    listed = open_batches[0]
    assert listed["counts"] == {"invoice": 1, "expense": 0, "freight": 0, "product": 0}
    assert listed["total"] == f"{invoice.total:.2f}"
    assert listed["created_by"] == finance.pk
    assert listed["transfer"] == {
        "method": "file",
        "state": "queued",
        "progress": 0,
        "error": "",
        "file_url": None,
        "started_at": None,
        "finished_at": None,
    }
    deleted = client.get("/api/v1/accounting/batches/", {"batch_identifier": "NOV"}).json()
    assert [b["status"] for b in deleted["results"]] == ["deleted"]


def test_expense_filters(api, finance, staff, make_sheet, make_expense):
    client = api(finance)
    approved = make_expense()
    draft_sheet = make_sheet(member=make_user("olga", "Staff"))
    entries = client.get("/api/v1/expense-entries/", {"is_approved": "true"}).json()["results"]
    assert [entry["id"] for entry in entries] == [approved.pk]
    sheets = client.get("/api/v1/expense-sheets/", {"member": staff.pk}).json()["results"]
    assert [sheet["id"] for sheet in sheets] == [approved.sheet_id]
    sheets = client.get("/api/v1/expense-sheets/", {"status": "open"}).json()["results"]
    assert [sheet["id"] for sheet in sheets] == [draft_sheet.pk]


@pytest.mark.parametrize("received", ["true", "false"])
def test_product_line_filters(api, finance, make_purchase_order, received):
    _, received_line = make_purchase_order()
    _, open_line = make_purchase_order(received=False, closed=False)
    lines = api(finance).get("/api/v1/purchase-order-lines/", {"received": received}).json()
    expected = received_line if received == "true" else open_line
    assert [line["id"] for line in lines["results"]] == [expected.pk]
