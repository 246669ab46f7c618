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
