"""The Content-Security-Policy: every screen, the admin and the API docs work under it
with zero violations (the `page` fixture fails a test on any), and htmx still drives
the pages (it runs from a static file, configured by a meta tag, injecting no style)."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from accounting import services as accounting
from tests.browser.conftest import SCREENSHOTS
from tests.helpers import PASSWORD, make_user

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


# What a strict policy would block in a page: inline scripts (JSON data blocks are not
# run), style attributes, event handler attributes, <style> elements.
INLINE_CONTENT = """() => ({
  scripts: [...document.scripts]
    .filter(s => !s.src && s.type !== 'application/json').length,
  styled: document.querySelectorAll('[style]').length,
  handlers: [...document.querySelectorAll('*')]
    .filter(el => [...el.attributes].some(a => a.name.startsWith('on'))).length,
  styles: document.querySelectorAll('style').length,
})"""


def policy(response) -> dict[str, list[str]]:
    header = response.headers.get("content-security-policy", "")
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        if name:
            directives[name] = values
    return directives


def visit(page: Page, url: str) -> dict[str, list[str]]:
    response = page.goto(url)
    assert response is not None and response.ok, url
    page.wait_for_load_state("load")
    return policy(response)


@pytest.fixture
def book_at_month_end(finance, make_invoice, make_expense, make_purchase_order):
    invoice, entry = make_invoice(), make_expense()
    order, line = make_purchase_order()
    batch = accounting.batch_create(
        actor=finance,
        items=[
            {"type": "invoice", "id": invoice.pk},
            {"type": "expense", "id": entry.pk},
            {"type": "freight", "id": order.pk},
            {"type": "product", "id": line.pk},
        ],
        batch_identifier="GL-CSP",
        transfer="file",
    )
    return {"invoice": invoice, "entry": entry, "order": order, "line": line, "batch": batch}


def test_every_screen_loads_under_a_strict_policy(signed_in: Page, book_at_month_end, shot):
    page, book = signed_in, book_at_month_end
    urls = [
        "/",
        *(reverse("accounting:unposted", args=[kind]) for kind in ("invoice", "expense")),
        reverse("accounting:batch_list"),
        reverse("accounting:batch_detail", args=[book["batch"].pk]),
        reverse("invoicing:invoice_list"),
        reverse("invoicing:invoice_detail", args=[book["invoice"].pk]),
        reverse("expenses:entry_list"),
        reverse("expenses:entry_detail", args=[book["entry"].pk]),
        reverse("expenses:sheet_detail", args=[book["entry"].sheet_id]),
        reverse("procurement:po_list"),
        reverse("procurement:po_detail", args=[book["order"].pk]),
        reverse("procurement:line_detail", args=[book["line"].pk]),
        reverse("accounting:record_unbatch", args=["invoice", book["invoice"].pk]),
    ]
    for url in urls:
        directives = visit(page, url)
        assert directives["script-src"] == ["'self'"], url
        assert directives["style-src"] == ["'self'"], url
        assert directives["object-src"] == ["'none'"] and directives["frame-ancestors"]
        # no inline script, style attribute or event handler in our pages
        inline = page.evaluate(INLINE_CONTENT)
        assert inline == {"scripts": 0, "styled": 0, "handlers": 0, "styles": 0}, (url, inline)
    assert page.csp_violations == []
    shot("csp-unbatch-confirmation")


def test_htmx_still_drives_the_pages_under_the_policy(signed_in: Page, book_at_month_end, shot):
    page, batch = signed_in, book_at_month_end["batch"]
    detail = reverse("accounting:batch_detail", args=[batch.pk])
    visit(page, detail)
    assert (
        page.evaluate("() => typeof htmx === 'object' && htmx.config.includeIndicatorStyles")
        is False
    )
    # Close batch is an hx-get: its confirmation opens in the page, with no navigation.
    with page.expect_request(lambda request: request.headers.get("hx-request") == "true"):
        page.locator("#action-close").click()
    dialog = page.locator("#confirm-area").get_by_role("alertdialog")
    expect(dialog).to_contain_text(f"Close GL batch {batch.batch_identifier}?")
    assert page.url.endswith(detail)
    shot("csp-htmx-confirmation")
    dialog.get_by_role("button", name="OK").click()
    expect(page.get_by_text(f"Closed GL batch {batch.batch_identifier}.")).to_be_visible()
    assert page.csp_violations == []


def sign_in_as_administrator(page: Page) -> None:
    make_user("root", is_superuser=True, is_staff=True)
    page.goto("/admin/login/")
    page.get_by_label("Username").fill("root")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Setup tables", level=1)).to_be_visible()


def test_the_admin_works_under_the_policy(page: Page, book, shot):
    sign_in_as_administrator(page)
    visit(page, "/admin/accounting/glbatch/")
    page.get_by_role("link", name="Open", exact=True).first.click()
    expect(page).to_have_url(re.compile(r"status__exact=open"))
    visit(page, "/admin/accounting/glaccount/add/")
    expect(page.get_by_label("Number")).to_be_visible()
    visit(page, "/admin/accounting/accountingsetup/1/change/")
    shot("csp-admin-setup")
    visit(page, "/admin/auth/user/add/")
    assert page.csp_violations == []


def test_the_api_docs_work_under_their_own_policy(signed_in: Page, shot):
    page = signed_in
    directives = visit(page, "/api/docs/")
    assert "'unsafe-eval'" not in directives["script-src"]
    expect(page.locator(".swagger-ui .opblock").first).to_be_visible(timeout=20_000)
    page.screenshot(path=str(SCREENSHOTS / "csp-swagger-ui.png"))
    visit(page, "/api/redoc/")
    expect(page.get_by_text("PSA accounting interface API").first).to_be_visible(timeout=20_000)
    expect(page.locator("[role=menuitem], .menu-content").first).to_be_visible()
    # The docs are too long for full-page screenshots: their first screen.
    page.screenshot(path=str(SCREENSHOTS / "csp-redoc.png"))
    assert page.csp_violations == []
    # the relaxed policy is the docs' alone
    assert policy(page.goto("/"))["style-src"] == ["'self'"]
