"""Accessibility on every screen, checked by axe-core (vendored from npm in
tests/browser/vendor/axe-core, MPL-2.0): no serious or critical violation on any page a
user can open, in each role; and at a phone's width (390 px) the main screens fit
without scrolling sideways."""

import json
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import Page

from accounting import services as accounting
from config.help import TOPICS
from tests.browser.steps import sign_in

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

AXE = (Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js").read_text()

# Run axe on the document; the script is evaluated by the browser's debugging protocol,
# so the page's Content-Security-Policy does not block it and the page stays as served.
RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations
    .filter(v => v.impact === "serious" || v.impact === "critical")
    .map(v => ({
      id: v.id, impact: v.impact, help: v.help,
      targets: v.nodes.slice(0, 5).map(n => n.target.join(" ")),
    }));
}"""


def serious_violations(page: Page, url: str) -> list[dict]:
    response = page.goto(url)
    assert response is not None and response.status < 500, url
    page.wait_for_load_state("load")
    page.evaluate(AXE)
    return page.evaluate(RUN_AXE)


@pytest.fixture
def month_end(finance, make_invoice, make_expense, make_purchase_order):
    """A sent batch holding one record of each kind, a deleted batch, and one record of
    each kind still unposted."""
    invoice, entry = make_invoice(), make_expense()
    order, line = make_purchase_order()
    sent = accounting.batch_create(
        actor=finance,
        items=[
            {"type": "invoice", "id": invoice.pk},
            {"type": "expense", "id": entry.pk},
            {"type": "freight", "id": order.pk},
            {"type": "product", "id": line.pk},
        ],
        batch_identifier="GL-A11Y",
        transfer="file",
    )
    gone = make_invoice()
    deleted = accounting.batch_create(
        actor=finance,
        items=[{"type": "invoice", "id": gone.pk}],
        batch_identifier="GL-GONE",
        transfer="file",
    )
    accounting.batch_delete(actor=finance, batch_id=deleted.pk)
    make_invoice(), make_expense(), make_purchase_order()
    return {"invoice": invoice, "entry": entry, "order": order, "line": line,
            "batch": sent, "deleted": deleted}  # fmt: skip


def finance_screens(book: dict) -> list[str]:
    return [
        "/",
        reverse("accounting:interface"),
        *(
            reverse("accounting:unposted", args=[kind])
            for kind in ("invoice", "expense", "freight", "product")
        ),
        reverse("accounting:batch_list"),
        reverse("accounting:batch_detail", args=[book["batch"].pk]),
        reverse("accounting:batch_detail", args=[book["deleted"].pk]),
        reverse("accounting:books_check"),
        reverse("accounting:dashboard"),
        reverse("accounting:setup:page"),
        reverse("accounting:xero-connect"),
        reverse("api_keys:list"),
        reverse("help_index"),
        *(reverse("help_topic", args=[topic.slug]) for topic in TOPICS),
        reverse("invoicing:invoice_list"),
        reverse("invoicing:invoice_detail", args=[book["invoice"].pk]),
        reverse("expenses:entry_list"),
        reverse("expenses:entry_detail", args=[book["entry"].pk]),
        reverse("expenses:sheet_detail", args=[book["entry"].sheet_id]),
        reverse("procurement:po_list"),
        reverse("procurement:po_detail", args=[book["order"].pk]),
        reverse("procurement:line_detail", args=[book["line"].pk]),
        reverse("accounting:record_unbatch", args=["invoice", book["invoice"].pk]),
        "/no-such-page/",
    ]


def test_no_serious_violation_on_any_finance_screen(page: Page, finance, month_end, shot):
    sign_in(page, finance.username)
    found = {url: serious_violations(page, url) for url in finance_screens(month_end)}
    shot("a11y-last-screen")
    failing = {url: v for url, v in found.items() if v}
    assert failing == {}, json.dumps(failing, indent=1)


def test_no_serious_violation_for_the_other_roles_and_signed_out(
    page: Page, approver, staff, month_end
):
    found = {"login": serious_violations(page, "/accounts/login/")}
    for user in (approver, staff):
        sign_in(page, user.username)
        for url in (
            "/",
            reverse("expenses:entry_list"),
            reverse("expenses:sheet_detail", args=[month_end["entry"].sheet_id]),
        ):
            found[f"{user.username} {url}"] = serious_violations(page, url)
        page.context.clear_cookies()
    failing = {where: v for where, v in found.items() if v}
    assert failing == {}, json.dumps(failing, indent=1)


def horizontal_overflow(page: Page, url: str) -> int:
    page.goto(url)
    page.wait_for_load_state("load")
    return page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )


def test_main_screens_fit_a_phone_without_scrolling_sideways(page: Page, finance, month_end, shot):
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, finance.username)
    screens = {
        "home": "/",
        "accounting-interface": reverse("accounting:unposted", args=["invoice"]),
        "batches": reverse("accounting:batch_list"),
        "batch": reverse("accounting:batch_detail", args=[month_end["batch"].pk]),
        "invoices": reverse("invoicing:invoice_list"),
        "invoice": reverse("invoicing:invoice_detail", args=[month_end["invoice"].pk]),
        "expenses": reverse("expenses:entry_list"),
        "purchase-order": reverse("procurement:po_detail", args=[month_end["order"].pk]),
        "books-check": reverse("accounting:books_check"),
        "dashboard": reverse("accounting:dashboard"),
        "setup": reverse("accounting:setup:page"),
        "help": reverse("help_topic", args=["delete-batch"]),
    }
    overflow = {}
    for name, url in screens.items():
        overflow[name] = horizontal_overflow(page, url)
        shot(f"narrow-{name}")
    assert {name: px for name, px in overflow.items() if px > 0} == {}
