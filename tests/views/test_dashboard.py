"""Finance > Dashboard: unposted records by kind and age, batches and totals per day,
transfers waiting for Finance, records unbatched and not rebatched, the books check."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounting import services as accounting
from accounting.models import GLBatch, Reconciliation, ReconciliationState, TransferState
from accounting.selectors.dashboard import batches_per_day, unposted_by_age
from tests.helpers import DAY

pytestmark = pytest.mark.django_db


def series(data, record_type):
    return next(s for s in data["series"] if s["type"] == record_type)


def test_unposted_records_fall_in_the_bucket_of_their_age(make_invoice, make_expense):
    make_invoice()
    make_invoice()
    make_expense()
    make_invoice(closed=False)  # not ready: not unposted
    # DAY is 3 Nov: on 20 Nov the records are 17 days old, on 20 Dec 47, in March over 90.
    assert series(unposted_by_age(dt.date(2026, 11, 20)), "invoice")["counts"] == [2, 0, 0, 0]
    assert series(unposted_by_age(dt.date(2026, 12, 20)), "invoice")["counts"] == [0, 2, 0, 0]
    late = unposted_by_age(dt.date(2027, 3, 1))
    assert series(late, "invoice")["counts"] == [0, 0, 0, 2]
    assert series(late, "expense")["counts"] == [0, 0, 0, 1]
    assert series(late, "invoice")["total"] == 2
    assert late["buckets"][0] == "0\N{EN DASH}30 days"


def test_batches_per_day_count_batches_and_total_their_records(
    finance, make_invoice, make_expense, send
):
    first = make_invoice()  # 1,500.00 plus tax
    send([{"type": "invoice", "id": first.pk}, {"type": "expense", "id": make_expense().pk}])
    deleted = send([{"type": "invoice", "id": make_invoice().pk}])
    accounting.batch_delete(actor=finance, batch_id=deleted.pk)
    today = timezone.localdate()
    data = batches_per_day(today, days=10)
    assert len(data["days"]) == 10
    assert data["days"][-1]["day"] == today
    assert data["days"][-1]["batches"] == 1  # the deleted batch is left out
    assert data["days"][-1]["records"] == 2
    first.refresh_from_db()
    assert data["days"][-1]["total"] == first.total + Decimal("42.50")
    assert all(row["batches"] == 0 for row in data["days"][:-1])


def test_the_dashboard_shows_each_part_with_links(
    finance_client, finance, make_invoice, make_expense, send
):
    invoice = make_invoice()
    batch = send([{"type": "invoice", "id": invoice.pk}])
    accounting.record_unbatch(actor=finance, record_type="invoice", record_id=invoice.pk)
    make_expense()
    failed = send([{"type": "expense", "id": make_expense().pk}])
    GLBatch.objects.filter(pk=failed.pk).update(
        transfer_state=TransferState.FAILED, transfer_error="The ledger is locked."
    )
    Reconciliation.objects.create(
        package="beancount",
        state=ReconciliationState.DONE,
        counts={"in_step": 7, "missing": 2},
        finished_at=timezone.now(),
    )

    response = finance_client.get(reverse("accounting:dashboard"))
    assert response.status_code == 200
    page = response.content.decode()
    # Charts: the data block the script reads, and the canvases.
    charts = response.context["charts"]
    assert '<script id="dashboard-data" type="application/json">' in page
    assert '<canvas id="chart-unposted"' in page and '<canvas id="chart-per-day"' in page
    assert [s["label"] for s in charts["unposted"]["series"]][:2] == ["Invoices", "Expenses"]
    assert json.loads(json.dumps(charts))["perDay"]["batches"][-1] == 2
    # The table beside the chart: one unposted expense (the failed batch holds the other).
    assert series(response.context["unposted"], "expense")["total"] == 1
    # The failed transfer, linked to its batch, with its reason.
    detail = reverse("accounting:batch_detail", args=[failed.pk])
    assert f'href="{detail}">{failed.batch_identifier}</a>' in page
    assert "The ledger is locked." in page
    # The unbatched invoice, linked to itself and to the batch it came from.
    assert reverse("invoicing:invoice_detail", args=[invoice.pk]) in page
    assert reverse("accounting:batch_detail", args=[batch.pk]) in page
    assert response.context["unbatched_count"] == 1
    # The latest books check's counts, each difference class linked to its rows.
    assert "Missing" in page and "?run=" in page and "kind=missing" in page
    assert response.context["books_check"]["classes"][0]["count"] == 7
    # Amounts carry the book's currency.
    assert "Amount (USD)" in page


def test_the_dashboard_without_anything_says_so(finance_client):
    page = finance_client.get(reverse("accounting:dashboard")).content.decode()
    assert "No transfer waits for Finance." in page
    assert "No record waits to be rebatched." in page
    assert "The books have not been checked yet." in page


def test_only_finance_opens_the_dashboard(client, staff, approver):
    for user in (staff, approver):
        client.force_login(user)
        assert client.get(reverse("accounting:dashboard")).status_code == 403


def test_the_home_page_and_menu_link_the_dashboard(finance_client):
    page = finance_client.get(reverse("home")).content.decode()
    assert page.count(f'href="{reverse("accounting:dashboard")}"') == 2


def test_a_record_dated_ahead_counts_among_the_newest(make_invoice):
    make_invoice()
    counts = series(unposted_by_age(DAY - dt.timedelta(days=5)), "invoice")["counts"]
    assert counts == [1, 0, 0, 0]


def test_a_record_changed_since_it_was_sent_is_listed_with_both_totals(
    finance_client, finance, make_invoice, django_capture_on_commit_callbacks
):
    from tests.accounting.test_sent_changes import edit
    from tests.helpers import send

    kept, edited = make_invoice(), make_invoice()  # 1,623.75 each as sent
    batch = send(
        django_capture_on_commit_callbacks,
        finance,
        [{"type": "invoice", "id": kept.pk}, {"type": "invoice", "id": edited.pk}],
        transfer="file",
    )
    page = finance_client.get(reverse("accounting:dashboard")).content.decode()
    assert "Every record in a batch is as it was sent." in page
    edit(finance, edited)  # rebatched into its batch at 324.75
    response = finance_client.get(reverse("accounting:dashboard"))
    rows = response.context["changed"]
    assert [(change.id, change.batch_id) for change in rows] == [(edited.pk, batch.pk)]
    page = response.content.decode()
    section = page[page.index('id="changed-since-sent"') :]
    assert f"Invoice {edited.number}" in section and "1,623.75" in section
    assert "324.75" in section and f"Invoice {kept.number}" not in section
