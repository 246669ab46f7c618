"""Paging over 2,500 unposted invoices in both modes: `page`/`pageSize` with Link
headers first/prev/next/last, and forward-only (`pagination-type: forward-only` with
`pageId`), each visiting every record exactly once; and pageSize limits."""

import re
from decimal import Decimal

import pytest

from invoicing.models import Invoice
from tests.cwapi.conftest import ACCOUNTING
from tests.helpers import DAY, status

UNPOSTED = ACCOUNTING + "unpostedinvoices"
TOTAL = 2500


@pytest.fixture
def many_invoices(book):
    closed = status("Closed")
    Invoice.objects.bulk_create(
        Invoice(
            number=f"BULK-{n:05d}",
            company=book["client"],
            date=DAY,
            status=closed,
            is_closed=True,
            subtotal=Decimal(n),
            total=Decimal(n),
        )
        for n in range(1, TOTAL + 1)
    )
    return list(Invoice.objects.order_by("pk").values_list("pk", flat=True))


def links(response) -> dict[str, str]:
    return {
        rel: url for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', response.get("Link", ""))
    }


def path_of(url: str) -> str:
    return url.removeprefix("http://testserver")


def test_page_and_page_size_visit_every_record_once(tool, many_invoices):
    seen: list[int] = []
    response = tool.get(UNPOSTED, {"pageSize": 1000, "fields": "id"})
    pages = 0
    while True:
        assert response.status_code == 200
        pages += 1
        seen += [row["id"] for row in response.json()]
        found = links(response)
        assert "first" in found and "last" in found
        if "next" not in found:
            break
        response = tool.get(path_of(found["next"]))
    assert pages == 3
    assert seen == many_invoices
    assert "page=3" in found["last"] and "prev" in found


def test_default_page_size_and_a_page_in_the_middle(tool, many_invoices):
    response = tool.get(UNPOSTED, {"page": 4})
    assert [row["id"] for row in response.json()] == many_invoices[75:100]
    found = links(response)
    assert "page=3" in found["prev"] and "page=5" in found["next"]
    assert "page=100" in found["last"] and "page=1" in found["first"]
    assert tool.get(UNPOSTED + "/count").json() == {"count": TOTAL}
    beyond = tool.get(UNPOSTED, {"page": 101})
    assert beyond.status_code == 200 and beyond.json() == []


def test_forward_only_paging_visits_every_record_once(tool, many_invoices):
    seen: list[int] = []
    response = tool.get(
        UNPOSTED, {"pageSize": 700, "fields": "id"}, HTTP_PAGINATION_TYPE="forward-only"
    )
    while True:
        assert response.status_code == 200
        seen += [row["id"] for row in response.json()]
        found = links(response)
        assert "last" not in found and "prev" not in found
        if "next" not in found:
            break
        assert f"pageId={seen[-1]}" in found["next"]
        response = tool.get(path_of(found["next"]), HTTP_PAGINATION_TYPE="forward-only")
    assert seen == many_invoices


def test_forward_only_follows_conditions_and_starts_after_the_page_id(tool, many_invoices):
    response = tool.get(
        UNPOSTED,
        {"pageSize": 1000, "conditions": "total > 2000", "pageId": many_invoices[2099]},
        HTTP_PAGINATION_TYPE="forward-only",
    )
    assert [row["id"] for row in response.json()] == many_invoices[2100:]
    assert "next" not in links(response)


@pytest.mark.parametrize(
    ("params", "headers"),
    [
        ({"pageSize": 0}, {}),
        ({"pageSize": 1001}, {}),
        ({"pageSize": "many"}, {}),
        ({"page": 0}, {}),
        ({"page": "two"}, {}),
        ({"pageId": -1}, {"HTTP_PAGINATION_TYPE": "forward-only"}),
        ({"orderBy": "total desc"}, {"HTTP_PAGINATION_TYPE": "forward-only"}),
    ],
)
def test_bad_paging_is_400(tool, book, params, headers):
    response = tool.get(UNPOSTED, params, **headers)
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "InvalidObject"
