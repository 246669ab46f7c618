"""The reference page's procedures, done by clicking in Chromium: the invoice fix-up,
the delete-batch procedure, a transfer with its progress bar and file download, and
refusals shown as messages in the page."""

import re

import pytest
from playwright.sync_api import Page, expect

from accounting import services as accounting
from accounting.models import BatchStatus, GLBatch, TransferLog, TransferState
from invoicing.models import Invoice
from tests.browser.steps import more, nav

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def open_invoice(page: Page, number: str) -> None:
    nav(page, "Invoice Search")
    page.get_by_label("Invoice number").fill(number)
    page.get_by_role("button", name="Search").click()
    page.locator("#invoice-table").get_by_role("link", name=number).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(number)


def test_invoice_fix_up_procedure_by_clicking(signed_in: Page, finance, make_invoice, shot):
    page = signed_in
    invoice = make_invoice()
    batch = accounting.batch_create(
        actor=finance, items=[{"type": "invoice", "id": invoice.pk}], transfer="file"
    )
    identifier = batch.batch_identifier

    # 1. Finance > Invoice Search, enter the invoice number: the GL Batch column.
    nav(page, "Invoice Search")
    page.get_by_label("Invoice number").fill(invoice.number)
    page.get_by_role("button", name="Search").click()
    rows = page.locator("#invoice-table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(identifier)
    shot("invoice-search")

    # 2. Select the invoice: its state in words.
    rows.first.get_by_role("link", name=invoice.number).click()
    state = page.locator("#record-state")
    expect(state).to_contain_text(
        re.compile(rf"In batch {identifier} since \d+ \w+ \d{{4}}; locked")
    )
    expect(page.get_by_label("Status")).to_be_disabled()
    shot("invoice-locked")

    # 3. MORE > Unbatch, then OK.
    page.locator("summary", has_text="MORE").click()
    page.locator(".more-list").get_by_role("link", name="Unbatch", exact=True).click()
    expect(page.get_by_role("alertdialog")).to_contain_text(f"Unbatch Invoice {invoice.number}?")
    shot("invoice-unbatch-confirm")
    page.get_by_role("alertdialog").get_by_role("button", name="OK").click()
    expect(page.locator(".message-success")).to_contain_text(f"unbatched from {identifier}")
    expect(state).to_contain_text(f"Unbatched from {identifier}")

    # 4. Set the invoice status to an open status and save.
    page.get_by_label("Status").select_option(label="New (open)")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".message-success")).to_contain_text("its status is New")

    # 5. Edit the invoice, then set a closed status and save.
    page.get_by_label("Line 1 quantity").fill("12")
    page.get_by_label("Status").select_option(label="Closed (closed)")
    shot("invoice-editing")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".message-success")).to_contain_text("its status is Closed")
    expect(page.locator(".totals-grand")).to_contain_text("1,948.50")

    # 6. MORE > Rebatch: back into the original batch; nothing is sent.
    more(page, "Rebatch")
    expect(page.locator(".message-success")).to_contain_text("Nothing was sent")
    expect(state).to_contain_text(f"In batch {identifier} since")
    expect(page.locator("#audit-trail")).to_contain_text("Rebatched (nothing sent)")
    shot("invoice-rebatched")

    invoice.refresh_from_db()
    assert invoice.gl_batch_id == batch.pk and invoice.original_batch_id is None
    assert invoice.lines.get().quantity == 12
    assert TransferLog.objects.filter(batch=batch).count() == 1


def test_delete_batch_procedure_by_clicking(signed_in: Page, finance, make_invoice, shot):
    page = signed_in
    kept, edited, unbatched = make_invoice(), make_invoice(), make_invoice()
    batch = accounting.batch_create(
        actor=finance,
        items=[{"type": "invoice", "id": i.pk} for i in (kept, edited, unbatched)],
        batch_identifier="GL-NOV-01",
        transfer="file",
    )
    accounting.record_unbatch(actor=finance, record_type="invoice", record_id=unbatched.pk)

    # Finance > Accounting Interface > Open Batches: tick the batch, Actions > Delete.
    nav(page, "Accounting Interface")
    page.get_by_role("navigation", name="Accounting Interface").get_by_role(
        "link", name="Open Batches"
    ).click()
    row = page.locator("#batch-table tbody tr", has_text="GL-NOV-01")
    expect(row.locator(".badge-warning")).to_have_text("1")  # one invoice unbatched
    shot("open-batches")

    def delete_batch():
        page.get_by_label("Tick batch GL-NOV-01").check()
        page.get_by_label("Actions").select_option(label="Delete Batches")
        page.get_by_role("button", name="Go").click()
        expect(page.get_by_role("alertdialog")).to_contain_text("Note the batch ID: GL-NOV-01")

    # The confirmation says up front that the delete will be refused, and offers no OK:
    # it lists the unbatched invoice, with a link to it.
    delete_batch()
    dialog = page.get_by_role("alertdialog")
    refusal = dialog.locator(".message-refusal")
    expect(refusal).to_contain_text("GL batch GL-NOV-01 cannot be deleted yet")
    expect(refusal).to_contain_text("Rebatch it first")
    expect(dialog.get_by_role("button", name="OK")).to_have_count(0)
    shot("delete-refused")
    refusal.get_by_role("link", name=f"Invoice {unbatched.number}").click()
    more(page, "Rebatch")
    expect(page.locator("#record-state")).to_contain_text("In batch GL-NOV-01")

    # Delete again: every record is unposted and editable.
    nav(page, "Accounting Interface")
    page.get_by_role("link", name="Open Batches").click()
    delete_batch()
    page.get_by_role("alertdialog").get_by_role("button", name="OK").click()
    deleted = page.locator(".message-success")
    expect(deleted).to_contain_text("Deleted GL-NOV-01")
    # The message links the deleted batch's page, and the Deleted tab lists it.
    expect(deleted.get_by_role("link", name="GL-NOV-01").first).to_have_attribute(
        "href", f"/finance/accounting-interface/batches/{batch.pk}/"
    )
    expect(page.locator("#batch-table tbody tr", has_text="GL-NOV-01")).to_have_count(0)
    shot("delete-done")

    # Edit one record (open status, edit, closed status).
    open_invoice(page, edited.number)
    expect(page.locator("#record-state")).to_contain_text("waiting on the Accounting Interface")
    page.get_by_label("Status").select_option(label="New (open)")
    page.get_by_role("button", name="Save").click()
    page.get_by_label("Line 1 unit price").fill("99.00")
    page.get_by_label("Status").select_option(label="Closed (closed)")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".message-success")).to_contain_text("its status is Closed")

    # The deleted batch tells unchanged from changed; re-record the unchanged ones
    # under the original batch ID, file only, in one click.
    nav(page, "Accounting Interface")
    page.get_by_role("link", name="Open Batches").click()
    page.get_by_role("link", name="Deleted").click()
    page.locator("#batch-table").get_by_role("link", name="GL-NOV-01").click()
    expect(page.locator("#split-unchanged")).to_contain_text(kept.number)
    expect(page.locator("#split-unchanged")).to_contain_text(unbatched.number)
    expect(page.locator("#split-changed")).to_contain_text(edited.number)
    shot("deleted-batch-split")
    page.get_by_role("link", name="Re-record 2 unchanged under GL-NOV-01").click()
    page.get_by_role("alertdialog").get_by_role("button", name="OK").click()
    expect(page.locator(".message-success")).to_contain_text("nothing was sent")
    expect(page.locator("#transfer-status")).to_contain_text("Done")
    expect(page.locator("#transfer-status")).to_contain_text("do not import this file")
    shot("rerecorded-batch")

    # The edited invoice goes out with the next batch, once its original is removed.
    nav(page, "Accounting Interface")
    page.get_by_label(f"Tick Invoice {edited.number}").check()
    page.get_by_label("Export file to download").check()
    page.get_by_role("button", name="TRANSFER").click()
    checklist = page.locator("#resend-checklist")
    expect(checklist).to_contain_text(f"Invoice {edited.number}")
    expect(checklist).to_contain_text("GL-NOV-01")
    expect(page.get_by_label(f"Tick Invoice {edited.number}")).to_be_checked()
    shot("resend-checklist")
    page.get_by_label(re.compile("I have removed these originals")).check()
    page.get_by_role("button", name="TRANSFER").click()
    expect(page.locator("#transfer-status")).to_contain_text("Done")
    expect(page.locator("#batch-checklist")).to_contain_text("Removal confirmed")

    assert GLBatch.objects.get(pk=batch.pk).status == BatchStatus.DELETED
    rerecord = GLBatch.objects.get(is_rerecord=True)
    assert rerecord.batch_identifier == "GL-NOV-01"
    assert set(Invoice.objects.filter(gl_batch=rerecord).values_list("pk", flat=True)) == {
        kept.pk,
        unbatched.pk,
    }
    edited.refresh_from_db()
    assert edited.gl_batch_id not in (None, batch.pk, rerecord.pk)


class _QueuedOnly:
    """Stands in for the Celery task: the transfer stays queued until the test runs it."""

    queued: list[int] = []

    @classmethod
    def delay(cls, batch_id):
        cls.queued.append(batch_id)


def test_transfer_with_progress_bar_and_file_download(
    signed_in: Page, make_invoice, make_expense, monkeypatch, shot, tmp_path
):
    from accounting import tasks

    page = signed_in
    monkeypatch.setattr(tasks, "batch_transfer", _QueuedOnly)
    invoices = [make_invoice() for _ in range(3)]
    make_expense()

    nav(page, "Accounting Interface")
    expect(page.locator("#unposted-table tbody tr")).to_have_count(3)
    shot("accounting-interface")
    page.get_by_label("Tick every record on this page").check()
    expect(page.locator("[data-selected-count]")).to_have_text("3")
    page.get_by_label("Batch ID").fill("NOV-2026")
    page.get_by_label("Export file to download").check()
    page.get_by_role("button", name="TRANSFER").click()

    # The batch page follows the transfer: queued, running, done.
    expect(page.get_by_role("heading", level=1)).to_contain_text("NOV-2026")
    status = page.locator("#transfer-status")
    expect(status).to_contain_text("Queued")
    expect(status).to_have_attribute("hx-trigger", "every 1s")
    batch = GLBatch.objects.get(batch_identifier="NOV-2026")
    assert _QueuedOnly.queued[-1] == batch.pk
    GLBatch.objects.filter(pk=batch.pk).update(
        transfer_state=TransferState.RUNNING, transfer_progress=40
    )
    expect(status).to_contain_text("Running")
    expect(page.locator("#transfer-progress")).to_have_attribute("value", "40")
    shot("transfer-running")

    accounting.batch_transfer_run(batch_id=batch.pk)
    download_link = page.get_by_role("link", name="Download the export file")
    expect(download_link).to_be_visible()
    expect(status).not_to_have_attribute("hx-trigger", "every 1s")
    expect(page.locator("#transfer-progress")).to_have_attribute("value", "100")
    shot("transfer-done")

    with page.expect_download() as info:
        download_link.click()
    download = info.value
    assert download.suggested_filename.startswith("NOV-2026")
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    content = saved.read_text()
    assert "NOV-2026" in content
    for invoice in invoices:
        assert invoice.number in content


def test_a_refused_transfer_is_a_message_in_the_page(signed_in: Page, finance, make_invoice, shot):
    page = signed_in
    accounting.batch_create(
        actor=finance,
        items=[{"type": "invoice", "id": make_invoice().pk}],
        batch_identifier="GL-TAKEN",
        transfer="file",
    )
    waiting = make_invoice()
    nav(page, "Accounting Interface")
    page.get_by_label(f"Tick Invoice {waiting.number}").check()
    page.get_by_label("Batch ID").fill("GL-TAKEN")
    page.get_by_role("button", name="TRANSFER").click()
    message = page.locator(".message-refusal")
    expect(message).to_contain_text("Batch ID GL-TAKEN is already used")
    expect(message).to_contain_text("leave it empty to have one generated")
    expect(page.get_by_label(f"Tick Invoice {waiting.number}")).to_be_checked()
    expect(page).to_have_title(re.compile("Accounting Interface"))
    shot("transfer-refused")
    # The way out works: leave the Batch ID empty.
    page.get_by_label("Batch ID").fill("")
    page.get_by_role("button", name="TRANSFER").click()
    expect(page.locator(".message-success")).to_contain_text("created")


def test_invoice_lines_offer_income_accounts_only(signed_in: Page, book, make_invoice, shot):
    page = signed_in
    invoice = make_invoice(closed=False)
    open_invoice(page, invoice.number)
    options = page.get_by_label("Line 1 income account").locator("option").all_inner_texts()
    shot("invoice-income-accounts")
    assert str(book["accounts"]["income"]) in options
    for other in ("accounts_payable", "inventory", "expense", "accounts_receivable"):
        assert str(book["accounts"][other]) not in options, options
