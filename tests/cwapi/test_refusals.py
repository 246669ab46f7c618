"""Refusals through the finance API change nothing (the snapshot comparison of the
workflow tests): recording a batch of a record already batched, stale or partial
glEntryIds, ids no export gave, and deleting a batch while a record unbatched from it is
outside it. Each answers ConnectWise's error shape with the product's code inside."""

from accounting import services as accounting
from accounting.models import GLBatch
from cwapi.models import GLEntryId
from tests.cwapi import cw_models as m
from tests.cwapi.conftest import ACCOUNTING
from tests.workflows.test_refusals import snapshot


def export_ids(tool, invoice_ids: list[int]) -> list[list[int]]:
    response = tool.post(ACCOUNTING + "export", {"includedInvoiceIds": invoice_ids}, format="json")
    assert response.status_code == 200, response.json()
    return [
        [int(i) for i in transaction["glEntryIds"].split(",")]
        for transaction in response.json()["transactions"]
    ]


def assert_refused(response, product_code: str, *, mentions: str = "") -> m.Error:
    assert response.status_code == 400, response.content
    error = m.parse(m.Error, response.json())
    assert error.code == "InvalidObject"
    assert product_code in {entry.code for entry in error.errors}, error
    assert mentions in error.message, error.message
    return error


def test_recording_a_batch_of_a_record_already_batched_changes_nothing(tool, make_invoice):
    invoice = make_invoice()
    [ids] = export_ids(tool, [invoice.pk])
    assert (
        tool.post(ACCOUNTING + "batches", {"processedRecordIds": ids}, format="json").status_code
        == 201
    )
    before = snapshot()
    again = tool.post(ACCOUNTING + "batches", {"processedRecordIds": ids}, format="json")
    assert_refused(again, "already_batched", mentions=f"Invoice {invoice.number}")
    assert snapshot() == before


def test_exporting_a_record_already_batched_is_refused_naming_it(tool, make_invoice):
    invoice = make_invoice()
    [ids] = export_ids(tool, [invoice.pk])
    tool.post(ACCOUNTING + "batches", {"processedRecordIds": ids}, format="json")
    before = snapshot()
    response = tool.post(ACCOUNTING + "export", {"includedInvoiceIds": [invoice.pk]}, format="json")
    assert_refused(response, "already_batched", mentions=f"Invoice {invoice.number}")
    assert snapshot() == before


def test_a_partial_list_of_a_records_entries_is_refused(tool, make_invoice):
    invoice = make_invoice()
    [ids] = export_ids(tool, [invoice.pk])
    before = snapshot()
    response = tool.post(ACCOUNTING + "batches", {"processedRecordIds": ids[:2]}, format="json")
    assert_refused(response, "partial_entries", mentions=f"Invoice {invoice.number}")
    assert snapshot() == before


def test_stale_entry_ids_are_refused_and_change_nothing(tool, finance, make_invoice):
    from decimal import Decimal

    from invoicing import services as invoice_services
    from tests.helpers import status

    invoice = make_invoice()
    fresh = make_invoice(price="5.00", quantity="1")
    [stale_ids, fresh_ids] = export_ids(tool, [invoice.pk, fresh.pk])
    invoice_services.invoice_update(actor=finance, invoice=invoice, status=status("New"))
    invoice_services.invoice_update(
        actor=finance,
        invoice=invoice,
        lines=[{"description": "Changed", "quantity": Decimal(1), "unit_price": Decimal(1)}],
    )
    invoice_services.invoice_update(actor=finance, invoice=invoice, status=status("Closed"))
    before = snapshot()
    response = tool.post(
        ACCOUNTING + "batches", {"processedRecordIds": stale_ids + fresh_ids}, format="json"
    )
    assert_refused(response, "record_changed", mentions=f"Invoice {invoice.number}")
    assert snapshot() == before  # the fresh invoice was not batched either


def test_ids_no_export_gave_are_refused(tool, make_invoice):
    make_invoice()
    before = snapshot()
    response = tool.post(ACCOUNTING + "batches", {"processedRecordIds": [999999]}, format="json")
    assert_refused(response, "InvalidField", mentions="999999")
    for body in [{}, {"processedRecordIds": []}, {"processedRecordIds": ["x"]}]:
        bad = tool.post(ACCOUNTING + "batches", body, format="json")
        assert bad.status_code == 400 and bad.json()["code"] == "InvalidObject"
    assert snapshot() == before
    assert not GLEntryId.objects.exists()


def test_delete_batch_refused_while_a_record_is_unbatched_from_it(tool, finance, make_invoice):
    first, second = make_invoice(), make_invoice(price="1.00", quantity="1")
    ids = [entry for ids in export_ids(tool, [first.pk, second.pk]) for entry in ids]
    tool.post(ACCOUNTING + "batches", {"processedRecordIds": ids}, format="json")
    batch = GLBatch.objects.get()
    accounting.record_unbatch(actor=finance, record_type="invoice", record_id=first.pk)
    before = snapshot()
    response = tool.delete(ACCOUNTING + f"batches/{batch.pk}")
    error = assert_refused(response, "batch_has_unbatched_items", mentions="Rebatch")
    assert {entry.message for entry in error.errors} == {f"Invoice {first.number}"}
    assert snapshot() == before
    # Rebatched, the batch is deleted through the product's own delete; its records are
    # unposted again.
    accounting.record_rebatch(actor=finance, record_type="invoice", record_id=first.pk)
    assert tool.delete(ACCOUNTING + f"batches/{batch.pk}").status_code == 204
    batch.refresh_from_db()
    assert batch.status == "deleted"
    assert tool.get(ACCOUNTING + "unpostedinvoices/count").json() == {"count": 2}
    assert tool.get(ACCOUNTING + f"batches/{batch.pk}").status_code == 404


def test_a_record_sent_before_is_not_recorded_again_without_the_product(tool, make_invoice):
    """After a batch is deleted its records are unposted, but the package still holds
    them: recording them again from the tool is refused; the product's re-record or
    re-send with confirmation is the way."""
    invoice = make_invoice()
    [ids] = export_ids(tool, [invoice.pk])
    tool.post(ACCOUNTING + "batches", {"processedRecordIds": ids}, format="json")
    tool.delete(ACCOUNTING + f"batches/{GLBatch.objects.get().pk}")
    [again] = export_ids(tool, [invoice.pk])
    assert again == ids  # unchanged, so the same entry ids
    before = snapshot()
    response = tool.post(ACCOUNTING + "batches", {"processedRecordIds": again}, format="json")
    assert_refused(response, "retransfer_unconfirmed", mentions=f"Invoice {invoice.number}")
    assert snapshot() == before


def test_unknown_batch_and_bad_ids_are_404(tool, db):
    for path in ["batches/999", "batches/abc", "unpostedinvoices/0", "unpostedexpenses/xyz"]:
        response = tool.get(ACCOUNTING + path)
        assert response.status_code == 404
        assert m.parse(m.Error, response.json()).code == "NotFound"
    assert tool.delete(ACCOUNTING + "batches/999").status_code == 404
