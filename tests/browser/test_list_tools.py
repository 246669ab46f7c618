"""The tools of a working day on the lists, by clicking: a filter, a sorted column,
the ticked records' total, "select all N matching" across pages into one batch, the
CSV export downloaded, the ticked records of a batch unbatched together, and the
Open box of Invoice Search."""

import csv
import datetime as dt
import io
import re

import pytest
from playwright.sync_api import Page, expect

from accounting.models import GLBatch
from core import web
from invoicing.models import Invoice
from tests.browser.steps import nav
from tests.factories import CompanyFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def five_invoices(make_invoice):
    """Three invoices of Acme and two of Globex, each of its own day and amount."""
    globex = CompanyFactory(identifier="GLOBEX", name="Globex Industries")
    made = []
    for day, price, company in (
        (10, "100.00", None),
        (12, "700.00", globex),
        (20, "300.00", None),
        (25, "50.00", globex),
        (30, "900.00", None),
    ):
        invoice = make_invoice(price=price, quantity="1")
        changes = {"date": dt.date(2026, 11, day)}
        if company is not None:
            changes["company"] = company
        Invoice.objects.filter(pk=invoice.pk).update(**changes)
        made.append(Invoice.objects.get(pk=invoice.pk))
    return made


def money(amount) -> str:
    return f"{amount:,.2f}"


def test_filter_sort_tick_export_select_all_and_bulk_unbatch(
    signed_in: Page, five_invoices, shot, monkeypatch
):
    monkeypatch.setattr(web, "PAGE_SIZE", 2)  # three matching invoices span two pages
    page = signed_in
    acme = [i for i in five_invoices if i.company.name == "Acme Corp"]
    acme.sort(key=lambda i: i.total)

    # The Invoices tab, filtered by company: 3 matching, their total.
    nav(page, "Accounting Interface")
    page.get_by_label("Company or vendor").fill("acme")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#matching-count")).to_have_text("3")
    expect(page.locator("#matching-total")).to_have_text(money(sum(i.total for i in acme)))
    shot("lists-filtered")

    # Sort by amount: the smallest first, the header says so.
    page.locator("#unposted-table").get_by_role("link", name=re.compile("^Total with tax")).click()
    amount_header = page.locator("#unposted-table th", has_text="Total with tax")
    expect(amount_header).to_have_attribute("aria-sort", "ascending")
    rows = page.locator("#unposted-table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text(acme[0].number)
    expect(rows.nth(1)).to_contain_text(acme[1].number)

    # Tick the two shown: their total, live.
    page.get_by_label(f"Tick Invoice {acme[0].number}").check()
    expect(page.locator("#ticked-total")).to_have_text(money(acme[0].total))
    page.get_by_label(f"Tick Invoice {acme[1].number}").check()
    expect(page.locator("#ticked-total")).to_have_text(money(acme[0].total + acme[1].total))
    shot("lists-ticked-total")

    # Export CSV: the three matching invoices, in the list's order.
    with page.expect_download() as download_info:
        page.locator("#export-csv").click()
    download = download_info.value
    assert download.suggested_filename == "unposted-invoices.csv"
    with open(download.path(), encoding="utf-8-sig") as exported_file:
        text = exported_file.read()
    exported = list(csv.reader(io.StringIO(text)))
    assert [row[1] for row in exported[1:]] == [f"Invoice {i.number}" for i in acme]

    # Select all 3 matching (two pages), TRANSFER: one batch of the three.
    page.get_by_role("button", name="Select all 3 matching invoices").click()
    expect(page.get_by_role("radio", name=re.compile("^All 3 matching invoices"))).to_be_checked()
    shot("lists-select-all-matching")
    page.get_by_role("button", name="TRANSFER").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("GL")
    batch = GLBatch.objects.get()
    in_batch = set(Invoice.objects.filter(gl_batch=batch).values_list("pk", flat=True))
    assert in_batch == {i.pk for i in acme}
    expect(page.locator('[data-kind-total="invoice"]')).to_contain_text(
        money(sum(i.total for i in acme))
    )

    # On the batch page, tick two records and Unbatch ticked.
    items = page.locator("#batch-items")
    page.get_by_label(f"Tick Invoice {acme[0].number}").check()
    page.get_by_label(f"Tick Invoice {acme[2].number}").check()
    expect(page.locator("#ticked-total")).to_have_text(money(acme[0].total + acme[2].total))
    page.get_by_role("button", name="Unbatch ticked").click()
    expect(page.locator(".messages, [role=status], .alert").first).to_contain_text(
        f"Unbatched from {batch.batch_identifier}"
    )
    expect(items.locator("tr", has_text=acme[0].number)).to_contain_text("Unbatched")
    expect(items.locator("tr", has_text=acme[1].number)).to_contain_text("Batched")
    expect(items.locator("tr", has_text=acme[2].number)).to_contain_text("Unbatched")
    shot("lists-bulk-unbatched")

    # And back together: Rebatch ticked.
    page.get_by_label(f"Tick Invoice {acme[0].number}").check()
    page.get_by_label(f"Tick Invoice {acme[2].number}").check()
    page.get_by_role("button", name="Rebatch ticked").click()
    expect(items.locator("tr", has_text=acme[0].number)).to_contain_text("Batched")
    expect(items.locator("tr", has_text=acme[2].number)).to_contain_text("Batched")
    assert Invoice.objects.filter(gl_batch=batch).count() == 3


def test_invoice_search_sorts_totals_and_opens_an_exact_number(
    signed_in: Page, five_invoices, shot
):
    page = signed_in
    nav(page, "Invoice Search")
    page.get_by_label("Amount from").fill("200")
    page.get_by_role("button", name="Search").click()
    kept = [i for i in five_invoices if i.total >= 200]
    expect(page.locator("#matching-total")).to_have_text(money(sum(i.total for i in kept)))
    page.locator("#invoice-table").get_by_role("link", name="Total").click()
    page.locator("#invoice-table").get_by_role("link", name="Total").click()  # descending
    expect(page.locator("#invoice-table th", has_text="Total")).to_have_attribute(
        "aria-sort", "descending"
    )
    biggest = max(kept, key=lambda i: i.total)
    expect(page.locator("#invoice-table tbody tr").first).to_contain_text(biggest.number)
    shot("lists-invoice-search-sorted")

    page.get_by_label("Go to invoice").fill(five_invoices[3].number)
    page.get_by_role("button", name="Open", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(five_invoices[3].number)


FITS = """() => Array.from(document.querySelectorAll(
    "main .table-wrap, main .filters, main .list-totals, main .pod"
)).filter((box) => box.scrollWidth > box.clientWidth + 1 || box.getBoundingClientRect().right > 390)
  .map((box) => box.className + " " + box.scrollWidth + ">" + box.clientWidth)"""


def test_the_lists_fit_a_phone_screen(signed_in: Page, five_invoices, shot):
    """At 390 px the lists, their filters and totals need no sideways scrolling."""
    page = signed_in
    page.set_viewport_size({"width": 390, "height": 844})
    for name, url in (
        ("accounting-interface", "/finance/accounting-interface/unposted/invoice/"),
        ("invoice-search", "/finance/invoices/"),
        ("expense-search", "/time-expense/entries/"),
        ("po-list", "/procurement/purchase-orders/"),
        ("batch-list", "/finance/accounting-interface/batches/"),
    ):
        page.goto(url)
        shot(f"lists-390-{name}")
        assert page.evaluate(FITS) == [], name
