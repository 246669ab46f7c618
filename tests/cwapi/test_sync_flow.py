"""The flow of a sync tool (docs/cw-api.md, "How a sync tool uses it") over HTTP with
Basic auth, for each kind: list the unposted records, export one, record the batch from
its glEntryIds, and find the record gone from the unposted list, locked, in the batch
and in the transfer log, where the re-send guard sees it. Every body is parsed by the
strict ConnectWise models."""

from decimal import Decimal

import pytest

from accounting import selectors
from accounting.gl import AccountBook
from accounting.models import GLBatch, TransferLog, TransferMethod, TransferState
from accounting.postables import get_kind
from invoicing import services as invoice_services
from procurement import services as po_services
from tests.cwapi import cw_models as m
from tests.cwapi.conftest import ACCOUNTING
from tests.helpers import refused, status


def entry_ids(text: str) -> list[int]:
    return [int(part) for part in text.split(",")]


def record_batch(tool, ids: list[int], identifier: str, **flags) -> m.GLExport:
    response = tool.post(
        ACCOUNTING + "batches",
        {"batchIdentifier": identifier, "processedRecordIds": ids, **flags},
        format="json",
    )
    assert response.status_code == 201, response.json()
    return m.parse(m.GLExport, response.json())


def assert_sent(record_type: str, record_id: int, identifier: str, postings_total: Decimal):
    """In the batch, logged as sent by the integration, and known to the re-send guard."""
    batch = GLBatch.objects.get(batch_identifier=identifier)
    assert batch.transfer_method == TransferMethod.EXTERNAL
    assert batch.transfer_state == TransferState.DONE
    kind = get_kind(record_type)
    record = kind.queryset().get(pk=record_id)
    assert getattr(record, f"{kind.batch_field}_id") == batch.pk
    log = TransferLog.objects.get(record_type=record_type, record_id=record_id)
    assert log.batch_id == batch.pk and log.method == TransferMethod.EXTERNAL
    posting = kind.posting(record, AccountBook())
    assert log.fingerprint == posting.fingerprint()
    assert posting.total_debit == postings_total
    assert selectors.live_sends(record_type, [record_id])[record_id][0]["batch_id"] == batch.pk
    return batch


def test_invoice_flow(tool, finance, make_invoice):
    invoice = make_invoice()
    other = make_invoice(price="10.00", quantity="1")

    listed = tool.get(ACCOUNTING + "unpostedinvoices", {"pageSize": 1000})
    assert listed.status_code == 200
    rows = m.parse(m.UnpostedInvoice, listed.json(), many=True)
    assert [row.id for row in rows] == [invoice.pk, other.pk]
    assert rows[0].invoiceNumber == invoice.number and rows[0].total == 1623.75
    assert m.parse(m.Count, tool.get(ACCOUNTING + "unpostedinvoices/count").json()).count == 2
    one = tool.get(ACCOUNTING + f"unpostedinvoices/{invoice.pk}")
    assert m.parse(m.UnpostedInvoice, one.json()).id == invoice.pk
    levels = tool.get(ACCOUNTING + f"unpostedinvoices/{invoice.pk}/taxableLevels")
    assert [level.taxAmount for level in m.parse(m.TaxableLevel, levels.json(), many=True)] == [
        123.75
    ]

    exported = tool.post(
        ACCOUNTING + "export",
        {
            "batchIdentifier": "20261127-101500",
            "locationId": 0,
            "includedInvoiceIds": [invoice.pk],
            "thruDate": "2026-11-30T00:00:00Z",
            "summarizeInvoices": "Detailed",
            "exportInvoicesFlag": True,
        },
        format="json",
    )
    assert exported.status_code == 200, exported.json()
    export = m.parse(m.GLExport, exported.json())
    assert export.customers[0].accountNumber == "ACME"
    [transaction] = export.transactions
    assert (transaction.total, transaction.taxableTotal, transaction.salesTax) == (
        1623.75,
        1500.0,
        123.75,
    )
    assert [d.total for d in transaction.detail] == [1500.0]
    ids = entry_ids(transaction.glEntryIds)
    assert len(ids) == 3  # receivable, income, sales tax: the lines a file transfer carries
    # An export changes nothing, and the ids are the same while the invoice is unchanged.
    assert not GLBatch.objects.exists()
    again = m.parse(
        m.GLExport,
        tool.post(
            ACCOUNTING + "export", {"includedInvoiceIds": [invoice.pk]}, format="json"
        ).json(),
    )
    assert again.transactions[0].glEntryIds == transaction.glEntryIds

    batch_export = record_batch(tool, ids, "20261127-101500", exportInvoicesFlag=True)
    assert batch_export.transactions[0].glEntryIds == transaction.glEntryIds

    remaining = m.parse(
        m.UnpostedInvoice, tool.get(ACCOUNTING + "unpostedinvoices").json(), many=True
    )
    assert [row.id for row in remaining] == [other.pk]
    assert tool.get(ACCOUNTING + f"unpostedinvoices/{invoice.pk}").status_code == 404
    batch = assert_sent("invoice", invoice.pk, "20261127-101500", Decimal("1623.75"))
    with refused("record_locked"):
        invoice_services.invoice_update(
            actor=finance,
            invoice=invoice.__class__.objects.get(pk=invoice.pk),
            status=status("New"),
        )

    listed_batches = m.parse(m.AccountingBatch, tool.get(ACCOUNTING + "batches").json(), many=True)
    assert [(b.id, b.batchIdentifier, b.exportInvoicesFlag) for b in listed_batches] == [
        (batch.pk, "20261127-101500", True)
    ]
    entries = m.parse(
        m.BatchEntry, tool.get(ACCOUNTING + f"batches/{batch.pk}/entries").json(), many=True
    )
    assert [e.id for e in entries] == ids
    assert sum(e.debit for e in entries) == sum(e.credit for e in entries) == 1623.75
    assert (
        m.parse(m.Count, tool.get(ACCOUNTING + f"batches/{batch.pk}/entries/count").json()).count
        == 3
    )
    entries_path = ACCOUNTING + f"batches/{batch.pk}/entries"
    income = tool.get(entries_path, {"conditions": 'accountType = "income"'}).json()
    assert [m.parse(m.BatchEntry, e).credit for e in income] == [1500.0]
    by_credit = tool.get(entries_path, {"orderBy": "credit desc", "fields": "id"}).json()
    assert [e["id"] for e in by_credit] == [ids[1], ids[2], ids[0]]
    one = tool.get(f"{entries_path}/{ids[0]}").json()
    assert m.parse(m.BatchEntry, one).invoice.identifier == invoice.number
    assert tool.get(entries_path, {"conditions": "secret = 1"}).status_code == 400
    assert tool.get(f"{entries_path}/{ids[0] + 1000}").status_code == 404
    again = tool.post(ACCOUNTING + f"batches/{batch.pk}/export", {}, format="json")
    assert m.parse(m.GLExport, again.json()).transactions[0].glEntryIds == transaction.glEntryIds


def test_expense_flow(tool, make_expense):
    entry = make_expense()
    rows = m.parse(
        m.UnpostedExpense,
        tool.get(ACCOUNTING + "unpostedexpenses", {"pageSize": 1000}).json(),
        many=True,
    )
    assert [(row.id, row.total, row.member.identifier) for row in rows] == [(entry.pk, 42.5, "sam")]
    export = m.parse(
        m.GLExport,
        tool.post(
            ACCOUNTING + "export",
            {"includedExpenseIds": [entry.pk], "exportExpensesFlag": True},
            format="json",
        ).json(),
    )
    [expense] = export.expenses
    assert expense.total == 42.5 and expense.accountNumber == "6000"
    record_batch(tool, entry_ids(expense.glEntryIds), "EXP-1", exportExpensesFlag=True)
    assert tool.get(ACCOUNTING + "unpostedexpenses").json() == []
    assert_sent("expense", entry.pk, "EXP-1", Decimal("42.50"))


def test_procurement_flow(tool, finance, make_purchase_order):
    order, line = make_purchase_order()
    rows = m.parse(
        m.UnpostedProcurement,
        tool.get(ACCOUNTING + "unpostedprocurement", {"pageSize": 1000}).json(),
        many=True,
    )
    by_description = {row.description: row for row in rows}
    product = by_description["Firewall appliance"]
    freight = by_description[f"Freight on PO {order.number}"]
    assert (product.total, product.taxTotal, freight.freightCost) == (866.0, 66.0, 25.0)
    assert len({row.id for row in rows}) == 2

    export = m.parse(
        m.GLExport,
        tool.post(
            ACCOUNTING + "export",
            {"includedProductIds": [product.unpostedProductId], "exportProductsFlag": True},
            format="json",
        ).json(),
    )
    [purchase] = export.purchaseTransactions
    assert purchase.total == 866.0 and purchase.freightAmount == 0
    assert export.vendors[0].vendorNumber == "DIST"
    record_batch(tool, entry_ids(purchase.glEntryIds), "PO-BATCH", exportProductsFlag=True)

    left = m.parse(
        m.UnpostedProcurement, tool.get(ACCOUNTING + "unpostedprocurement").json(), many=True
    )
    assert [row.id for row in left] == [freight.id]
    assert_sent("product", line.pk, "PO-BATCH", Decimal("866.00"))
    line.refresh_from_db()
    with refused("record_locked"):
        po_services.purchase_order_line_update(actor=finance, line=line, description="Changed")

    # The freight goes in a second batch, by its own unpostedProductId.
    export = m.parse(
        m.GLExport,
        tool.post(
            ACCOUNTING + "export",
            {"includedProductIds": [freight.unpostedProductId]},
            format="json",
        ).json(),
    )
    [purchase] = export.purchaseTransactions
    assert purchase.freightAmount == 25.0 and purchase.purchaseDetail == []
    record_batch(tool, entry_ids(purchase.glEntryIds), "FREIGHT-BATCH")
    assert tool.get(ACCOUNTING + "unpostedprocurement").json() == []
    assert_sent("freight", order.pk, "FREIGHT-BATCH", Decimal("25.00"))


def test_gl_entry_ids_change_with_the_record_and_old_ones_are_refused(tool, finance, make_invoice):
    invoice = make_invoice()
    first = tool.post(ACCOUNTING + "export", {"includedInvoiceIds": [invoice.pk]}, format="json")
    old_ids = entry_ids(first.json()["transactions"][0]["glEntryIds"])
    invoice_services.invoice_update(actor=finance, invoice=invoice, status=status("New"))
    invoice_services.invoice_update(
        actor=finance,
        invoice=invoice,
        lines=[{"description": "More", "quantity": Decimal("1"), "unit_price": Decimal("99")}],
    )
    invoice_services.invoice_update(actor=finance, invoice=invoice, status=status("Closed"))
    second = tool.post(ACCOUNTING + "export", {"includedInvoiceIds": [invoice.pk]}, format="json")
    new_ids = entry_ids(second.json()["transactions"][0]["glEntryIds"])
    assert not set(old_ids) & set(new_ids)

    stale = tool.post(ACCOUNTING + "batches", {"processedRecordIds": old_ids}, format="json")
    assert stale.status_code == 400
    body = stale.json()
    assert body["code"] == "InvalidObject"
    assert body["errors"][0]["code"] == "record_changed"
    assert f"Invoice {invoice.number}" in body["message"]
    assert not GLBatch.objects.exists()
    record_batch(tool, new_ids, "FRESH")


@pytest.mark.parametrize("path", ["/apis/3.0/", "/v4_6_release/apis/3.0/"])
def test_served_at_both_roots(tool, make_invoice, path):
    make_invoice()
    response = tool.get(path + "finance/accounting/unpostedinvoices")
    assert response.status_code == 200 and len(response.json()) == 1
