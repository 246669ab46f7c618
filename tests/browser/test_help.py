"""Help in place, in Chromium: from a screen to the help of its procedure and back."""

import pytest
from playwright.sync_api import Page, expect

from tests.browser.steps import sign_in

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_a_screen_links_to_the_help_of_its_procedure(page: Page, finance, make_invoice, shot):
    invoice = make_invoice()
    sign_in(page, finance.username)
    page.goto(f"/finance/invoices/{invoice.pk}/")
    page.get_by_role("navigation", name="Help").get_by_role(
        "link", name="Fix a batched invoice"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Fix a batched invoice")
    expect(page.locator(".help-page ol > li").first).to_contain_text("Invoice Search")
    shot("help-invoice")
    page.get_by_role("link", name="Delete a batch and re-record").click()
    expect(page.locator('.help-page li[value="10"]')).to_contain_text("original batch ID")
    shot("help-delete-batch")
    # The menu's API docs link opens the docs.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="API docs").click()
    page.wait_for_url("**/api/docs/")
