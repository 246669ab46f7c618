"""The Books check by clicking in Chromium: Finance runs it, sees a record missing from
the ledger, sends it again in one click, and the next run finds the books in step."""

import pytest
from playwright.sync_api import Page, expect

from accounting.models import AccountingSetup
from tests import helpers

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_books_check_finds_a_miss_and_fixes_it_by_clicking(
    signed_in: Page, finance, make_invoice, ledger_root, django_capture_on_commit_callbacks, shot
):
    page = signed_in
    AccountingSetup.objects.filter(pk=1).update(
        package="beancount", direct_transfer=True, options={"ledger_path": "books.beancount"}
    )
    ledger = ledger_root / "books.beancount"
    kept, lost = make_invoice(), make_invoice()
    helpers.send(
        django_capture_on_commit_callbacks,
        finance,
        [{"type": "invoice", "id": kept.pk}, {"type": "invoice", "id": lost.pk}],
    )
    text = ledger.read_text()
    at = text.index(f'psa_record: "invoice:{lost.pk}"')
    begin = text.rindex("\n\n", 0, at) + 2
    ledger.write_text(text[:begin] + text[text.index("\n\n", at) + 2 :])

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Books check").click()
    page.get_by_role("button", name="Check the books").click()
    expect(page.locator("[data-run-state]")).to_have_text("Done")
    expect(page.locator('[data-count="missing"]')).to_have_text("1")
    row = page.locator(f'[data-difference="invoice-{lost.pk}"]')
    expect(row.locator("[data-kind]")).to_have_text("Missing")
    shot("books-check-missing")

    row.get_by_role("button", name="Send it again").click()
    expect(page.get_by_text("was sent again in a batch of its own")).to_be_visible()
    page.get_by_role("button", name="Check the books").click()
    expect(page.locator('[data-count="in_step"]')).to_have_text("2")
    expect(page.locator("#no-differences")).to_be_visible()
    shot("books-check-in-step")


def test_an_uploaded_quickbooks_report_shows_a_miss_and_a_duplicate(
    signed_in: Page, finance, make_invoice, tmp_path, django_capture_on_commit_callbacks, shot
):
    from tests.workflows.test_books_check_upload import file_setup, report

    page = signed_in
    file_setup("quickbooks_online", "quickbooks_online_csv")
    kept, lost, twice = make_invoice(), make_invoice(), make_invoice()
    helpers.send(
        django_capture_on_commit_callbacks,
        finance,
        [{"type": "invoice", "id": invoice.pk} for invoice in (kept, lost, twice)],
        transfer="file",
    )
    export = tmp_path / "General Ledger November.csv"
    export.write_bytes(
        report("quickbooks_gl_report.csv", {"INV-A": kept.number, "INV-C": twice.number})
    )
    bad = tmp_path / "broken.csv"
    bad.write_bytes(b",Date,Num,Debit,Credit\r\n,11/03/2026,INV-1,1.00,\r\n")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Books check").click()
    form = page.locator("#books-check-upload")
    expect(form.get_by_label("Layout")).to_have_value("quickbooks_gl_report")
    form.get_by_label("Package's export").set_input_files(str(bad))
    form.get_by_role("button", name="Check the export").click()
    expect(page.get_by_text("a transaction before any account's heading")).to_be_visible()
    expect(page.get_by_text("Line 2:")).to_be_visible()
    shot("books-check-upload-refused")

    form = page.locator("#books-check-upload")
    form.get_by_label("Package's export").set_input_files(str(export))
    form.get_by_role("button", name="Check the export").click()
    expect(page.locator("[data-run-state]")).to_have_text("Done")
    expect(page.get_by_text("Uploaded export General Ledger November.csv")).to_be_visible()
    expect(page.locator('[data-count="in_step"]')).to_have_text("1")
    expect(page.locator('[data-count="missing"]')).to_have_text("1")
    expect(page.locator('[data-count="duplicated"]')).to_have_text("1")
    missing = page.locator(f'[data-difference="invoice-{lost.pk}"]')
    expect(missing.locator("[data-kind]")).to_have_text("Missing")
    duplicated = page.locator(f'[data-difference="invoice-{twice.pk}"]')
    expect(duplicated.locator("[data-kind]")).to_have_text("Duplicated")
    expect(duplicated.get_by_text("Reported only")).to_be_visible()
    shot("books-check-upload")
