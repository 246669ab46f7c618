"""Steps 9-11 of the reference's delete procedure, done its own way: on the Accounting
Interface, tick the records that were not edited, type the original batch ID and
TRANSFER. They are in the accounting package already, so the product takes this for a
re-record (nothing sent) rather than a re-send, tab after tab under the one ID; only the
edited record asks for its original to be removed."""

import re

import pytest
from playwright.sync_api import Page, expect

from accounting import services as accounting
from accounting.models import GLBatch, TransferLog
from expenses.models import ExpenseEntry
from invoicing import services as invoicing
from invoicing.models import Invoice
from tests.browser.steps import nav
from tests.helpers import status

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def transfer_ticked(page: Page, tab: str, references: list[str], batch_id: str = "") -> None:
    nav(page, "Accounting Interface")
    page.get_by_role("navigation", name="Accounting Interface").get_by_role(
        "link", name=re.compile(f"^{tab}")
    ).click()
    for reference in references:
        page.get_by_label(f"Tick {reference}").check()
    page.get_by_label("Batch ID").fill(batch_id)
    page.get_by_label("Export file to download").check()
    page.get_by_role("button", name="TRANSFER").click()


def test_unchanged_records_go_back_under_the_original_id_the_references_way(
    signed_in: Page, finance, make_invoice, make_expense, shot
):
    page = signed_in
    kept, edited = make_invoice(), make_invoice()
    expense = make_expense()
    batch = accounting.batch_create(
        actor=finance,
        items=[
            {"type": "invoice", "id": kept.pk},
            {"type": "invoice", "id": edited.pk},
            {"type": "expense", "id": expense.pk},
        ],
        batch_identifier="GL-NOV-07",
        transfer="file",
    )
    accounting.batch_delete(actor=finance, batch_id=batch.pk)
    # 4. The edited record (open, edit, close) through its own services.
    invoicing.invoice_update(actor=finance, invoice=edited, status=status("New"))
    edited.refresh_from_db()
    invoicing.invoice_update(
        actor=finance,
        invoice=edited,
        status=status("Closed"),
        lines=[{"description": "Managed services", "quantity": 11, "unit_price": "150.00"}],
    )

    # 9-11. Tick only the invoice not edited, type the original batch ID, TRANSFER.
    transfer_ticked(page, "Invoices", [f"Invoice {kept.number}"], "GL-NOV-07")
    expect(page.locator(".message-refusal")).to_have_count(0)
    success = page.locator(".message-success")
    expect(success).to_contain_text("re-recorded under it: nothing was sent")
    expect(page.get_by_role("heading", level=1)).to_contain_text("GL-NOV-07")
    expect(page.locator("#transfer-status")).to_contain_text("do not import this file")
    shot("reference-route-invoices-rerecorded")

    # The Expenses tab: the expense goes back under the same ID, into that batch.
    transfer_ticked(page, "Expenses", [f"Expense {expense.pk}"], "GL-NOV-07")
    expect(page.locator(".message-refusal")).to_have_count(0)
    expect(page.locator(".message-success")).to_contain_text("re-recorded under it")
    expect(page.locator("#transfer-status")).to_contain_text("Done")
    shot("reference-route-expenses-rerecorded")

    # 13. The edited invoice goes in the next batch: now the guard speaks, as its
    # original must really be removed from the package.
    transfer_ticked(page, "Invoices", [f"Invoice {edited.number}"])
    expect(page.locator("#resend-checklist")).to_contain_text(f"Invoice {edited.number}")
    shot("reference-route-edited-needs-removal")

    rerecord = GLBatch.objects.get(is_rerecord=True)
    assert rerecord.batch_identifier == "GL-NOV-07"
    assert Invoice.objects.get(pk=kept.pk).gl_batch_id == rerecord.pk
    assert ExpenseEntry.objects.get(pk=expense.pk).gl_batch_id == rerecord.pk
    assert Invoice.objects.get(pk=edited.pk).gl_batch_id is None
    assert not TransferLog.objects.filter(batch=rerecord).exists()  # nothing sent
