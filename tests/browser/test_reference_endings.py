"""Each unbatch procedure of the reference page (invoice, expense with the Approver,
purchase order freight, purchase order product), clicked through from the record to
the end, with both of its endings: MORE > Rebatch into the original batch (nothing is
sent), or the Accounting Interface, where the record goes out in a new batch (its
original must be removed from the package first, and the clerk confirms it)."""

import re

import pytest
from playwright.sync_api import Page, expect

from accounting import services as accounting
from accounting.models import GLBatch, TransferLog
from accounting.postables import get_kind, record_title
from expenses.models import ExpenseEntry
from invoicing.models import Invoice
from procurement.models import PurchaseOrder, PurchaseOrderLine
from tests.browser.steps import more, nav, sign_in

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

ENDINGS = ["rebatch", "new batch"]
TABS = {"invoice": "Invoices", "expense": "Expenses", "freight": "Freight", "product": "Products"}


def send(finance, kind: str, record_id: int) -> GLBatch:
    return accounting.batch_create(
        actor=finance, items=[{"type": kind, "id": record_id}], transfer="file"
    )


def finish(page: Page, ending: str, *, kind: str, record, original: str, shot, name) -> None:
    """Step 6 (7 for products): one ending or the other, from the record's page."""
    postable = get_kind(kind)
    if ending == "rebatch":
        more(page, "Rebatch")
        expect(page.locator(".message-success")).to_contain_text("Nothing was sent")
        expect(page.locator("#record-state")).to_contain_text(
            re.compile(f"in batch {original}", re.I)
        )
        shot(f"{name}-done")
        return
    nav(page, "Accounting Interface")
    page.get_by_role("navigation", name="Accounting Interface").get_by_role(
        "link", name=re.compile(f"^{TABS[kind]}")
    ).click()
    # The pages name a record by its title; the package knows it by its reference.
    page.get_by_label(f"Tick {record_title(postable, record)}").check()
    page.get_by_label("Export file to download").check()
    page.get_by_role("button", name="TRANSFER").click()
    # Sent before: the product lists the original to remove and waits for the clerk.
    checklist = page.locator("#resend-checklist")
    expect(checklist).to_contain_text(postable.reference(record))
    expect(checklist).to_contain_text(original)
    shot(f"{name}-checklist")
    page.get_by_label(re.compile("I have removed these originals")).check()
    page.get_by_role("button", name="TRANSFER").click()
    expect(page.locator(".message-success")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).not_to_contain_text(original)
    expect(page.locator("#transfer-status")).to_contain_text("Done")
    shot(f"{name}-sent")


def assert_ending(ending: str, record, batch_field: str, original: GLBatch) -> None:
    record.refresh_from_db()
    batch_id = getattr(record, batch_field)
    if ending == "rebatch":
        assert batch_id == original.pk
        assert TransferLog.objects.filter(batch=original).count() == 1  # nothing re-sent
    else:
        assert batch_id not in (None, original.pk)
        assert TransferLog.objects.filter(batch_id=batch_id).exists()


@pytest.mark.parametrize("ending", ENDINGS)
def test_invoice_procedure_both_endings(signed_in: Page, finance, make_invoice, ending, shot):
    page, invoice = signed_in, make_invoice()
    batch = send(finance, "invoice", invoice.pk)
    name = f"invoice-{ending.replace(' ', '-')}"
    nav(page, "Invoice Search")
    page.get_by_label("Invoice number").fill(invoice.number)
    page.get_by_role("button", name="Search").click()
    page.locator("#invoice-table").get_by_role("link", name=invoice.number).click()
    more(page, "Unbatch")
    page.get_by_label("Status").select_option(label="New (open)")
    page.get_by_role("button", name="Save").click()
    page.get_by_label("Line 1 quantity").fill("9")
    page.get_by_label("Status").select_option(label="Closed (closed)")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".message-success")).to_contain_text("its status is Closed")
    finish(
        page, ending, kind="invoice", record=invoice,
        original=batch.batch_identifier, shot=shot, name=name,
    )  # fmt: skip
    assert_ending(ending, invoice, "gl_batch_id", batch)
    assert Invoice.objects.get(pk=invoice.pk).lines.get().quantity == 9


@pytest.mark.parametrize("ending", ENDINGS)
def test_expense_procedure_with_the_approver_both_endings(
    page: Page, finance, approver, staff, make_expense, ending, shot
):
    entry = make_expense()
    batch = send(finance, "expense", entry.pk)
    name = f"expense-{ending.replace(' ', '-')}"
    # 1-3. Finance: Time & Expense > Expense Entry Search, the entry, MORE > Unbatch.
    sign_in(page, finance.username)
    nav(page, "Expense Entry Search")
    page.get_by_role("link", name=f"Expense {entry.pk}", exact=True).click()
    more(page, "Unbatch")
    expect(page.locator(".message-success")).to_contain_text(f"Expense {entry.pk} is unbatched")
    # 4. The Approver reverses the sheet to an open status.
    page.context.clear_cookies()
    sign_in(page, approver.username)
    page.goto(f"/time-expense/sheets/{entry.sheet_id}/")
    page.get_by_role("button", name=re.compile("^Reverse")).click()
    expect(page.locator(".message-success")).to_be_visible()
    shot(f"{name}-sheet-reversed")
    # 5. The member edits the expense and submits the sheet; the Approver approves it.
    page.context.clear_cookies()
    sign_in(page, staff.username)
    page.goto(f"/time-expense/entries/{entry.pk}/")
    page.get_by_label("Amount").fill("55.00")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".message-success")).to_be_visible()
    page.get_by_role("link", name=f"expense sheet {entry.sheet_id}").click()
    page.get_by_role("button", name="Submit").click()
    expect(page.locator(".message-success")).to_be_visible()
    page.context.clear_cookies()
    sign_in(page, approver.username)
    page.goto(f"/time-expense/sheets/{entry.sheet_id}/")
    page.get_by_role("button", name="Approve").click()
    expect(page.locator(".message-success")).to_be_visible()
    shot(f"{name}-sheet-approved")
    # 6. Finance: back on the entry, one ending or the other.
    page.context.clear_cookies()
    sign_in(page, finance.username)
    page.goto(f"/time-expense/entries/{entry.pk}/")
    finish(
        page, ending, kind="expense", record=entry,
        original=batch.batch_identifier, shot=shot, name=name,
    )  # fmt: skip
    assert_ending(ending, entry, "gl_batch_id", batch)
    assert str(ExpenseEntry.objects.get(pk=entry.pk).amount) == "55.00"


@pytest.mark.parametrize("ending", ENDINGS)
def test_po_freight_procedure_both_endings(
    signed_in: Page, finance, make_purchase_order, ending, shot
):
    page, (order, _line) = signed_in, make_purchase_order()
    batch = send(finance, "freight", order.pk)
    name = f"po-freight-{ending.replace(' ', '-')}"
    nav(page, "Purchase Orders")
    page.get_by_role("link", name=order.number, exact=True).click()
    more(page, "Unbatch")
    page.get_by_label("Status").select_option(label="Open")
    page.get_by_role("button", name="Save").click()
    page.get_by_label("Freight amount").fill("31.00")
    page.get_by_role("button", name="Save").click()
    page.get_by_label("Status").select_option(label="Closed")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".badge-po-closed")).to_be_visible()
    finish(
        page, ending, kind="freight", record=order,
        original=batch.batch_identifier, shot=shot, name=name,
    )  # fmt: skip
    assert_ending(ending, order, "freight_gl_batch_id", batch)
    assert str(PurchaseOrder.objects.get(pk=order.pk).freight_amount) == "31.00"


@pytest.mark.parametrize("ending", ENDINGS)
def test_po_product_procedure_both_endings(
    signed_in: Page, finance, make_purchase_order, ending, shot
):
    page, (order, line) = signed_in, make_purchase_order()
    batch = send(finance, "product", line.pk)
    name = f"po-product-{ending.replace(' ', '-')}"
    # 1-2. Procurement > Purchase Orders, the PO, the Products tab, the Product ID.
    nav(page, "Purchase Orders")
    page.get_by_role("link", name=order.number, exact=True).click()
    page.get_by_role("link", name="Products", exact=True).click()
    page.get_by_role("link", name=str(line.pk), exact=True).click()
    # 3. MORE > Unbatch.
    more(page, "Unbatch")
    expect(page.locator(".message-success")).to_contain_text("unbatched")
    # 4. Receiving Information: clear Closed and save.
    receiving = page.locator("#receiving")
    receiving.get_by_label("Closed").uncheck()
    receiving.get_by_role("button", name="Save").click()
    expect(page.locator(".message-success")).to_be_visible()
    # 5. Unreceived.
    page.get_by_role("button", name="Unreceive").click()
    expect(page.locator(".message-success")).to_be_visible()
    shot(f"{name}-unreceived")
    # 6. The adjustments, then receive it again (which closes it) so it can be sent.
    page.get_by_label("Quantity").fill("3")
    page.locator("#product-form").get_by_role("button", name="Save").click()
    expect(page.locator(".message-success")).to_be_visible()
    page.get_by_label("Received on").fill(line.received_date.isoformat())
    page.get_by_role("button", name="Receive").click()
    expect(page.locator(".message-success")).to_be_visible()
    # 7. One ending or the other.
    finish(
        page, ending, kind="product", record=line,
        original=batch.batch_identifier, shot=shot, name=name,
    )  # fmt: skip
    assert_ending(ending, line, "gl_batch_id", batch)
    assert PurchaseOrderLine.objects.get(pk=line.pk).quantity == 3
