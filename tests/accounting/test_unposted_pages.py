"""The unposted list pages by position (keyset), so a deep page costs what the first
one does."""

import datetime as dt

from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounting import selectors
from invoicing.models import Invoice


def walk(record_types, size, **kwargs):
    pages, page = [], selectors.unposted_page(record_types=record_types, size=size, **kwargs)
    pages.append(page)
    while page.has_next:
        page = selectors.unposted_page(record_types=record_types, size=size, after=page.last)
        pages.append(page)
    return pages


def keys(pages):
    return [(record_type, record.pk) for page in pages for record_type, record in page.rows]


def test_pages_by_position_cover_every_unposted_record_once_in_order(
    make_invoice, make_expense, make_purchase_order
):
    invoices = [make_invoice() for _ in range(7)]
    for offset, invoice in enumerate(invoices):  # same and different dates
        Invoice.objects.filter(pk=invoice.pk).update(date=dt.date(2026, 11, 1 + offset % 3))
    expenses = [make_expense() for _ in range(3)]
    _po, product = make_purchase_order()
    make_invoice(closed=False)  # not ready: never listed

    pages = walk(["invoice", "expense", "product"], size=3)
    listed = keys(pages)
    expected_invoices = sorted(
        Invoice.objects.filter(pk__in=[i.pk for i in invoices]).values_list("date", "pk")
    )
    assert listed == (
        [("invoice", pk) for _date, pk in expected_invoices]
        + [("expense", e.pk) for e in expenses]
        + [("product", product.pk)]
    )
    assert [len(page.rows) for page in pages] == [3, 3, 3, 2]
    assert not pages[0].has_previous and pages[1].has_previous

    # Backwards from the last page's start gives the pages before it, in order.
    back, position = [], pages[-1].first
    while True:
        page = selectors.unposted_page(
            record_types=["invoice", "expense", "product"], size=3, before=position
        )
        back.insert(0, page)
        if not page.has_previous:
            break
        position = page.first
    assert keys(back) == listed[: len(listed) - len(pages[-1].rows)]


def test_a_deep_page_takes_the_same_queries_as_the_first(make_invoice):
    for _ in range(12):
        make_invoice()
    with CaptureQueriesContext(connection) as first:
        page = selectors.unposted_page(record_types=["invoice"], size=2)
    for _ in range(4):
        page = selectors.unposted_page(record_types=["invoice"], size=2, after=page.last)
    with CaptureQueriesContext(connection) as deep:
        selectors.unposted_page(record_types=["invoice"], size=2, after=page.last)
    assert len(deep) == len(first)


def test_counts_stop_at_the_cap(make_invoice):
    for _ in range(4):
        make_invoice()
    assert selectors.unposted_count(record_type="invoice") == 4
    assert selectors.unposted_count(record_type="invoice", cap=2) == 3  # shown as "2+"
