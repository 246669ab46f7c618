"""A phone-sized screen (390 px wide): the menu folds behind a Menu button that opens
and closes it, and the Accounting Interface does not scroll sideways."""

import pytest
from playwright.sync_api import Page, expect

from tests.browser.steps import sign_in

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

SIDEWAYS = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


def test_the_menu_folds_on_a_narrow_screen_and_nothing_scrolls_sideways(
    page: Page, finance, make_invoice, make_expense, shot
):
    for _ in range(3):
        make_invoice()
    make_expense()
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, finance.username)
    page.goto("/finance/accounting-interface/")
    menu = page.get_by_role("button", name="Menu")
    nav = page.get_by_role("navigation", name="Main")
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(nav).to_be_hidden()
    # Folded, the bar is one line: the page starts right below it.
    assert page.locator(".topbar").bounding_box()["height"] < 70
    assert page.evaluate(SIDEWAYS) == 0
    shot("narrow-interface-menu-folded")

    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(nav).to_be_visible()
    assert page.evaluate(SIDEWAYS) == 0
    shot("narrow-interface-menu-open")
    nav.get_by_role("link", name="Expense Entry Search").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Expense")
    expect(page.get_by_role("button", name="Menu")).to_have_attribute("aria-expanded", "false")

    # Escape closes the open menu and gives the focus back to its button.
    page.get_by_role("button", name="Menu").click()
    page.keyboard.press("Escape")
    expect(page.get_by_role("navigation", name="Main")).to_be_hidden()
    expect(page.get_by_role("button", name="Menu")).to_be_focused()

    # The dashboard's charts fit the narrow screen too.
    page.goto("/finance/dashboard/")
    expect(page.locator("html")).to_have_attribute("data-charts", "drawn")
    assert page.locator("#chart-unposted").bounding_box()["width"] <= 390
    assert page.evaluate(SIDEWAYS) == 0
    shot("narrow-dashboard")


def test_the_menu_is_unfolded_on_a_wide_screen(page: Page, finance):
    sign_in(page, finance.username)
    expect(page.get_by_role("button", name="Menu")).to_be_hidden()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
