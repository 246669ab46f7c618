"""Steps a clerk takes in the browser, shared by the procedure tests."""

from playwright.sync_api import Page, expect

from tests.helpers import PASSWORD


def nav(page: Page, name: str) -> None:
    """A link of the main menu, and the page it opens loaded (its scripts running): a
    control used while the page still loads would miss its script's handlers."""
    with page.expect_navigation():
        page.get_by_role("navigation", name="Main").get_by_role("link", name=name).click()


def more(page: Page, action: str) -> None:
    """MORE > <action>, then OK in the confirmation that opens in the page."""
    page.locator("summary", has_text="MORE").click()
    page.locator(".more-list").get_by_role("link", name=action, exact=True).click()
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="OK").click()


def sign_in(page: Page, username: str) -> Page:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")
    return page


def open_invoice(page: Page, number: str) -> None:
    """Finance > Invoice Search, the invoice number searched, and its page opened."""
    nav(page, "Invoice Search")
    page.get_by_label("Invoice number").fill(number)
    page.get_by_role("button", name="Search").click()
    page.locator("#invoice-table").get_by_role("link", name=number).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(number)
