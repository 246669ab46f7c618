"""Every main screen: a sensible title, a label on every control, usable from the
keyboard; and a screenshot of each for a reviewer (test-output/screenshots/)."""

import re

import pytest
from playwright.sync_api import Page, expect

from accounting import services as accounting
from tests.helpers import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

# Controls a person can reach that have no label: <label for>, a wrapping <label>,
# aria-label or aria-labelledby (buttons and links: their text).
UNLABELLED = """
() => Array.from(document.querySelectorAll(
    'input:not([type=hidden]), select, textarea, button, a[href], summary'
  )).filter(el => {
    if (el.closest('[hidden]')) return false;
    if (el.getAttribute('aria-label') || el.getAttribute('aria-labelledby')) return false;
    if (['BUTTON', 'A', 'SUMMARY'].includes(el.tagName)) return !el.textContent.trim();
    return !(el.labels && el.labels.length);
  }).map(el => el.outerHTML.slice(0, 120))
"""


def check(page: Page, title: str) -> None:
    expect(page).to_have_title(re.compile(rf"^{re.escape(title)}.* · PSA Accounting$"))
    assert page.evaluate(UNLABELLED) == []
    assert page.locator("h1").count() >= 1


@pytest.fixture
def month_end(finance, make_invoice, make_expense, make_purchase_order):
    """A small book at month end: sent, unbatched, unposted records of every kind."""
    invoices = [make_invoice() for _ in range(4)] + [make_invoice(closed=False)]
    entries = [make_expense() for _ in range(3)] + [make_expense(approved=False)]
    orders = [make_purchase_order() for _ in range(2)] + [make_purchase_order(closed=False)]
    batch = accounting.batch_create(
        actor=finance,
        items=[
            {"type": "invoice", "id": invoices[0].pk},
            {"type": "invoice", "id": invoices[1].pk},
            {"type": "expense", "id": entries[0].pk},
            {"type": "freight", "id": orders[0][0].pk},
            {"type": "product", "id": orders[0][1].pk},
        ],
        batch_identifier="GL-OCT-31",
        transfer="file",
    )
    accounting.record_unbatch(actor=finance, record_type="invoice", record_id=invoices[1].pk)
    closed = accounting.batch_create(
        actor=finance,
        items=[{"type": "invoice", "id": invoices[2].pk}],
        batch_identifier="GL-OCT-15",
        transfer="file",
    )
    accounting.batch_close(actor=finance, batch_id=closed.pk)
    return {"invoices": invoices, "entries": entries, "orders": orders, "batch": batch}


def test_main_screens_have_titles_labels_and_screenshots(
    page: Page, finance, month_end, shot, live_server
):
    finance.is_staff = True  # Finance also keeps the setup tables
    finance.save(update_fields=["is_staff"])
    page.goto("/accounts/login/")
    check(page, "Sign in")
    shot("login")
    page.get_by_label("Username").fill("fiona")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    invoice = month_end["invoices"][0]
    unbatched = month_end["invoices"][1]
    entry = month_end["entries"][0]
    po, line = month_end["orders"][0]
    batch = month_end["batch"]
    screens = [
        ("home", "/", "Home"),
        ("invoice-search-all", "/finance/invoices/", "Invoice Search"),
        ("invoice-page", f"/finance/invoices/{invoice.pk}/", f"Invoice {invoice.number}"),
        ("invoice-unbatched", f"/finance/invoices/{unbatched.pk}/", f"Invoice {unbatched.number}"),
        ("expense-entry-search", "/time-expense/entries/", "Expense Entry Search"),
        ("expense-entry", f"/time-expense/entries/{entry.pk}/", f"Expense {entry.pk}"),
        ("expense-sheet", f"/time-expense/sheets/{entry.sheet_id}/", "Expense sheet"),
        ("purchase-orders", "/procurement/purchase-orders/", "Purchase Orders"),
        ("purchase-order", f"/procurement/purchase-orders/{po.pk}/", f"Purchase order {po.number}"),
        (
            "purchase-order-products",
            f"/procurement/purchase-orders/{po.pk}/?tab=products",
            f"Purchase order {po.number}: Products",
        ),
        ("product", f"/procurement/products/{line.pk}/", f"Product {line.pk}"),
        ("unposted-invoices", "/finance/accounting-interface/unposted/invoice/", "Accounting"),
        ("unposted-expenses", "/finance/accounting-interface/unposted/expense/", "Accounting"),
        ("unposted-products", "/finance/accounting-interface/unposted/product/", "Accounting"),
        ("open-batches-all", "/finance/accounting-interface/batches/?status=all", "Accounting"),
        ("batch-page", f"/finance/accounting-interface/batches/{batch.pk}/", "GL batch"),
    ]
    for name, url, title in screens:
        page.goto(url)
        check(page, title)
        shot(name)

    page.goto("/admin/")
    expect(page.get_by_role("heading", name="Setup tables")).to_be_visible()
    page.goto("/admin/accounting/accountingsetup/1/change/")
    expect(page.get_by_label("Direct transfer")).to_be_visible()
    shot("admin-accounting-setup")


def test_more_menu_unbatch_by_keyboard(signed_in: Page, finance, make_invoice):
    page = signed_in
    invoice = make_invoice()
    batch = accounting.batch_create(
        actor=finance, items=[{"type": "invoice", "id": invoice.pk}], transfer="file"
    )
    page.goto(f"/finance/invoices/{invoice.pk}/")

    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()

    page.locator("summary", has_text="MORE").focus()
    page.keyboard.press("Enter")
    unbatch = page.locator(".more-list").get_by_role("link", name="Unbatch", exact=True)
    expect(unbatch).to_be_visible()
    page.keyboard.press("Tab")
    expect(unbatch).to_be_focused()
    page.keyboard.press("Enter")
    ok = page.get_by_role("alertdialog").get_by_role("button", name="OK")
    expect(ok).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#record-state")).to_contain_text(
        f"Unbatched from {batch.batch_identifier}"
    )
    invoice.refresh_from_db()
    assert invoice.gl_batch_id is None and invoice.original_batch_id == batch.pk
