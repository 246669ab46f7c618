"""A record rebatched after an edit, by clicking in Chromium: the invoice, its batch and
the Open Batches list mark it "changed since sent" with what the package holds beside
what the record says now, until the clerk brings the package in line. For an export
file (the demo book's IIF batches) the clerk changes the package by hand and says so;
for a direct transfer (a beancount ledger) one click has the connector replace the
original."""

from decimal import Decimal

import pytest
from beancount import loader
from beancount.core.data import Transaction
from django.core.management import call_command
from playwright.sync_api import Page, expect

from accounting import selectors
from accounting.models import AccountingSetup, AuditEvent, BatchStatus, GLBatch
from invoicing.models import Invoice
from tests import helpers
from tests.browser.steps import more, nav, open_invoice

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def unbatch_edit_rebatch(page: Page, quantity: str) -> None:
    """The reference's invoice procedure on the open invoice page, ending in Rebatch."""
    more(page, "Unbatch")
    expect(page.locator(".message-success")).to_contain_text("unbatched from")
    page.get_by_label("Status").select_option(label="New (open)")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".message-success")).to_contain_text("its status is New")
    page.get_by_label("Line 1 quantity").fill(quantity)
    page.get_by_label("Status").select_option(label="Closed (closed)")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".message-success")).to_contain_text("its status is Closed")
    more(page, "Rebatch")
    expect(page.locator(".message-success")).to_contain_text("Nothing was sent")


def money(amount: Decimal) -> str:
    return f"{amount:,.2f}"


def test_file_transfer_edit_is_marked_and_cleared_once_updated_by_hand(page: Page, shot):
    call_command("demo")
    invoice = (
        Invoice.objects.filter(gl_batch__status=BatchStatus.OPEN, lines__isnull=False)
        .select_related("gl_batch")
        .order_by("number")
        .first()
    )
    batch = invoice.gl_batch
    sent_total = invoice.total
    helpers_password = "finance"  # the demo's own login
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("finance")
    page.get_by_label("Password").fill(helpers_password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")

    open_invoice(page, invoice.number)
    expect(page.locator("#sent-change")).to_have_count(0)
    first_quantity = invoice.lines.order_by("pk").first().quantity
    unbatch_edit_rebatch(page, str(first_quantity + 1))
    invoice.refresh_from_db()
    assert invoice.gl_batch_id == batch.pk and invoice.total != sent_total

    # The invoice page: the mark, both totals side by side, and what to change by hand.
    mark = page.locator("#sent-change")
    expect(mark).to_contain_text("Changed since sent")
    expect(mark).to_contain_text(f"GL batch {batch.batch_identifier}")
    total = mark.locator('[data-value="Total"]')
    expect(total.locator('[data-side="sent"]')).to_have_text(money(sent_total))
    expect(total.locator('[data-side="now"]')).to_have_text(money(invoice.total))
    instruction = page.locator("#sent-change-instruction")
    expect(instruction).to_contain_text(f"Open document {invoice.number}")
    expect(instruction).to_contain_text(f"Total: {money(sent_total)} → {money(invoice.total)}")
    expect(page.locator("#sent-change-update")).to_have_count(0)  # no connector for a file
    shot("changed-since-sent-invoice")

    # The batch page: a count at the top, the record's row, both totals.
    mark.get_by_role("link", name=batch.batch_identifier).click()
    expect(page.locator("#changed-since-sent-count")).to_have_text("1")
    row = page.locator("#sent-changes-table tbody tr")
    expect(row).to_have_count(1)
    expect(row.locator('[data-side="sent"]')).to_have_text(money(sent_total))
    expect(row.locator('[data-side="now"]')).to_have_text(money(invoice.total))
    item = page.locator("#batch-items tbody tr", has_text=invoice.number)
    expect(item).to_contain_text("Changed since sent")
    expect(item.locator("[data-sent-values]")).to_have_text(
        f"sent {money(sent_total)} → now {money(invoice.total)}"
    )
    shot("changed-since-sent-batch")

    # The Accounting Interface's Open Batches list says so on the batch.
    nav(page, "Accounting Interface")
    page.get_by_role("link", name="Open Batches").click()
    listed = page.locator("#batch-table tbody tr", has_text=batch.batch_identifier)
    expect(listed.locator("[data-changed-since-sent]")).to_have_text("1 changed since sent")
    shot("changed-since-sent-open-batches")

    # The clerk changes the package by hand, then says so: the mark clears, audited.
    listed.locator("[data-changed-since-sent]").click()
    page.locator("#sent-changes-table").get_by_role("link", name=invoice.number).click()
    page.get_by_role("link", name="I have updated it in the package").click()
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_contain_text(f"Have you updated {invoice.number} in the package?")
    shot("changed-since-sent-confirm")
    dialog.get_by_role("button", name="OK").click()
    expect(page.locator(".message-success")).to_contain_text("marked as updated in the package")
    expect(page.locator("#sent-change")).to_have_count(0)
    expect(page.locator("#audit-trail")).to_contain_text("Package updated by hand")
    shot("changed-since-sent-cleared")
    assert AuditEvent.objects.filter(
        action="package_updated_by_hand", record_id=invoice.pk, batch=batch
    ).exists()
    page.goto(f"/finance/accounting-interface/batches/{batch.pk}/")
    expect(page.locator("#changed-since-sent-count")).to_have_text("0")


def ledger_amounts(ledger, invoice) -> list[Decimal]:
    entries, errors, _ = loader.load_file(str(ledger))
    assert not errors
    return [
        sum((p.units.number for p in entry.postings if p.units.number > 0), Decimal(0))
        for entry in entries
        if isinstance(entry, Transaction)
        and entry.meta.get("psa_record") == f"invoice:{invoice.pk}"
    ]


def test_direct_transfer_edit_is_updated_in_the_package_in_one_click(
    signed_in: Page, finance, make_invoice, ledger_root, django_capture_on_commit_callbacks, shot
):
    page = signed_in
    AccountingSetup.objects.filter(pk=1).update(
        package="beancount", direct_transfer=True, options={"ledger_path": "books.beancount"}
    )
    ledger = ledger_root / "books.beancount"
    invoice = make_invoice()  # 10 x 150.00 and 8.25 % tax: 1,623.75
    batch = helpers.send(
        django_capture_on_commit_callbacks, finance, [{"type": "invoice", "id": invoice.pk}]
    )
    assert ledger_amounts(ledger, invoice) == [Decimal("1623.75")]

    open_invoice(page, invoice.number)
    unbatch_edit_rebatch(page, "12")  # 12 x 150.00 and tax: 1,948.50
    mark = page.locator("#sent-change")
    total = mark.locator('[data-value="Total"]')
    expect(total.locator('[data-side="sent"]')).to_have_text("1,623.75")
    expect(total.locator('[data-side="now"]')).to_have_text("1,948.50")
    expect(page.locator("#sent-change-confirm")).to_have_count(0)  # the connector does it
    shot("changed-since-sent-direct")

    page.get_by_role("link", name="Update in the package").click()
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_contain_text(f"Update Invoice {invoice.number} in the package?")
    dialog.get_by_role("button", name="OK").click()
    expect(page.locator(".message-success")).to_contain_text("which replaces the original")
    expect(page.locator("#sent-change")).to_have_count(0)
    shot("changed-since-sent-direct-updated")

    # The ledger holds the invoice once, with the new amount.
    assert ledger_amounts(ledger, invoice) == [Decimal("1948.50")]
    invoice.refresh_from_db()
    resent = GLBatch.objects.get(pk=invoice.gl_batch_id)
    assert resent.pk != batch.pk and resent.transfer_state == "done"
    assert selectors.record_sent_change("invoice", invoice.pk) is None
    page.goto(f"/finance/accounting-interface/batches/{batch.pk}/")
    expect(page.locator("#changed-since-sent-count")).to_have_text("0")
