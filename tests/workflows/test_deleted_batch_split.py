"""A deleted batch's split is stored when the batch is deleted, kept up to date by the
records' own steps, and read by its page and its re-record (PostgreSQL)."""

from decimal import Decimal

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounting import former, selectors
from accounting import services as accounting
from accounting.models import FormerCount, FormerRecord, FormerState
from accounting.selectors.batches import taken_sql
from accounting.views import batches as batch_views
from invoicing import services as invoice_services
from tests.helpers import send, status


def _stored(batch):
    return {
        (row.record_type, row.record_id): row.state
        for row in FormerRecord.objects.filter(batch=batch)
    }


def _counts(batch):
    """The stored counts of the split's parts, those that hold any record."""
    return {
        (row.record_type, row.state): row.records
        for row in FormerCount.objects.filter(batch=batch)
        if row.records
    }


def _edit(finance, invoice, price="77.00"):
    invoice.refresh_from_db()
    invoice = invoice_services.invoice_update(actor=finance, invoice=invoice, status=status("New"))
    invoice = invoice_services.invoice_update(
        actor=finance,
        invoice=invoice,
        lines=[
            {"description": "Corrected", "quantity": Decimal("1"), "unit_price": Decimal(price)}
        ],
    )
    return invoice_services.invoice_update(actor=finance, invoice=invoice, status=status("Closed"))


def test_the_split_is_stored_when_the_batch_is_deleted(
    finance, make_invoice, make_expense, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    kept, edited, late = make_invoice(), make_invoice(), make_invoice()
    expense = make_expense()
    batch = send(
        capture,
        finance,
        [
            {"type": "invoice", "id": kept.pk},
            {"type": "invoice", "id": edited.pk},
            {"type": "expense", "id": expense.pk},
        ],
    )
    # Unbatched after the send, changed, and put back: what the package holds is stale.
    accounting.record_unbatch(actor=finance, record_type="invoice", record_id=edited.pk)
    _edit(finance, edited)
    accounting.record_rebatch(actor=finance, record_type="invoice", record_id=edited.pk)
    # Unbatched and rebatched unchanged: still what was sent.
    accounting.record_unbatch(actor=finance, record_type="expense", record_id=expense.pk)
    accounting.record_rebatch(actor=finance, record_type="expense", record_id=expense.pk)
    # Added to the batch after its transfer (a re-record's way): never sent by it.
    type(late).objects.filter(pk=late.pk).update(gl_batch=batch)

    accounting.batch_delete(actor=finance, batch_id=batch.pk)

    assert _stored(batch) == {
        ("invoice", kept.pk): FormerState.UNCHANGED,
        ("invoice", edited.pk): FormerState.CHANGED,
        ("expense", expense.pk): FormerState.UNCHANGED,
        ("invoice", late.pk): FormerState.NOT_SENT,
    }
    counts = selectors.former_counts(batch)
    assert counts == {"unchanged": 2, "changed": 1, "not_sent": 1, "rerecordable": 2}
    sent = FormerRecord.objects.get(batch=batch, record_type="invoice", record_id=kept.pk)
    assert sent.sent_at is not None


def test_an_edit_after_the_delete_moves_that_record_alone_to_changed(
    finance, make_invoice, django_capture_on_commit_callbacks
):
    invoices = [make_invoice() for _ in range(4)]
    batch = send(
        django_capture_on_commit_callbacks,
        finance,
        [{"type": "invoice", "id": invoice.pk} for invoice in invoices],
    )
    accounting.batch_delete(actor=finance, batch_id=batch.pk)
    assert set(_stored(batch).values()) == {FormerState.UNCHANGED}

    with CaptureQueriesContext(connection) as queries:
        _edit(finance, invoices[2])

    states = _stored(batch)
    assert states.pop(("invoice", invoices[2].pk)) == FormerState.CHANGED
    assert set(states.values()) == {FormerState.UNCHANGED}
    # Only that record's row was touched: no statement read the other records' postings.
    former = FormerRecord._meta.db_table
    touching = [q["sql"] for q in queries.captured_queries if former in q["sql"]]
    assert touching and all(str(invoices[2].pk) in sql for sql in touching)
    assert [i["id"] for i in selectors.former_page(batch, "changed")] == [invoices[2].pk]
    # The parts' stored counts moved with it; a second edit moves nothing more.
    moved = {("invoice", FormerState.UNCHANGED): 3, ("invoice", FormerState.CHANGED): 1}
    assert _counts(batch) == moved
    _edit(finance, invoices[2], price="78.00")
    assert _counts(batch) == moved
    assert selectors.former_counts(batch) == {
        "unchanged": 3,
        "changed": 1,
        "not_sent": 0,
        "rerecordable": 3,
    }


def test_rerecord_takes_the_unchanged_records_of_the_stored_split(
    finance, make_invoice, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    first, second, third = make_invoice(), make_invoice(), make_invoice()
    batch = send(
        capture,
        finance,
        [{"type": "invoice", "id": i.pk} for i in (first, second, third)],
    )
    accounting.batch_delete(actor=finance, batch_id=batch.pk)
    # The stored split is what a re-record reads: a row marked changed stays out of it,
    # though nothing about the record itself changed.
    former.record_changed("invoice", second.pk)
    assert _counts(batch) == {
        ("invoice", FormerState.UNCHANGED): 2,
        ("invoice", FormerState.CHANGED): 1,
    }

    with capture(execute=True):
        rerecord = accounting.batch_rerecord(actor=finance, batch_id=batch.pk)

    for invoice in (first, second, third):
        invoice.refresh_from_db()
    assert first.gl_batch_id == rerecord.pk and third.gl_batch_id == rerecord.pk
    assert second.gl_batch_id is None
    # Taken now: nothing left to re-record, and the page says which batch holds them.
    assert selectors.former_counts(batch) == {
        "unchanged": 2,
        "changed": 1,
        "not_sent": 0,
        "rerecordable": 0,
    }
    shown = {i["id"]: i["gl_batch"] for i in selectors.former_page(batch, "unchanged")}
    assert shown == {first.pk: batch.batch_identifier, third.pk: batch.batch_identifier}


def test_the_deleted_batch_page_pages_each_part_with_the_same_queries(
    client, finance, make_invoice, django_capture_on_commit_callbacks, monkeypatch
):
    invoices = [make_invoice() for _ in range(7)]
    batch = send(
        django_capture_on_commit_callbacks,
        finance,
        [{"type": "invoice", "id": invoice.pk} for invoice in invoices],
    )
    accounting.batch_delete(actor=finance, batch_id=batch.pk)
    client.force_login(finance)
    url = reverse("accounting:batch_detail", args=[batch.pk])

    monkeypatch.setattr(batch_views, "SPLIT_SHOWN", 3)
    pages, counts = [], []
    query = ""
    while True:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url + query)
        assert response.status_code == 200
        counts.append(len(queries))
        part = response.content.decode().split('id="split-unchanged"')[1]
        shown = part.split("</ul>")[0]
        pages.append([i.number for i in invoices if i.number in shown])
        pager = part.split("</ul>")[1].split("</p>")[0]
        if 'rel="next"' not in pager:
            break
        query = pager.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0]
        query = query.replace("&amp;", "&")

    ordered = sorted(invoices, key=lambda i: i.pk)
    assert pages == [[i.number for i in ordered[n : n + 3]] for n in (0, 3, 6)]
    assert len(set(counts)) == 1, counts
    assert "Re-record 7 unchanged" in response.content.decode()


def test_the_count_of_taken_records_probes_the_split_per_record_of_the_later_batches(
    finance, make_invoice, django_capture_on_commit_callbacks
):
    """However stale the split's statistics are, the count reads the later batches'
    records and looks each one up in the split by its full key: never a part of the
    split, which is as big as the deleted batch."""
    capture = django_capture_on_commit_callbacks
    invoices = [make_invoice() for _ in range(3)]
    batch = send(capture, finance, [{"type": "invoice", "id": i.pk} for i in invoices])
    accounting.batch_delete(actor=finance, batch_id=batch.pk)
    later = send(capture, finance, [{"type": "invoice", "id": invoices[0].pk}], confirm_resend=True)

    sql, params = taken_sql(batch, [later.pk])
    former_table = FormerRecord._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = [row[0] for row in cursor.fetchall()]
    scans = [n for n, line in enumerate(plan) if f"on {former_table}" in line]
    assert scans
    for n in scans:
        assert any("SubPlan" in line for line in plan[:n])
        assert "record_id = r" in plan[n + 1], plan
    assert selectors.former_counts(batch)["rerecordable"] == 2
