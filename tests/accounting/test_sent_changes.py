"""Records changed since they were sent: a record unbatched, edited and rebatched is in
its batch with new values while the accounting package holds the old ones. The product
marks it with both sides, and brings the package in line: by the clerk's word for an
export file, through the connector for a direct transfer."""

import datetime as dt
from decimal import Decimal

import pytest
from beancount import loader
from beancount.core.data import Transaction

from accounting import selectors
from accounting import services as accounting
from accounting.models import AccountingSetup, AuditEvent, TransferLog
from invoicing import services as invoice_services
from tests.helpers import refused, send, status

pytestmark = pytest.mark.django_db


def edit(actor, invoice, *, quantity="3", price="100", rebatch=True, **fields):
    """The reference's invoice procedure: unbatch, an open status, edit, a closed
    status, and (by default) MORE > Rebatch into the original batch: nothing is sent."""
    accounting.record_unbatch(actor=actor, record_type="invoice", record_id=invoice.pk)
    invoice.refresh_from_db()
    invoice = invoice_services.invoice_update(actor=actor, invoice=invoice, status=status("New"))
    invoice = invoice_services.invoice_update(
        actor=actor,
        invoice=invoice,
        lines=[
            {
                "description": "Corrected",
                "quantity": Decimal(quantity),
                "unit_price": Decimal(price),
            }
        ],
        **fields,
    )
    invoice = invoice_services.invoice_update(actor=actor, invoice=invoice, status=status("Closed"))
    if rebatch:
        accounting.record_rebatch(actor=actor, record_type="invoice", record_id=invoice.pk)
    invoice.refresh_from_db()
    return invoice


def test_a_rebatched_edit_is_marked_with_what_was_sent_and_what_is_now(
    finance, make_invoice, django_capture_on_commit_callbacks
):
    kept, edited = make_invoice(), make_invoice()  # 10 x 150.00 + 8.25 % tax: 1,623.75
    batch = send(
        django_capture_on_commit_callbacks,
        finance,
        [{"type": "invoice", "id": kept.pk}, {"type": "invoice", "id": edited.pk}],
        transfer="file",
    )
    assert selectors.batch_sent_changes(batch) == {}

    edited = edit(finance, edited)  # 3 x 100.00 + tax: 324.75
    changes = selectors.batch_sent_changes(batch)
    assert list(changes) == [("invoice", edited.pk)]
    change = changes[("invoice", edited.pk)]
    assert change.in_batch and change.batch_identifier == batch.batch_identifier
    assert change.number == edited.number and change.method == "file"
    assert (change.sent.total, change.now.total) == (Decimal("1623.75"), Decimal("324.75"))
    assert (change.sent.tax, change.now.tax) == (Decimal("123.75"), Decimal("24.75"))
    assert not change.header_changed
    rows = {row["label"]: row for row in change.rows}
    assert rows["Total"]["changed"] and rows["Tax"]["changed"]
    income = next(row for label, row in rows.items() if "income" in label.lower())
    assert (income["sent"], income["now"]) == (Decimal("-1500.00"), Decimal("-300.00"))
    # The same answer for the record alone, and for every batch of a list.
    assert selectors.record_sent_change("invoice", edited.pk).now.total == Decimal("324.75")
    assert selectors.record_sent_change("invoice", kept.pk) is None
    assert list(selectors.batches_sent_changes([batch.pk])[batch.pk]) == [("invoice", edited.pk)]


def test_a_header_change_alone_is_marked_and_said_to_be_in_the_header(
    finance, make_invoice, django_capture_on_commit_callbacks
):
    invoice = make_invoice()
    send(django_capture_on_commit_callbacks, finance, [{"type": "invoice", "id": invoice.pk}])
    invoice = edit(
        finance, invoice, quantity="10", price="150", due_date=invoice.due_date + dt.timedelta(9)
    )
    change = selectors.record_sent_change("invoice", invoice.pk)
    assert change is not None and change.header_changed
    assert not any(row["changed"] for row in change.rows)


def test_an_unbatched_edit_is_compared_but_cannot_be_marked_updated(
    finance, make_invoice, django_capture_on_commit_callbacks
):
    invoice = make_invoice()
    send(django_capture_on_commit_callbacks, finance, [{"type": "invoice", "id": invoice.pk}])
    invoice = edit(finance, invoice, rebatch=False)
    change = selectors.record_sent_change("invoice", invoice.pk)
    assert change is not None and not change.in_batch
    with refused("invalid_transition") as info:
        accounting.sent_change_confirm(actor=finance, record_type="invoice", record_id=invoice.pk)
    assert "Rebatch it" in info.value.message
    assert not AuditEvent.objects.filter(action="package_updated_by_hand").exists()


def test_marking_a_file_transfer_updated_by_hand_clears_the_mark_and_keeps_the_old_values(
    finance, make_invoice, django_capture_on_commit_callbacks
):
    invoice = make_invoice()
    batch = send(
        django_capture_on_commit_callbacks,
        finance,
        [{"type": "invoice", "id": invoice.pk}],
        transfer="file",
    )
    log = TransferLog.objects.get(batch=batch)
    sent_fingerprint = log.fingerprint
    invoice = edit(finance, invoice)
    # A file transfer's package cannot be reached: no "update in the package".
    with refused("invalid_transition") as info:
        accounting.sent_change_send(actor=finance, record_type="invoice", record_id=invoice.pk)
    assert "by hand" in info.value.message

    accounting.sent_change_confirm(actor=finance, record_type="invoice", record_id=invoice.pk)
    assert selectors.record_sent_change("invoice", invoice.pk) is None
    assert selectors.batch_sent_changes(batch) == {}
    log.refresh_from_db()
    assert log.fingerprint != sent_fingerprint and log.batch_id == batch.pk
    event = AuditEvent.objects.get(action="package_updated_by_hand")
    assert (event.actor, event.record_id, event.batch_id) == (finance, invoice.pk, batch.pk)
    assert event.changes["Total"] == {"before": "1,623.75", "after": "324.75"}
    assert event.changes["document"] == invoice.number
    # Once in line, there is nothing left to mark.
    with refused("invalid_transition"):
        accounting.sent_change_confirm(actor=finance, record_type="invoice", record_id=invoice.pk)
    # A later delete sees it as unchanged since sent: it can be re-recorded.
    accounting.batch_delete(actor=finance, batch_id=batch.pk)
    assert [i["id"] for i in selectors.deleted_batch_changes(batch)["unchanged"]] == [invoice.pk]


@pytest.fixture
def ledger(ledger_root, db):
    AccountingSetup.objects.filter(pk=1).update(
        package="beancount", direct_transfer=True, options={"ledger_path": "books.beancount"}
    )
    return ledger_root / "books.beancount"


def ledger_totals(ledger, invoice) -> list[Decimal]:
    """The receivable amount of each transaction the ledger holds of the invoice."""
    entries, errors, _ = loader.load_file(str(ledger))
    assert not errors
    return [
        sum((p.units.number for p in entry.postings if p.units.number > 0), Decimal(0))
        for entry in entries
        if isinstance(entry, Transaction)
        and entry.meta.get("psa_record") == f"invoice:{invoice.pk}"
    ]


def test_update_in_the_package_replaces_the_original_through_the_connector(
    ledger, finance, make_invoice, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    invoice = make_invoice()
    batch = send(capture, finance, [{"type": "invoice", "id": invoice.pk}])
    invoice = edit(finance, invoice)
    assert ledger_totals(ledger, invoice) == [Decimal("1623.75")]
    change = selectors.record_sent_change("invoice", invoice.pk)
    assert change.is_direct and change.in_batch
    # The connector does it: marking it by hand is not offered.
    with refused("invalid_transition") as info:
        accounting.sent_change_confirm(actor=finance, record_type="invoice", record_id=invoice.pk)
    assert "Update in the package" in info.value.message

    with capture(execute=True):
        resent = accounting.sent_change_send(
            actor=finance, record_type="invoice", record_id=invoice.pk
        )
    resent.refresh_from_db()
    assert resent.transfer_state == "done", resent.transfer_error
    assert ledger_totals(ledger, invoice) == [Decimal("324.75")]  # the new amount, once
    assert selectors.record_sent_change("invoice", invoice.pk) is None
    assert selectors.batch_sent_changes(batch) == {}
    original = TransferLog.objects.get(batch=batch)
    assert (original.removal, original.replaced_by_id) == ("connector", resent.pk)
    event = AuditEvent.objects.get(action="package_update_sent")
    assert event.batch_id == resent.pk and event.changes["sent_in"] == batch.batch_identifier


def test_update_in_the_package_is_refused_for_a_closed_batch_and_changes_nothing(
    ledger, finance, make_invoice, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    invoice = make_invoice()
    batch = send(capture, finance, [{"type": "invoice", "id": invoice.pk}])
    invoice = edit(finance, invoice)
    accounting.batch_close(actor=finance, batch_id=batch.pk)
    with refused("batch_not_open") as info:
        accounting.sent_change_send(actor=finance, record_type="invoice", record_id=invoice.pk)
    assert invoice.number in info.value.message and "reopen" in info.value.message
    invoice.refresh_from_db()
    assert invoice.gl_batch_id == batch.pk
    assert ledger_totals(ledger, invoice) == [Decimal("1623.75")]
    assert selectors.record_sent_change("invoice", invoice.pk).in_batch
