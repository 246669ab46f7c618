"""Messages in one page say one thing: a failed direct transfer is not called "under
way" and says where to correct it; a direct re-send's checklist agrees with its refusal
(the connector removes the originals); an expense unbatched while its sheet is approved
is not called editable."""

import shutil

import pytest
from playwright.sync_api import Page, expect

from accounting import services as accounting
from accounting.services import setup as setup_services
from tests.browser.steps import more, nav

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_a_direct_resend_and_a_failed_transfer_say_one_thing(
    signed_in: Page, finance, make_invoice, ledger_root, shot
):
    page = signed_in
    setup_services.accounting_setup_update(
        actor=None,
        package="beancount",
        direct_transfer=True,
        options={"ledger_path": "b.bean"},
        create_ledger=True,
    )
    invoice = make_invoice()
    sent = accounting.batch_create(
        actor=finance, items=[{"type": "invoice", "id": invoice.pk}], transfer="direct"
    )
    sent.refresh_from_db()
    assert sent.transfer_state == "done", sent.transfer_error
    accounting.batch_delete(actor=finance, batch_id=sent.pk)

    nav(page, "Accounting Interface")
    page.get_by_label(f"Tick Invoice {invoice.number}").check()
    page.get_by_label("Direct to the accounting package").check()
    page.get_by_role("button", name="TRANSFER").click()
    refusal = page.locator(".message-refusal")
    expect(refusal).to_contain_text("direct transfer removes the originals")
    checklist = page.locator("#resend-checklist")
    expect(checklist).to_contain_text("Direct transfer removes each original")
    expect(checklist).not_to_contain_text("Remove each original")
    shot("direct-resend-checklist")

    # The ledger cannot be written (a folder stands where the file was): the transfer fails.
    (ledger_root / "b.bean").unlink()
    (ledger_root / "b.bean").mkdir()
    page.get_by_label(
        "Send the records again; direct transfer removes the originals first."
    ).check()
    page.get_by_role("button", name="TRANSFER").click()
    status = page.locator("#transfer-status")
    expect(status).to_contain_text("The transfer failed")
    expect(page.locator(".message-success")).not_to_contain_text("under way")
    fix = page.locator("#transfer-fix").get_by_role("link", name="accounting package setup")
    expect(fix).to_have_attribute("href", "/finance/setup/")
    shot("direct-transfer-failed")
    shutil.rmtree(ledger_root / "b.bean")


def test_an_unbatched_expense_on_an_approved_sheet_is_not_called_editable(
    signed_in: Page, finance, make_expense, shot
):
    page = signed_in
    expense = make_expense()
    accounting.batch_create(
        actor=finance, items=[{"type": "expense", "id": expense.pk}], transfer="file"
    )
    page.goto(f"/time-expense/entries/{expense.pk}/")
    more(page, "Unbatch")
    expect(page.locator(".message-success")).to_contain_text(f"Expense {expense.pk} is unbatched")
    expect(page.locator(".message-success")).not_to_contain_text("can be edited now")
    expect(page.locator("#record-state")).to_contain_text("approved")
    shot("expense-unbatched-sheet-approved")
