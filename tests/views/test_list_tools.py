"""The tools of the Accounting Interface's lists and a batch's page: filters, sorting,
totals, the CSV export, batch creation over every matching record, and the ticked
records unbatched or rebatched together."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.http import StreamingHttpResponse
from django.urls import reverse

from accounting import selectors
from accounting.models import AuditEvent, GLBatch
from core import web
from invoicing import services as invoice_services
from invoicing.models import Invoice
from tests.factories import CompanyFactory
from tests.helpers import status

UNPOSTED = "/finance/accounting-interface/unposted/invoice/"


def messages_of(response):
    return [str(message) for message in response.context["messages"]]


@pytest.fixture
def invoices(make_invoice):
    """Five closed invoices: three of Acme (10, 20 and 30 Nov), two of Globex (12 and
    25 Nov), each of a different amount."""
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


def listed_numbers(response):
    return [record["reference"].split()[-1] for record in response.context["records"]]


def test_filters_keep_only_the_matching_records_and_total_them(finance_client, invoices):
    globex = [i for i in invoices if i.company.identifier == "GLOBEX"]
    response = finance_client.get(UNPOSTED, {"company": "globex"})
    assert listed_numbers(response) == [i.number for i in globex]
    summary = response.context["summary"]
    assert summary.count == 2
    assert summary.total == sum(i.total for i in globex)
    assert f'id="matching-total">{summary.total:,.2f}<' in response.content.decode()

    in_range = finance_client.get(
        UNPOSTED, {"date_from": "2026-11-11", "thru_date": "2026-11-26", "amount_min": "100"}
    )
    # 12 Nov (757.75) and 20 Nov (324.75); 25 Nov is below the lower amount.
    assert listed_numbers(in_range) == [invoices[1].number, invoices[2].number]

    by_text = finance_client.get(UNPOSTED, {"text": invoices[4].number})
    assert listed_numbers(by_text) == [invoices[4].number]

    nothing = finance_client.get(UNPOSTED, {"company": "nobody"})
    assert nothing.context["records"] == []
    assert "match the filters" in nothing.content.decode()


def test_a_filter_that_is_not_valid_is_said_beside_its_field(finance_client, invoices):
    response = finance_client.get(UNPOSTED, {"amount_min": "500", "amount_max": "10"})
    page = response.content.decode()
    assert "The upper amount is below the lower one." in page
    # Nothing narrowed by a half-valid filter: every record is listed.
    assert len(response.context["records"]) == len(invoices)


def test_sorting_by_a_column_orders_the_rows_and_marks_the_header(finance_client, invoices):
    response = finance_client.get(UNPOSTED, {"sort": "amount", "order": "desc"})
    expected = [i.number for i in sorted(invoices, key=lambda i: i.total, reverse=True)]
    assert listed_numbers(response) == expected
    page = response.content.decode()
    assert 'aria-sort="descending"><a class="sort-link" href="?sort=amount&amp;order=asc"' in page
    assert 'aria-sort="none"><a class="sort-link" href="?sort=date&amp;order=asc"' in page

    newest_first = finance_client.get(UNPOSTED, {"sort": "date", "order": "desc"})
    assert listed_numbers(newest_first) == [i.number for i in reversed(invoices)]


@pytest.mark.parametrize("sort", ["date", "amount"])
@pytest.mark.parametrize("descending", [False, True])
def test_sorted_pages_by_position_cover_every_record_once_both_ways(invoices, sort, descending):
    # Two invoices share a date and an amount, so the id breaks the tie.
    twin = invoices[2]
    Invoice.objects.filter(pk=invoices[3].pk).update(
        date=twin.date, subtotal=twin.subtotal, tax=twin.tax, total=twin.total
    )
    key = (lambda i: (i.date, i.pk)) if sort == "date" else (lambda i: (i.total, i.pk))
    expected = [i.pk for i in sorted(Invoice.objects.all(), key=key, reverse=descending)]
    pages, cursor = [], ""
    while True:
        page = selectors.unposted_sorted_page(
            record_type="invoice", sort=sort, descending=descending, cursor=cursor, size=2
        )
        pages.append(page)
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert [r.pk for p in pages for r in p.rows] == expected
    back = selectors.unposted_sorted_page(
        record_type="invoice",
        sort=sort,
        descending=descending,
        cursor=pages[-1].previous_cursor,
        size=2,
    )
    assert [r.pk for r in back.rows] == [r.pk for r in pages[-2].rows]


def test_a_total_is_not_guessed_past_the_cap(invoices):
    summary = selectors.unposted_summary(record_type="invoice", cap=3)
    assert summary.capped and summary.total is None and summary.count == 4
    exact = selectors.unposted_summary(record_type="invoice", cap=5)
    assert exact.total == sum(i.total for i in invoices)


def test_the_tabs_counts_in_one_read_match_each_kinds_own_count(invoices, make_expense):
    make_expense()
    filters = selectors.ListFilters(amount_max=Decimal("800"))
    summary, counts = selectors.unposted_tab_counts(record_type="invoice", filters=filters, cap=3)
    alone = selectors.unposted_summary(record_type="invoice", filters=filters, cap=3)
    assert (summary.count, summary.total) == (alone.count, alone.total) == (4, None)
    for kind_type, count in counts.items():
        assert count == selectors.unposted_count(record_type=kind_type, filters=filters, cap=3)
    exact, _ = selectors.unposted_tab_counts(record_type="invoice", filters=filters, cap=5)
    assert exact.total == sum(i.total for i in invoices if i.total <= 800)


def test_sorting_by_amount_is_offered_past_the_count_cap_up_to_its_own(
    finance_client, invoices, monkeypatch
):
    from accounting.views import common

    monkeypatch.setattr(common, "COUNT_CAP", 2)
    monkeypatch.setattr(common, "SORT_CAP", 5)
    response = finance_client.get(UNPOSTED, {"sort": "amount"})
    assert response.context["matching"] == "2+" and response.context["summary"].total is None
    amounts = [record["amount"] for record in response.context["records"]]
    assert amounts == sorted(amounts) and not messages_of(response)

    monkeypatch.setattr(common, "SORT_CAP", 4)
    response = finance_client.get(UNPOSTED, {"sort": "amount"})
    assert listed_numbers(response) == [i.number for i in invoices]  # by date
    assert messages_of(response) == [
        "Sorting by amount takes 4 records or fewer: narrow the filters (a date range, a "
        "company) first. Sorted by date meanwhile."
    ]


def test_csv_export_streams_the_filtered_list_in_its_order(finance_client, invoices):
    page = finance_client.get(UNPOSTED, {"amount_max": "800", "sort": "amount", "order": "desc"})
    export = page.context["export_url"]
    assert export == (
        reverse("accounting:unposted_export", args=["invoice"])
        + "?amount_max=800&sort=amount&order=desc"
    )
    response = finance_client.get(export)
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="unposted-invoices.csv"'
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["Kind", "Record", "Date", "Company, member or vendor", "Amount"]
    kept = sorted((i for i in invoices if i.total <= 800), key=lambda i: i.total, reverse=True)
    assert rows[1:] == [
        ["Invoice", f"Invoice {i.number}", i.date.isoformat(), i.company.name, str(i.total)]
        for i in kept
    ]


def test_all_matching_records_are_batched_by_the_filters_not_by_the_page(
    finance_client, invoices, monkeypatch
):
    monkeypatch.setattr(web, "PAGE_SIZE", 2)  # the matching records span pages
    acme = [i for i in invoices if i.company.identifier == "ACME"]
    shown = finance_client.get(UNPOSTED, {"company": "acme"})
    assert len(shown.context["records"]) == 2
    assert "Select all 3 matching invoices" in shown.content.decode()
    response = finance_client.post(
        f"{UNPOSTED}?company=acme",
        {"selection": "matching", "company": "acme", "transfer": "file"},
    )
    assert response.status_code == 302, messages_of(response)
    batch = GLBatch.objects.get()
    batched = Invoice.objects.filter(gl_batch=batch).values_list("pk", flat=True)
    assert sorted(batched) == sorted(i.pk for i in acme)
    assert Invoice.objects.filter(gl_batch__isnull=True).count() == 2  # Globex's stay
    created = AuditEvent.objects.get(action="batch_created", batch=batch)
    assert created.changes["filters"] == "company acme"


def test_all_matching_is_refused_while_a_filter_is_not_valid(finance_client, invoices):
    response = finance_client.post(
        UNPOSTED, {"selection": "matching", "amount_min": "abc", "transfer": "file"}
    )
    assert response.status_code == 200
    assert any("The filters are not valid" in m for m in messages_of(response))
    assert not GLBatch.objects.exists()


def test_batch_page_shows_the_total_of_each_kind(finance_client, invoices, make_expense, send):
    expense = make_expense(amount="42.50")
    batch = send(
        [{"type": "invoice", "id": i.pk} for i in invoices[:2]]
        + [{"type": "expense", "id": expense.pk}]
    )
    page = finance_client.get(reverse("accounting:batch_detail", args=[batch.pk])).content.decode()
    invoice_total = invoices[0].total + invoices[1].total
    assert f'data-kind-total="invoice">· {invoice_total:,.2f}<' in page
    assert 'data-kind-total="expense">· 42.50<' in page


def test_bulk_unbatch_does_each_record_and_names_the_one_refused(finance_client, invoices, send):
    batch = send([{"type": "invoice", "id": i.pk} for i in (*invoices[:3], invoices[4])])
    other = send([{"type": "invoice", "id": invoices[3].pk}])
    url = reverse("accounting:batch_records", args=[batch.pk])
    events = AuditEvent.objects.filter(action="unbatched").count()
    # The middle one (by the order they are locked in) is another batch's record.
    ticked = [f"invoice:{invoices[n].pk}" for n in (0, 3, 4)]
    response = finance_client.post(url, {"step": "unbatch", "items": ticked}, follow=True)
    shown = messages_of(response)
    assert any(f"Invoice {invoices[3].number} is not in this batch" in m for m in shown), shown
    done = [m for m in shown if m.startswith(f"Unbatched from {batch.batch_identifier}")]
    assert done and invoices[0].number in done[0] and invoices[4].number in done[0]
    for invoice, batch_now, original in (
        (invoices[0], None, batch.pk),
        (invoices[1], batch.pk, None),
        (invoices[2], batch.pk, None),
        (invoices[3], other.pk, None),
        (invoices[4], None, batch.pk),
    ):
        invoice.refresh_from_db()
        assert (invoice.gl_batch_id, invoice.original_batch_id) == (batch_now, original)
    assert AuditEvent.objects.filter(action="unbatched").count() == events + 2


def test_csv_cells_a_spreadsheet_would_run_stay_text(finance_client, invoices):
    Invoice.objects.filter(pk=invoices[0].pk).update(company=CompanyFactory(name="=HYPERLINK(1)"))
    response = finance_client.get(reverse("accounting:unposted_export", args=["invoice"]))
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[1][3] == "'=HYPERLINK(1)"


def test_bulk_rebatch_puts_back_the_ready_ones_and_refuses_one_still_open(
    finance_client, finance, invoices, send
):
    batch = send([{"type": "invoice", "id": i.pk} for i in invoices[:3]])
    url = reverse("accounting:batch_records", args=[batch.pk])
    ticked = [f"invoice:{i.pk}" for i in invoices[:3]]
    finance_client.post(url, {"step": "unbatch", "items": ticked})
    middle = Invoice.objects.get(pk=invoices[1].pk)
    invoice_services.invoice_update(actor=finance, invoice=middle, status=status("New"))

    response = finance_client.post(url, {"step": "rebatch", "items": ticked}, follow=True)
    shown = messages_of(response)
    assert any(f"Invoice {middle.number}" in m and "open status" in m for m in shown), shown
    states = {
        i.pk: (i.gl_batch_id, i.original_batch_id)
        for i in Invoice.objects.filter(pk__in=[i.pk for i in invoices[:3]])
    }
    assert states == {
        invoices[0].pk: (batch.pk, None),
        invoices[1].pk: (None, batch.pk),
        invoices[2].pk: (batch.pk, None),
    }
    assert AuditEvent.objects.filter(action="rebatched").count() == 2


def test_bulk_steps_need_the_unbatch_permission(client, staff, invoices, send):
    batch = send([{"type": "invoice", "id": invoices[0].pk}])
    client.force_login(staff)
    response = client.post(
        reverse("accounting:batch_records", args=[batch.pk]),
        {"step": "unbatch", "items": [f"invoice:{invoices[0].pk}"]},
    )
    assert response.status_code == 403
    invoices[0].refresh_from_db()
    assert invoices[0].gl_batch_id == batch.pk


# --- the record searches and Open Batches -------------------------------------------------

INVOICES = "/finance/invoices/"


def test_invoice_search_ranges_sorting_total_and_csv(finance_client, invoices):
    response = finance_client.get(
        INVOICES, {"date_from": "2026-11-11", "amount_max": "800", "sort": "total"}
    )
    kept = sorted(
        (i for i in invoices if i.date >= dt.date(2026, 11, 11) and i.total <= 800),
        key=lambda i: i.total,
    )
    assert [i.number for i in response.context["invoices"]] == [i.number for i in kept]
    html = response.content.decode()
    assert f'id="matching-total">{sum(i.total for i in kept):,.2f}<' in html
    assert 'aria-sort="ascending"><a class="sort-link" href="?date_from=2026-11-11' in html

    export = finance_client.get(response.context["export_url"])
    assert isinstance(export, StreamingHttpResponse)
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode("utf-8-sig"))))
    assert [row[0] for row in rows[1:]] == [i.number for i in kept]
    assert rows[1][4] == str(kept[0].total)


def test_an_exact_invoice_number_opens_the_invoice(finance_client, invoices):
    target = invoices[2]
    response = finance_client.get(INVOICES, {"go": target.number.lower()})
    assert response.status_code == 302
    assert response["Location"] == reverse("invoicing:invoice_detail", args=[target.pk])
    # A number that is no invoice's: said, and the list is shown.
    missing = finance_client.get(INVOICES, {"go": "INV-NOPE"})
    assert missing.status_code == 200
    assert any("No invoice is numbered INV-NOPE" in m for m in messages_of(missing))


def test_an_exact_po_number_and_an_expense_reference_open_their_record(
    finance_client, make_purchase_order, make_expense
):
    order, _line = make_purchase_order()
    response = finance_client.get(reverse("procurement:po_list"), {"go": order.number})
    assert response["Location"] == reverse("procurement:po_detail", args=[order.pk])
    entry = make_expense()
    response = finance_client.get(reverse("expenses:entry_list"), {"go": f"expense {entry.pk}"})
    assert response["Location"] == reverse("expenses:entry_detail", args=[entry.pk])


def test_expense_and_po_searches_filter_by_amount_and_total(
    finance_client, make_expense, make_purchase_order
):
    small, large = make_expense(amount="10.00"), make_expense(amount="90.00")
    response = finance_client.get(reverse("expenses:entry_list"), {"amount_min": "50"})
    assert [e.pk for e in response.context["entries"]] == [large.pk]
    assert 'id="matching-total">90.00<' in response.content.decode()
    assert small.pk not in [e.pk for e in response.context["entries"]]

    make_purchase_order(freight="25.00")
    make_purchase_order(freight="5.00")
    orders = finance_client.get(
        reverse("procurement:po_list"), {"sort": "freight", "order": "desc"}
    )
    assert [o.freight_amount for o in orders.context["orders"]] == [
        Decimal("25.00"),
        Decimal("5.00"),
    ]
    assert 'id="matching-total">30.00<' in orders.content.decode()


def test_batch_search_by_id_and_day_and_its_csv(finance_client, invoices, send):
    first = send([{"type": "invoice", "id": invoices[0].pk}], batch_identifier="NOV-A")
    second = send([{"type": "invoice", "id": invoices[1].pk}], batch_identifier="DEC-B")
    GLBatch.objects.filter(pk=first.pk).update(
        created_at=dt.datetime(2026, 11, 3, 9, tzinfo=dt.UTC)
    )
    url = reverse("accounting:batch_list")
    by_id = finance_client.get(url, {"q": "dec"})
    assert [batch.pk for batch, _summary in by_id.context["rows"]] == [second.pk]
    by_day = finance_client.get(url, {"created_to": "2026-11-05"})
    assert [batch.pk for batch, _summary in by_day.context["rows"]] == [first.pk]

    export = finance_client.get(by_day.context["export_url"])
    assert isinstance(export, StreamingHttpResponse)
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode("utf-8-sig"))))
    assert len(rows) == 2 and rows[1][0] == "NOV-A"
    assert rows[1][rows[0].index("Total")] == str(invoices[0].total)
